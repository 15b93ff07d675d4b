package io.pgchloader.demo;

import io.pgchloader.LoaderApplication;
import io.pgchloader.Main;
import io.pgchloader.cdc.CdcStatus;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import io.pgchloader.embedded.EmbeddedDatabases;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --demo}: the loader's main job on embedded databases, with nothing configured. Starts a
 * PostgreSQL (with logical decoding) and a ClickHouse, creates the seed schema on both, fills PostgreSQL,
 * then runs sync cycles every few seconds while a writer keeps inserting, updating and deleting rows, and
 * ends with a table-by-table comparison of PostgreSQL and ClickHouse (FINAL). Five tables go by their
 * timestamps; {@code store_stock}, which has none, by CDC, each cycle applying what the slot holds as
 * {@code --once} does. Exit code 0 when every table matches.
 */
public final class Demo {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.demo");

    static final int VISITS = 120_000;
    static final int CYCLES_WITH_WRITER = 5;
    static final long SECONDS_BETWEEN_CYCLES = 3;
    static final List<String> TABLES = List.of("branches", "cashiers", "app_users", "stores", "app_user_visits_fact");
    /** The CDC table, its route (routes/demo/store-stock.yaml) and the columns the comparison covers. */
    static final String CDC_TABLE = "store_stock";
    static final String CDC_ROUTE = "cdc-store-stock";
    static final String CDC_ROUTES_FILE = "demo/store-stock.yaml";
    static final List<String> CDC_KEY = List.of("store_id", "product_no");
    static final List<String> CDC_VALUES = List.of("on_hand", "reserved");

    private Demo() {
    }

    /**
     * What a demo run ended with: whether every cycle succeeded, each table's comparison, and the changes the
     * CDC table received through the slot (inserts, updates, deletes; the snapshot load not counted).
     */
    public record Outcome(boolean cyclesSucceeded, List<TableComparison> tables, long cdcInserts, long cdcUpdates,
                          long cdcDeletes) {

        public int exitCode() {
            return cyclesSucceeded && tables.stream().allMatch(TableComparison::matches) ? Main.EXIT_OK : Main.EXIT_CYCLE_FAILED;
        }
    }

    public static int run() throws Exception {
        return play().exitCode();
    }

    public static Outcome play() throws Exception {
        LOG.info("Starting embedded PostgreSQL 17 and ClickHouse 26.7 (the first run fetches the ClickHouse engine)...");
        try (EmbeddedDatabases db = EmbeddedDatabases.start(true)) {
            LOG.info("PostgreSQL on 127.0.0.1:{}, ClickHouse HTTP on {}:{}", db.postgresPort(), db.clickHouseHost(), db.clickHousePort());
            String chDatabase = "demo";
            try (Connection pg = db.postgres("postgres").getConnection(); Connection ch = clickHouse(db, "default")) {
                try (Statement s = ch.createStatement()) {
                    s.execute("DROP DATABASE IF EXISTS " + chDatabase);
                    s.execute("CREATE DATABASE " + chDatabase);
                }
                LOG.info("Creating the seed schema and {} visits in PostgreSQL...", VISITS);
                SeedData.create(pg, VISITS);
                SeedData.createStoreStock(pg);
            }
            try (Connection ch = clickHouse(db, chDatabase)) {
                SqlScripts.run(ch, "sql/ddl-ch.sql");
            }

            Map<String, String> env = db.settings("postgres", chDatabase);
            env.put(Setting.ROUTES_DIR.name(), routesDir().toString());
            Settings settings = Settings.of(env);

            DemoWriter writer = new DemoWriter(db.postgres("postgres"));
            long[] cdcApplied = new long[3];
            try (LoaderApplication loader = new LoaderApplication(settings, false)) {
                loader.start();
                Thread writerThread = new Thread(writer, "demo-writer");
                writerThread.start();
                for (int cycle = 1; cycle <= CYCLES_WITH_WRITER; cycle++) {
                    LOG.info("--- cycle {} (writer running: {} rows inserted, {} updated so far)", cycle,
                            writer.inserted.get(), writer.updated.get());
                    loader.cycles().runAll();
                    applyCdc(loader, cdcApplied);
                    Thread.sleep(SECONDS_BETWEEN_CYCLES * 1000);
                }
                writer.stop();
                writerThread.join();
                LOG.info("--- final cycle (writer stopped after {} inserts and {} updates; {}: {} inserts, {} updates, {} deletes)",
                        writer.inserted.get(), writer.updated.get(), CDC_TABLE, writer.stockInserted.get(),
                        writer.stockUpdated.get(), writer.stockDeleted.get());
                boolean cyclesOk = loader.cycles().runAll();
                applyCdc(loader, cdcApplied);
                return new Outcome(cyclesOk, compare(db, chDatabase), cdcApplied[0], cdcApplied[1], cdcApplied[2]);
            } finally {
                writer.stop();
            }
        }
    }

    /**
     * The CDC table's turn in a cycle: what {@code --once} does (the first time, the slot is created and the
     * table loaded under its snapshot), then the changes applied since the last turn, by kind.
     *
     * @param total the inserts, updates and deletes applied before, updated to the new totals
     */
    private static void applyCdc(LoaderApplication loader, long[] total) throws SQLException {
        loader.runCdcOnce();
        CdcStatus status = loader.cdc().status();
        CdcStatus.Applied applied = status.applied(CDC_ROUTE);
        long[] now = {applied.inserts(), applied.updates(), applied.deletes()};
        LOG.info("{} (CDC): {} inserts, {} updates, {} deletes applied, slot {} confirmed at {}", CDC_TABLE,
                now[0] - total[0], now[1] - total[1], now[2] - total[2], status.slot(),
                LogSequenceNumber.valueOf(status.confirmedLsn()).asString());
        System.arraycopy(now, 0, total, 0, now.length);
    }

    private static List<TableComparison> compare(EmbeddedDatabases db, String chDatabase) throws SQLException {
        List<TableComparison> results = new ArrayList<>();
        try (Connection pg = db.postgres("postgres").getConnection(); Connection ch = clickHouse(db, chDatabase)) {
            for (String table : TABLES) {
                results.add(TableComparison.of(pg, ch, table));
            }
            results.add(TableComparison.ofValues(pg, ch, CDC_TABLE, CDC_KEY, CDC_VALUES));
        }
        LOG.info("PostgreSQL vs ClickHouse:");
        results.forEach(r -> LOG.info("  {}", r));
        boolean ok = results.stream().allMatch(TableComparison::matches);
        if (ok) {
            LOG.info("All {} tables match: no row lost, none duplicated, none stale, none left after its delete.", results.size());
        } else {
            LOG.error("Some tables differ.");
        }
        return results;
    }

    static Connection clickHouse(EmbeddedDatabases db, String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "default");
        p.setProperty("password", db.clickHousePassword());
        return DriverManager.getConnection("jdbc:clickhouse://" + db.clickHouseHost() + ":" + db.clickHousePort() + "/" + database, p);
    }

    /**
     * A folder of its own for the demo's routes: the routes of the working directory's {@code routes/} (or
     * the copies packaged in the jar when there is none) and the CDC table's route, which stays out of
     * {@code routes/} itself so that a user's default run needs no logical decoding.
     */
    private static Path routesDir() throws IOException {
        Path local = Path.of(Setting.ROUTES_DIR.defaultValue());
        Path dir = Files.createTempDirectory("pg-ch-loader-routes");
        dir.toFile().deleteOnExit();
        List<String> copied = new ArrayList<>();
        if (Files.isRegularFile(local.resolve("tables.yaml"))) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(local, "*.yaml")) {
                for (Path file : files) {
                    copy(Files.newInputStream(file), dir, file.getFileName().toString(), copied);
                }
            }
        } else {
            for (String name : List.of("pg-to-clickhouse.yaml", "pg-cdc-to-clickhouse.yaml", "tables.yaml")) {
                copy(packaged(name), dir, name, copied);
            }
        }
        Path cdcRoute = local.resolve(CDC_ROUTES_FILE);
        copy(Files.isRegularFile(cdcRoute) ? Files.newInputStream(cdcRoute) : packaged(CDC_ROUTES_FILE), dir,
                "demo-" + cdcRoute.getFileName(), copied);
        if (!copied.contains("pg-cdc-to-clickhouse.yaml")) {
            // a routes/ of an older clone: the CDC template from the jar
            copy(packaged("pg-cdc-to-clickhouse.yaml"), dir, "pg-cdc-to-clickhouse.yaml", copied);
        }
        return dir;
    }

    private static InputStream packaged(String name) {
        InputStream in = Demo.class.getClassLoader().getResourceAsStream("routes/" + name);
        if (in == null) {
            throw new IllegalStateException("routes/" + name + " is not on the classpath; rebuild with mvn package");
        }
        return in;
    }

    private static void copy(InputStream from, Path dir, String name, List<String> copied) throws IOException {
        try (InputStream in = from) {
            Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
        dir.resolve(name).toFile().deleteOnExit();
        copied.add(name);
    }
}
