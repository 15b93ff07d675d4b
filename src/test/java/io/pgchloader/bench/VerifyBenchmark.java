package io.pgchloader.bench;

import io.pgchloader.LoaderApplication;
import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.embedded.EmbeddedDatabases;
import io.pgchloader.verify.Verifier;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

/**
 * How long {@code --verify} takes on a large table, on embedded databases: an N-row table in
 * PostgreSQL (every tenth row updated, indexes on both timestamps as README advises), copied to ClickHouse
 * by ClickHouse's own {@code postgresql()} pull into the table the loader would create, then
 * {@link Verifier} run twice (cold and warm caches), and once more after deleting one row in ClickHouse.
 * Test scope; run it with
 * {@code mvn -q -B -o test-compile && java -cp target/test-classes:target/classes:target/lib/* io.pgchloader.bench.VerifyBenchmark 1000000}.
 */
public final class VerifyBenchmark {

    public static void main(String[] args) throws Exception {
        int rows = Integer.parseInt(args.length > 0 ? args[0].replace("_", "") : "1000000");
        try (EmbeddedDatabases db = EmbeddedDatabases.start()) {
            // as the loader creates it from the catalog (TargetTable.createSql)
            FactsTable.load(db, rows, "CREATE TABLE facts (id Int64, user_id Int32, amount Nullable(Decimal(12, 2)), note Nullable(String),"
                    + " created_at DateTime64(6, 'UTC'), updated_at Nullable(DateTime64(6, 'UTC')),"
                    + " _version DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at))"
                    + " ENGINE = ReplacingMergeTree(_version) ORDER BY (id)");
            long t;
            try (LoaderApplication app = FactsTable.loader(db)) {
                app.start();
                for (String run : List.of("cold", "warm")) {
                    t = System.nanoTime();
                    Verifier.Report report = Verifier.of(app).run();
                    System.out.printf("verify (%s): exit %d in %.2f s%n", run, report.exitCode(), (System.nanoTime() - t) / 1e9);
                }
                try (Connection ch = FactsTable.clickHouse(db); Statement s = ch.createStatement()) {
                    s.execute("DELETE FROM facts WHERE id = " + (rows / 2));
                }
                t = System.nanoTime();
                Verifier.Report report = Verifier.of(app).run();
                System.out.printf("verify (one row deleted in ClickHouse): exit %d in %.2f s%n", report.exitCode(),
                        (System.nanoTime() - t) / 1e9);
            }
        }
    }
}
