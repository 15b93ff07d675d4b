package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@code --plan} runs the start-up checks and says, per table, what its next cycle would do (the DDL, a
 * backfill's rows and chunks, the rows waiting in each stream, what holds the write horizon back), and
 * writes nowhere: exit 0 when every table can run, 2 otherwise.
 */
class PlanTest extends LoaderTestBase {

    static final Duration RUN_LIMIT = Duration.ofSeconds(60);

    @Test
    void says_what_the_next_cycle_of_each_table_would_do_and_writes_nothing() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-orders", "table", "orders"));
        loader.pg("CREATE TABLE orders (id bigint PRIMARY KEY, amount int NOT NULL, created_at timestamp NOT NULL,"
                        + " updated_at timestamp)", "CREATE INDEX ON orders (created_at) WHERE updated_at IS NULL",
                "CREATE INDEX ON orders (updated_at)",
                "INSERT INTO orders SELECT g, g, timestamp '2025-01-01' + g * interval '1 second' FROM generate_series(1, 100) g");
        Path work = Files.createDirectories(tmp.resolve("work"));
        process = LoaderProcess.start(work, loader.environment(), "--once");
        assertEquals(0, process.awaitExit(RUN_LIMIT), process.output());
        // since then: three new orders, two changed ones, and a new table
        loader.pg("INSERT INTO orders SELECT g, g, timestamp '2025-02-01' + g * interval '1 second' FROM generate_series(101, 103) g",
                "UPDATE orders SET amount = 0, updated_at = timestamp '2025-03-01' WHERE id IN (5, 6)",
                "CREATE TABLE events (id int PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE INDEX ON events (created_at) WHERE updated_at IS NULL", "CREATE INDEX ON events (updated_at)",
                "INSERT INTO events SELECT g, timestamp '2025-01-01' + g * interval '1 second' FROM generate_series(1, 2500) g",
                "ANALYZE events");
        loader.withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-orders", "table", "orders")
                + LoaderFixture.templatedRoute("sync-events", "table", "events", "backfillChunkRows", "1000", "backfillParallelism", "2"));

        process = LoaderProcess.start(work, loader.environment(), "--plan");
        int exit = process.awaitExit(RUN_LIMIT);

        String output = process.output();
        assertEquals(0, exit, output);
        assertTrue(output.contains("| sync-orders: next cycle: created stream 3 row(s) to read, updated stream 2 row(s) to read"),
                "three new rows (not the one at the watermark, which ClickHouse holds); the two updates:\n" + output);
        assertTrue(output.contains("| sync-events: next cycle: create the target: CREATE TABLE IF NOT EXISTS `" + loader.database
                + "`.`events` (`id` Int32, `created_at` DateTime64(6, 'UTC'), `updated_at` Nullable(DateTime64(6, 'UTC')),"
                + " `_version` DateTime64(6, 'UTC') DEFAULT coalesce(`updated_at`, `created_at`), `_is_deleted` UInt8 DEFAULT 0,"
                + " INDEX pgch_version `_version` TYPE minmax GRANULARITY 1, INDEX pgch_created `created_at` TYPE minmax GRANULARITY 1)"
                + " ENGINE = ReplacingMergeTree(`_version`, `_is_deleted`) ORDER BY (`id`)\n"), output);
        assertTrue(output.matches("(?s).*\\| sync-events: next cycle: backfill in key order: about 2,[45]\\d\\d rows \\(PostgreSQL's"
                + " estimate\\) in 4 chunk\\(s\\) of up to 1,000 rows, in up to 2 key ranges, up to 2 at once \\(backfillParallelism\\)\n.*"),
                "two ranges of about 1,250 rows, each in two chunks:\n" + output);
        assertTrue(output.matches("(?s).*\\| sync-orders: next cycle: reconcile \\(tombstones for keys deleted in PostgreSQL, stale"
                + " rows copied again\\) in the first cycle after \\d{4}-\\d\\d-\\d\\d 03:15:00 [^(]+\\(reconcileCron \"0 15 3 \\* \\* \\?\"\\)"
                + " of a scheduled loader; under --once only --repair reconciles\n.*"), output);
        assertTrue(output.contains("| write horizon: rows stamped before "), output);
        assertTrue(output.contains("| Plan: 2 of 2 table(s) can run; nothing was written"), output);
        assertEquals(0, loader.chLong("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'events'"));
        assertEquals(100, loader.chLong("SELECT count() FROM orders FINAL"));
    }

    @Test
    void exits_2_when_a_table_cannot_run_and_still_plans_the_others() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events")
                + LoaderFixture.templatedRoute("sync-keyless", "table", "keyless"));
        loader.pg("CREATE TABLE events (id int PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE TABLE keyless (n int, created_at timestamp NOT NULL, updated_at timestamp)");

        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), loader.environment(), "--plan");
        int exit = process.awaitExit(RUN_LIMIT);

        String output = process.output();
        assertEquals(2, exit, output);
        assertTrue(process.errorLines().get(0).contains("sync-keyless: cannot be synced: public.keyless has no primary key"), output);
        assertTrue(output.contains("| sync-events: next cycle: create the target:"), output);
        assertTrue(output.contains("| Plan: 1 of 2 table(s) can run (see the errors above); nothing was written"), output);
    }
}
