package io.pgchloader.demo;

import io.pgchloader.LoaderApplication;
import io.pgchloader.Main;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import io.pgchloader.embedded.EmbeddedDatabases;
import java.io.IOException;
import java.io.InputStream;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --demo}: the loader's main job on embedded databases, with nothing configured. Starts a
 * PostgreSQL and a ClickHouse, creates the seed schema on both, fills PostgreSQL, then runs sync cycles
 * every few seconds while a writer keeps inserting and updating rows, and ends with a table-by-table
 * comparison of PostgreSQL and ClickHouse (FINAL). Exit code 0 when every table matches.
 */
public final class Demo {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.demo");

    static final int VISITS = 120_000;
    static final int CYCLES_WITH_WRITER = 5;
    static final long SECONDS_BETWEEN_CYCLES = 3;
    static final List<String> TABLES = List.of("branches", "cashiers", "app_users", "stores", "app_user_visits_fact");

    private Demo() {
    }

    public static int run() throws Exception {
        LOG.info("Starting embedded PostgreSQL 17 and ClickHouse 26.7 (the first run fetches the ClickHouse engine)...");
        try (EmbeddedDatabases db = EmbeddedDatabases.start()) {
            LOG.info("PostgreSQL on 127.0.0.1:{}, ClickHouse HTTP on {}:{}", db.postgresPort(), db.clickHouseHost(), db.clickHousePort());
            String chDatabase = "demo";
            try (Connection pg = db.postgres("postgres").getConnection(); Connection ch = clickHouse(db, "default")) {
                try (Statement s = ch.createStatement()) {
                    s.execute("DROP DATABASE IF EXISTS " + chDatabase);
                    s.execute("CREATE DATABASE " + chDatabase);
                }
                LOG.info("Creating the seed schema and {} visits in PostgreSQL...", VISITS);
                SeedData.create(pg, VISITS);
            }
            try (Connection ch = clickHouse(db, chDatabase)) {
                SqlScripts.run(ch, "sql/ddl-ch.sql");
            }

            Map<String, String> env = db.settings("postgres", chDatabase);
            env.put(Setting.ROUTES_DIR.name(), routesDir().toString());
            Settings settings = Settings.of(env);

            DemoWriter writer = new DemoWriter(db.postgres("postgres"));
            try (LoaderApplication loader = new LoaderApplication(settings, false)) {
                loader.start();
                Thread writerThread = new Thread(writer, "demo-writer");
                writerThread.start();
                for (int cycle = 1; cycle <= CYCLES_WITH_WRITER; cycle++) {
                    LOG.info("--- cycle {} (writer running: {} rows inserted, {} updated so far)", cycle,
                            writer.inserted.get(), writer.updated.get());
                    loader.cycles().runAll();
                    Thread.sleep(SECONDS_BETWEEN_CYCLES * 1000);
                }
                writer.stop();
                writerThread.join();
                LOG.info("--- final cycle (writer stopped after {} inserts and {} updates)", writer.inserted.get(), writer.updated.get());
                boolean cyclesOk = loader.cycles().runAll();
                return compare(db, chDatabase) && cyclesOk ? Main.EXIT_OK : Main.EXIT_CYCLE_FAILED;
            } finally {
                writer.stop();
            }
        }
    }

    private static boolean compare(EmbeddedDatabases db, String chDatabase) throws SQLException {
        List<TableComparison> results = new ArrayList<>();
        try (Connection pg = db.postgres("postgres").getConnection(); Connection ch = clickHouse(db, chDatabase)) {
            for (String table : TABLES) {
                results.add(TableComparison.of(pg, ch, table));
            }
        }
        LOG.info("PostgreSQL vs ClickHouse:");
        results.forEach(r -> LOG.info("  {}", r));
        boolean ok = results.stream().allMatch(TableComparison::matches);
        if (ok) {
            LOG.info("All {} tables match: no row lost, none duplicated.", results.size());
        } else {
            LOG.error("Some tables differ.");
        }
        return ok;
    }

    static Connection clickHouse(EmbeddedDatabases db, String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "default");
        p.setProperty("password", db.clickHousePassword());
        return DriverManager.getConnection("jdbc:clickhouse://" + db.clickHouseHost() + ":" + db.clickHousePort() + "/" + database, p);
    }

    /** The routes folder of the working directory, or the copy packaged in the jar when there is none. */
    private static Path routesDir() throws IOException {
        Path local = Path.of(Setting.ROUTES_DIR.defaultValue());
        if (Files.isRegularFile(local.resolve("tables.yaml"))) {
            return local;
        }
        Path dir = Files.createTempDirectory("pg-ch-loader-routes");
        dir.toFile().deleteOnExit();
        for (String name : List.of("pg-to-clickhouse.yaml", "tables.yaml")) {
            try (InputStream in = Demo.class.getClassLoader().getResourceAsStream("routes/" + name)) {
                Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
            dir.resolve(name).toFile().deleteOnExit();
        }
        return dir;
    }
}
