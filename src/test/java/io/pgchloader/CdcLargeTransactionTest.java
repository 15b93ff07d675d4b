package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.TestDatabases;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A transaction larger than the loader's heap, through the CDC stream: written to ClickHouse in parts while it
 * streams, confirmed once its commit is written (docs/cdc.md, confirm after write). On {@link CdcTest}'s
 * PostgreSQL with {@code wal_level=logical}; the loader in a JVM of its own with {@code -Xmx256m}.
 */
class CdcLargeTransactionTest {

    @TempDir
    Path tmp;

    private String database;

    @AfterEach
    void dropSlot() throws SQLException {
        if (database != null) {
            try (Connection c = pg("postgres"); Statement s = c.createStatement()) {
                s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + database
                        + "' AND NOT active");
            }
        }
    }

    @Test
    void a_transaction_of_300_mb_of_wide_rows_streams_through_a_256_mb_heap_and_arrives_whole() throws Exception {
        database = TestDatabases.freshDatabase("cdc_large");
        try (Connection c = pg("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
        }
        try (Connection c = pg(database); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL)");
            s.execute("ALTER TABLE docs REPLICA IDENTITY FULL");
        }
        Path routes = LoaderFixture.cdcRoutes(tmp.resolve("routes"), "cdc-docs", "table", "docs");
        Map<String, String> env = TestDatabases.servers().settings(database, database);
        env.put("POSTGRES_PORT", Integer.toString(CdcTest.logicalPostgres().getPort()));
        env.put("ROUTES_DIR", routes.toString());
        env.put("CDC_SLOT", database);
        env.put("CDC_PUBLICATION", "pub_" + database);
        once(env);

        // 3,000 rows of 100 KB each as pgoutput sends them (stored compressed), in one commit: 300 MB, more
        // than the heap, while batchSize (5000) changes would all wait for one INSERT
        try (Connection c = pg(database); Statement s = c.createStatement()) {
            s.execute("INSERT INTO docs SELECT g, repeat(md5(g::text), 3200) FROM generate_series(1, 3000) g");
        }
        String output = once(env);
        assertTrue(output.contains("(3000 changes applied)"), output);

        String pgSum = single(pg(database), "SELECT count(*) || ' ' || sum(length(body)) || ' ' || md5(string_agg(md5(body), '' ORDER BY id)) FROM docs");
        String chSum = single(TestDatabases.clickHouse(database), "SELECT concat(toString(count()), ' ', toString(sum(length(body))), ' ',"
                + " lower(hex(MD5(arrayStringConcat(arrayMap(x -> x.2, arraySort(groupArray((id, lower(hex(MD5(body))))))), '')))))"
                + " FROM docs FINAL");
        assertEquals(pgSum, chSum, "every row, whole, once");
    }

    private String once(Map<String, String> env) throws Exception {
        try (LoaderProcess p = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), env, "--once")) {
            int exit = p.awaitExit(Duration.ofMinutes(5));
            assertEquals(0, exit, p.output());
            assertEquals(List.of(), p.errorLines(), p.output());
            return p.output();
        }
    }

    private static Connection pg(String db) throws SQLException {
        Connection c = CdcTest.logicalPostgres().getDatabase("postgres", db).getConnection();
        c.setAutoCommit(true);
        return c;
    }

    private static String single(Connection c, String sql) throws SQLException {
        try (c; Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
