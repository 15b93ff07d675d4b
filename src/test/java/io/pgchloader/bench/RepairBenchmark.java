package io.pgchloader.bench;

import io.pgchloader.LoaderApplication;
import io.pgchloader.config.Settings;
import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.embedded.EmbeddedDatabases;
import io.pgchloader.verify.Verifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;

/**
 * What {@code --verify} and {@code --repair} cost on a large table, on embedded databases: an N-row table
 * in PostgreSQL (every tenth row updated), copied to ClickHouse by its own {@code postgresql()} pull into
 * the table the loader would create; then verify (keys, versions and values), a repair with no
 * differences, one after 1,000 scattered deletes in PostgreSQL, and one after 100,000 (with --force when
 * that is more than maxDeleteFraction). Test scope; run it with
 * {@code mvn -q -B -o test-compile && java -cp 'target/test-classes:target/classes:target/lib/*' io.pgchloader.bench.RepairBenchmark 10000000}.
 */
public final class RepairBenchmark {

    public static void main(String[] args) throws Exception {
        int rows = Integer.parseInt(args.length > 0 ? args[0].replace("_", "") : "1000000");
        try (EmbeddedDatabases db = EmbeddedDatabases.start()) {
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

            Map<String, String> env = db.settings("postgres", "default");
            Properties p = new Properties();
            p.setProperty("user", "default");
            p.setProperty("password", db.clickHousePassword());
            String url = "jdbc:clickhouse://" + db.clickHouseHost() + ":" + db.clickHousePort() + "/default";
            t = System.nanoTime();
            try (Connection ch = DriverManager.getConnection(url, p); Statement s = ch.createStatement()) {
                s.execute("DROP TABLE IF EXISTS facts");
                // as the loader creates it from the catalog (TargetTable.createSql)
                s.execute("CREATE TABLE facts (id Int64, user_id Int32, amount Nullable(Decimal(12, 2)), note Nullable(String),"
                        + " created_at DateTime64(6, 'UTC'), updated_at Nullable(DateTime64(6, 'UTC')),"
                        + " _version DateTime64(6, 'UTC') DEFAULT coalesce(updated_at, created_at), _is_deleted UInt8 DEFAULT 0)"
                        + " ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY (id)");
                s.execute("INSERT INTO facts (id, user_id, amount, note, created_at, updated_at)"
                        + " SELECT id, user_id, amount, note, toDateTime64(toString(created_at), 6, 'UTC'),"
                        + " toDateTime64(toString(updated_at), 6, 'UTC') FROM postgresql('127.0.0.1:" + db.postgresPort()
                        + "', 'postgres', 'facts', 'postgres', '') SETTINGS session_timezone = 'UTC'");
                s.execute("OPTIMIZE TABLE facts FINAL");
            }
            System.out.printf("ClickHouse: copied in %.1f s%n", (System.nanoTime() - t) / 1e9);

            Path routes = Files.createTempDirectory("repair-bench-routes");
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
            try (LoaderApplication app = new LoaderApplication(Settings.of(env), false)) {
                app.start();
                for (String run : new String[] {"cold", "warm"}) {
                    t = System.nanoTime();
                    Verifier.Report report = Verifier.of(app).run();
                    System.out.printf("verify, keys, versions and values (%s): exit %d in %.2f s%n", run, report.exitCode(),
                            (System.nanoTime() - t) / 1e9);
                }
                repair(app, "no differences", false);
                try (Connection pg = db.postgres("postgres").getConnection(); Statement s = pg.createStatement()) {
                    s.execute("DELETE FROM facts WHERE id % " + Math.max(1, rows / 1_000) + " = 7");
                }
                repair(app, "1,000 scattered deletes", false);
                try (Connection pg = db.postgres("postgres").getConnection(); Statement s = pg.createStatement()) {
                    s.execute("DELETE FROM facts WHERE id % " + Math.max(1, rows / 100_000) + " = 3");
                }
                repair(app, "100,000 scattered deletes", rows < 2_000_000);
            }
        }
    }

    private static void repair(LoaderApplication app, String what, boolean force) {
        long t = System.nanoTime();
        SyncStatus.Outcome outcome = app.cycles().repair("sync-facts", force);
        double seconds = (System.nanoTime() - t) / 1e9;
        String line = outcome.message();
        System.out.printf("repair (%s): %s in %.2f s: %s%n", what, outcome.succeeded() ? "ok" : "FAILED", seconds,
                line.substring(Math.max(0, line.indexOf("reconciled"))));
    }
}
