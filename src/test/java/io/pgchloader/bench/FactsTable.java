package io.pgchloader.bench;

import io.pgchloader.LoaderApplication;
import io.pgchloader.config.Settings;
import io.pgchloader.embedded.EmbeddedDatabases;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;

/**
 * The benchmarks' table: N rows of six columns in PostgreSQL (every tenth row updated, indexes on both
 * timestamps as the docs advise), copied to ClickHouse by its own {@code postgresql()} pull into a table
 * of the given DDL, merged.
 */
final class FactsTable {

    private FactsTable() {
    }

    static void load(EmbeddedDatabases db, int rows, String clickHouseDdl) throws SQLException {
        long t = System.nanoTime();
        try (Connection pg = db.postgres("postgres").getConnection(); Statement s = pg.createStatement()) {
            s.execute("DROP TABLE IF EXISTS facts");
            s.execute("CREATE TABLE facts (id bigint PRIMARY KEY, user_id int NOT NULL, amount numeric(12,2), note text,"
                    + " created_at timestamp NOT NULL, updated_at timestamp)");
            s.execute("INSERT INTO facts SELECT g, g % 10000, g * 0.01, 'note ' || g,"
                    + " timestamp '2024-01-01' + g * interval '1 second',"
                    + " CASE WHEN g % 10 = 0 THEN timestamp '2025-01-01' + g * interval '1 second' END"
                    + " FROM generate_series(1, " + rows + ") g");
            s.execute("CREATE INDEX ON facts (created_at)");
            s.execute("CREATE INDEX ON facts (updated_at)");
            s.execute("VACUUM ANALYZE facts");
        }
        System.out.printf("PostgreSQL: %,d rows in %.1f s%n", rows, (System.nanoTime() - t) / 1e9);
        t = System.nanoTime();
        try (Connection ch = clickHouse(db); Statement s = ch.createStatement()) {
            s.execute("DROP TABLE IF EXISTS facts");
            s.execute(clickHouseDdl);
            s.execute("INSERT INTO facts (id, user_id, amount, note, created_at, updated_at)"
                    + " SELECT id, user_id, amount, note, toDateTime64(toString(created_at), 6, 'UTC'),"
                    + " toDateTime64(toString(updated_at), 6, 'UTC') FROM postgresql('127.0.0.1:" + db.postgresPort()
                    + "', 'postgres', 'facts', 'postgres', '') SETTINGS session_timezone = 'UTC'");
            s.execute("OPTIMIZE TABLE facts FINAL");
        }
        System.out.printf("ClickHouse: copied in %.1f s%n", (System.nanoTime() - t) / 1e9);
    }

    /** A loader (not started) whose one table route syncs facts, on the embedded databases. */
    static LoaderApplication loader(EmbeddedDatabases db) throws IOException {
        Map<String, String> env = db.settings("postgres", "default");
        Path routes = Files.createTempDirectory("bench-routes");
        Files.copy(Path.of("routes", "pg-to-clickhouse.yaml"), routes.resolve("pg-to-clickhouse.yaml"));
        Files.writeString(routes.resolve("tables.yaml"), """
                - templatedRoute:
                    routeTemplateRef: pg-to-clickhouse
                    routeId: sync-facts
                    parameters:
                      - name: table
                        value: facts
                """);
        env.put("ROUTES_DIR", routes.toString());
        return new LoaderApplication(Settings.of(env), false);
    }

    static Connection clickHouse(EmbeddedDatabases db) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "default");
        p.setProperty("password", db.clickHousePassword());
        return DriverManager.getConnection("jdbc:clickhouse://" + db.clickHouseHost() + ":" + db.clickHousePort() + "/default", p);
    }
}
