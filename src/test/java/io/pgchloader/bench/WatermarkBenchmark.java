package io.pgchloader.bench;

import io.pgchloader.LoaderApplication;
import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.embedded.EmbeddedDatabases;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What the per-cycle watermark costs as the target grows: a ClickHouse target of N rows (a history that
 * ends an hour ago, created 250 ms apart, every tenth updated once between its creation and now, merged;
 * then 1,000 updates of scattered keys ten minutes ago, in a part of their own), once as the loader creates it (with
 * the minmax index on {@code _version}) and once as targets made before that index; the loader's first
 * cycle after a start reads the watermark over the whole target, the idle cycles after it read above the
 * last watermark. PostgreSQL holds the first 1,000 rows only (the cycles are idle either way). Test scope;
 * run it with
 * {@code mvn -q -B -o test-compile && java -cp 'target/test-classes:target/classes:target/lib/*' io.pgchloader.bench.WatermarkBenchmark 10000000 100000000}.
 */
public final class WatermarkBenchmark {

    static final int IDLE_CYCLES = 7;

    public static void main(String[] args) throws Exception {
        try (EmbeddedDatabases db = EmbeddedDatabases.start()) {
            try (Connection pg = db.postgres("postgres").getConnection(); Statement s = pg.createStatement()) {
                s.execute("CREATE TABLE facts (id bigint PRIMARY KEY, user_id int NOT NULL, amount numeric(12,2), note text,"
                        + " created_at timestamp NOT NULL, updated_at timestamp)");
                s.execute("INSERT INTO facts SELECT g, g % 10000, g * 0.01, 'note ' || g, timestamp '2024-01-01' + g * interval '1 second',"
                        + " NULL FROM generate_series(1, 1000) g");
            }
            boolean indexedOnly = List.of(args).contains("--indexed-only");
            for (String arg : args) {
                if (arg.startsWith("--")) {
                    continue;
                }
                long rows = Long.parseLong(arg.replace("_", ""));
                for (boolean indexed : indexedOnly ? new boolean[] {true} : new boolean[] {true, false}) {
                    fill(db, rows, indexed);
                    try (LoaderApplication app = FactsTable.loader(db)) {
                        app.start();
                        double first = cycle(app);
                        List<Double> idle = new ArrayList<>();
                        for (int i = 0; i < IDLE_CYCLES; i++) {
                            idle.add(cycle(app));
                        }
                        Collections.sort(idle);
                        System.out.println("  last idle cycle: " + app.cycles().run("sync-facts").message());
                        System.out.printf("%,d rows, %s: first cycle after start %.3f s; idle cycles median %.3f s"
                                + " (min %.3f, max %.3f)%n", rows, indexed ? "index on _version" : "no index (older target)",
                                first, idle.get(IDLE_CYCLES / 2), idle.get(0), idle.get(IDLE_CYCLES - 1));
                    }
                }
            }
        }
    }

    private static void fill(EmbeddedDatabases db, long rows, boolean indexed) throws Exception {
        long t = System.nanoTime();
        try (Connection ch = FactsTable.clickHouse(db); Statement s = ch.createStatement()) {
            s.execute("DROP TABLE IF EXISTS facts");
            s.execute("CREATE TABLE facts (id Int64, user_id Int32, amount Nullable(Decimal(12, 2)), note Nullable(String),"
                    + " created_at DateTime64(6, 'UTC'), updated_at Nullable(DateTime64(6, 'UTC')),"
                    + " _version DateTime64(6, 'UTC') DEFAULT coalesce(updated_at, created_at), _is_deleted UInt8 DEFAULT 0"
                    + (indexed ? ", " + TargetTable.versionIndexSql() : "")
                    + ") ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY (id)");
            // a history that ends now: created 250 ms apart, every tenth row updated once at a time between its
            // creation and now (so updates, too, are spread over the whole history)
            String created = "(now64(6, 'UTC') - toIntervalHour(1) - toIntervalMillisecond((" + rows + " - number) * 250))";
            s.execute("INSERT INTO facts (id, user_id, amount, note, created_at, updated_at) SELECT number + 1, number % 10000,"
                    + " (number + 1) / 100, concat('note ', toString(number + 1)), " + created + ","
                    + " if((number + 1) % 10 = 0, " + created + " + toIntervalMillisecond(cityHash64(number) % ((" + rows
                    + " - number) * 250 + 1)), NULL) FROM numbers(" + rows + ")");
            s.execute("OPTIMIZE TABLE facts FINAL");
            // the last minutes: 1,000 updates of scattered keys, in a part of their own
            s.execute("INSERT INTO facts (id, user_id, amount, note, created_at, updated_at) SELECT id, 0, 0, 'changed', created_at,"
                    + " now64(6, 'UTC') - toIntervalMinute(10) + toIntervalMillisecond(id % 1000) FROM facts FINAL WHERE id IN"
                    + " (SELECT (number * 7919) % " + rows + " + 1 FROM numbers(1000))");
        }
        System.out.printf("ClickHouse: %,d rows%s in %.1f s%n", rows, indexed ? " (indexed)" : "", (System.nanoTime() - t) / 1e9);
    }

    private static double cycle(LoaderApplication app) {
        long t = System.nanoTime();
        SyncStatus.Outcome outcome = app.cycles().run("sync-facts");
        if (!outcome.succeeded()) {
            throw new IllegalStateException(outcome.message());
        }
        return (System.nanoTime() - t) / 1e9;
    }
}
