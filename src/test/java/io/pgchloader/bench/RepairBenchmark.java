package io.pgchloader.bench;

import io.pgchloader.LoaderApplication;
import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.embedded.EmbeddedDatabases;
import io.pgchloader.verify.Verifier;
import java.sql.Connection;
import java.sql.Statement;

/**
 * What {@code --verify} and {@code --repair} cost on a large table, on embedded databases: an N-row table
 * in PostgreSQL (every tenth row updated), copied to ClickHouse by its own {@code postgresql()} pull into
 * the table the loader would create; then verify (keys, versions and values), a repair with no
 * differences, one after 1,000 scattered deletes in PostgreSQL, and one after 100,000 (with --force when
 * that is more than maxDeleteFraction); each step's time and the rows and bytes it read on each side
 * ({@link ReadCounters}). Test scope; run it with
 * {@code mvn -q -B -o test-compile && java -cp 'target/test-classes:target/classes:target/lib/*' io.pgchloader.bench.RepairBenchmark 10000000}.
 */
public final class RepairBenchmark {

    public static void main(String[] args) throws Exception {
        int rows = Integer.parseInt(args.length > 0 ? args[0].replace("_", "") : "1000000");
        try (EmbeddedDatabases db = EmbeddedDatabases.start()) {
            // as the loader creates it from the catalog (TargetTable.createSql)
            FactsTable.load(db, rows, "CREATE TABLE facts (id Int64, user_id Int32, amount Nullable(Decimal(12, 2)), note Nullable(String),"
                    + " created_at DateTime64(6, 'UTC'), updated_at Nullable(DateTime64(6, 'UTC')),"
                    + " _version DateTime64(6, 'UTC') DEFAULT coalesce(updated_at, created_at), _is_deleted UInt8 DEFAULT 0,"
                    + " INDEX pgch_version _version TYPE minmax GRANULARITY 1, INDEX pgch_created created_at TYPE minmax GRANULARITY 1) ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY (id)");
            long t;
            ReadCounters reads = new ReadCounters(db, "facts");
            try (LoaderApplication app = FactsTable.loader(db)) {
                app.start();
                for (String run : new String[] {"cold", "warm"}) {
                    ReadCounters.Reads before = reads.now();
                    t = System.nanoTime();
                    Verifier.Report report = Verifier.of(app).run();
                    double seconds = (System.nanoTime() - t) / 1e9;
                    System.out.printf("verify, keys, versions and values (%s): exit %d in %.2f s; %s%n", run, report.exitCode(),
                            seconds, reads.now().minus(before));
                }
                // the cycle a reconciliation runs in, alone, to tell its reads from the reconciliation's
                for (String run : new String[] {"first", "second"}) {
                    ReadCounters.Reads before = reads.now();
                    t = System.nanoTime();
                    SyncStatus.Outcome outcome = app.cycles().run("sync-facts");
                    System.out.printf("cycle, nothing to copy (%s): %s in %.2f s; %s%n", run, outcome.succeeded() ? "ok" : "FAILED",
                            (System.nanoTime() - t) / 1e9, reads.now().minus(before));
                }
                repair(app, reads, "no differences", false);
                try (Connection pg = db.postgres("postgres").getConnection(); Statement s = pg.createStatement()) {
                    s.execute("DELETE FROM facts WHERE id % " + Math.max(1, rows / 1_000) + " = 7");
                }
                repair(app, reads, "1,000 scattered deletes", false);
                try (Connection pg = db.postgres("postgres").getConnection(); Statement s = pg.createStatement()) {
                    s.execute("DELETE FROM facts WHERE id % " + Math.max(1, rows / 100_000) + " = 3");
                }
                repair(app, reads, "100,000 scattered deletes", rows < 2_000_000);
            }
        }
    }

    private static void repair(LoaderApplication app, ReadCounters reads, String what, boolean force) throws Exception {
        ReadCounters.Reads before = reads.now();
        long t = System.nanoTime();
        SyncStatus.Outcome outcome = app.cycles().repair("sync-facts", force);
        double seconds = (System.nanoTime() - t) / 1e9;
        String line = outcome.message();
        System.out.printf("repair (%s): %s in %.2f s: %s; %s%n", what, outcome.succeeded() ? "ok" : "FAILED", seconds,
                line.substring(Math.max(0, line.indexOf("reconciled"))), reads.now().minus(before));
    }
}
