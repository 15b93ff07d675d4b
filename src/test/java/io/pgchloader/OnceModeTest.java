package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code --once} runs one cycle of every configured table and exits: 0 when all succeeded, 1 otherwise,
 * and a table whose cycle fails does not keep the others from being synced. A table that cannot be synced
 * at all (the start-up check) stops the run before anything is written, with exit code 2.
 */
class OnceModeTest extends LoaderTestBase {

    static final Duration RUN_LIMIT = Duration.ofSeconds(60);


    @Test
    void syncs_every_table_and_exits_0_then_refuses_with_exit_2_before_writing_when_a_table_is_missing_unless_it_is_disabled()
            throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-customers", "table", "customers")
                        + LoaderFixture.templatedRoute("sync-orders", "table", "orders"));
        loader.pg("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL,"
                        + " created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12, 2),"
                        + " created_at timestamptz NOT NULL, updated_at timestamptz)",
                "INSERT INTO customers SELECT g, 'customer ' || g, timestamp '2025-01-01' + g * interval '1 minute'"
                        + " FROM generate_series(1, 30) g",
                "INSERT INTO orders SELECT g, 1 + g % 30, g * 1.25, timestamptz '2025-02-01 00:00+00' + g * interval '1 second'"
                        + " FROM generate_series(1, 250) g");
        Path workDir = Files.createDirectories(tmp.resolve("work"));

        process = LoaderProcess.start(workDir, loader.environment(), "--once");
        int exit = process.awaitExit(RUN_LIMIT);

        String output = process.output();
        assertEquals(0, exit, output);
        assertEquals(List.of(), process.errorLines(), output);
        assertTrue(output.contains("route(s): sync-customers, sync-orders"), output);
        assertTablesMatch(30, 250);

        // new rows in both tables, and a templatedRoute for a table PostgreSQL does not have: the start-up
        // check refuses the run before any table is written, naming the table and both ways out
        loader.pg("INSERT INTO customers SELECT g, 'late customer ' || g, localtimestamp FROM generate_series(31, 35) g",
                "INSERT INTO orders SELECT g, 1, 9.99, now() FROM generate_series(251, 260) g",
                "UPDATE orders SET amount = 0, updated_at = now() WHERE id = 7");
        loader.withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-ghost", "table", "no_such_table")
                + LoaderFixture.templatedRoute("sync-customers", "table", "customers")
                + LoaderFixture.templatedRoute("sync-orders", "table", "orders"));

        process = LoaderProcess.start(workDir, loader.environment(), "--once");
        exit = process.awaitExit(RUN_LIMIT);

        output = process.output();
        assertEquals(2, exit, output);
        List<String> errors = process.errorLines();
        assertEquals(2, errors.size(), output);
        assertTrue(errors.get(0).contains("sync-ghost: cannot be synced: PostgreSQL has no table public.no_such_table")
                && errors.get(0).contains("check the templatedRoute") && errors.get(0).contains("enabled to false"), errors.get(0));
        assertTrue(errors.get(1).contains("1 of 3 table(s) cannot be synced: nothing was written"), errors.get(1));
        assertEquals(30, loader.chLong("SELECT count() FROM customers FINAL"), "the good tables were not synced either");
        assertEquals(250, loader.chLong("SELECT count() FROM orders FINAL"));

        // enabled: false keeps it out, and the other tables run
        loader.withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-ghost", "table", "no_such_table", "enabled", "false")
                + LoaderFixture.templatedRoute("sync-customers", "table", "customers")
                + LoaderFixture.templatedRoute("sync-orders", "table", "orders"));

        process = LoaderProcess.start(workDir, loader.environment(), "--once");
        exit = process.awaitExit(RUN_LIMIT);

        output = process.output();
        assertEquals(0, exit, output);
        assertEquals(List.of(), process.errorLines(), output);
        assertTrue(output.contains("Loaded 2 table route(s): sync-customers, sync-orders (disabled: sync-ghost)"), output);
        assertTrue(output.contains("sync-ghost: disabled (enabled: false)"), output);
        assertTablesMatch(35, 260);
        assertEquals("0.00", loader.chRows("SELECT toString(toDecimalString(amount, 2)) FROM orders FINAL WHERE id = 7").get(0),
                "the update arrived too");
    }

    @Test
    void says_at_start_what_each_table_is_and_stops_before_writing_when_a_target_does_not_fit() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events")
                + LoaderFixture.templatedRoute("sync-notes", "table", "notes"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE INDEX ON events (created_at) WHERE updated_at IS NULL", "CREATE INDEX ON events (updated_at)",
                "INSERT INTO events SELECT g, timestamp '2025-01-01' + g * interval '1 second' FROM generate_series(1, 10) g",
                "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE INDEX ON notes (created_at) WHERE updated_at IS NULL", "CREATE INDEX ON notes (updated_at)",
                "INSERT INTO notes VALUES (1, 'a', localtimestamp, NULL)");
        // a premade target whose body column cannot hold PostgreSQL's text
        loader.ch("CREATE TABLE notes (id Int64, body Int32, created_at DateTime64(6), updated_at Nullable(DateTime64(6)))"
                + " ENGINE = ReplacingMergeTree ORDER BY id");
        Path workDir = Files.createDirectories(tmp.resolve("work"));

        process = LoaderProcess.start(workDir, loader.environment(), "--once");
        int exit = process.awaitExit(RUN_LIMIT);

        String output = process.output();
        assertEquals(2, exit, output);
        assertTrue(output.contains("| sync-events: public.events -> `" + loader.database + "`.`events`, to be created and"
                + " backfilled in key order; ready"), output);
        List<String> errors = process.errorLines();
        assertTrue(errors.get(0).contains("sync-notes: cannot be synced: ClickHouse column") && errors.get(0).contains("MODIFY COLUMN"),
                errors.get(0));
        assertEquals(0, loader.chLong("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'events'"),
                "nothing was written, not even the table that could have run:\n" + output);
    }

    @Test
    void warns_at_startup_when_a_stream_has_no_index_and_says_which_to_create() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE INDEX ON events (created_at) WHERE updated_at IS NULL",
                "INSERT INTO events SELECT g, timestamp '2025-01-01' + g * interval '1 second' FROM generate_series(1, 10) g");
        Path workDir = Files.createDirectories(tmp.resolve("work"));

        process = LoaderProcess.start(workDir, loader.environment(), "--once");
        assertEquals(0, process.awaitExit(RUN_LIMIT), process.output());

        List<String> warnings = process.output().lines().filter(l -> l.contains("| WARN ") && l.contains("no index")).toList();
        assertEquals(1, warnings.size(), process.output());
        assertTrue(warnings.get(0).contains("no index starts with updated_at")
                && warnings.get(0).contains("CREATE INDEX ON \"public\".\"events\" (\"updated_at\")"), warnings.get(0));

        loader.pg("CREATE INDEX ON events (updated_at)");
        process = LoaderProcess.start(workDir, loader.environment(), "--once");
        assertEquals(0, process.awaitExit(RUN_LIMIT), process.output());
        assertFalse(process.output().contains("no index"), process.output());
    }

    @Test
    void reports_progress_of_a_long_stream_with_rows_rate_percent_and_time_to_go() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "batchSize", "1000", "insertRows", "5000"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE INDEX ON events (created_at) WHERE updated_at IS NULL",
                "CREATE INDEX ON events (updated_at)",
                "INSERT INTO events SELECT g, timestamp '2025-01-01' + g * interval '1 second' FROM generate_series(1, 40000) g",
                "ANALYZE events");
        Map<String, String> environment = new HashMap<>(loader.environment());
        environment.put("PROGRESS_SECONDS", "0");
        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), environment, "--once");
        assertEquals(0, process.awaitExit(RUN_LIMIT), process.output());

        List<String> progress = process.output().lines().filter(l -> l.contains("(backfill in key order): ")).toList();
        // one line per INSERT of 5000 rows; the last INSERT ends the backfill and its summary line says the rest
        assertEquals(8, progress.size(), process.output());
        assertTrue(progress.get(0).matches(".*\\| public\\.events \\(backfill in key order\\): 5,000 of about (3[6-9]|4[0-4]),\\d{3} rows"
                + " \\(12%\\), [\\d,]+ rows/s, about \\d+ s to go"), "PostgreSQL's estimate of 40,000 rows: " + progress.get(0));
        assertTrue(progress.get(7).contains(": 40,000 of about 40,000 rows (99%)"), progress.get(7));
    }

    @Test
    void the_backfill_estimate_counts_never_updated_and_updated_rows_apart_so_it_matches_an_analysed_table() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "batchSize", "1000", "insertRows", "5000"));
        // a quarter of the rows updated: the planner's estimate of "never updated, or updated" alone is 81 %
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE INDEX ON events (created_at) WHERE updated_at IS NULL",
                "CREATE INDEX ON events (updated_at)",
                "INSERT INTO events SELECT g, timestamp '2025-01-01' + g * interval '1 second',"
                        + " CASE WHEN g % 4 = 0 THEN timestamp '2025-06-01' + g * interval '1 second' END FROM generate_series(1, 40000) g",
                "ANALYZE events");
        Map<String, String> environment = new HashMap<>(loader.environment());
        environment.put("PROGRESS_SECONDS", "0");
        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), environment, "--once");
        assertEquals(0, process.awaitExit(RUN_LIMIT), process.output());

        String first = process.output().lines().filter(l -> l.contains("(backfill in key order): ")).findFirst().orElseThrow();
        assertTrue(first.matches(".*: 5,000 of about (39|40|41),\\d{3} rows .*"), "about 40,000: " + first);
    }

    private void assertTablesMatch(long customers, long orders) throws Exception {
        assertEquals(customers, loader.pgLong("SELECT count(*) FROM customers"));
        assertEquals(orders, loader.pgLong("SELECT count(*) FROM orders"));
        assertEquals(customers, loader.chLong("SELECT count() FROM customers FINAL"));
        assertEquals(orders, loader.chLong("SELECT count() FROM orders FINAL"));
        assertEquals(loader.pgRows("SELECT id || ' ' || name FROM customers ORDER BY id"),
                loader.chRows("SELECT concat(toString(id), ' ', name) FROM customers FINAL ORDER BY id"));
    }
}
