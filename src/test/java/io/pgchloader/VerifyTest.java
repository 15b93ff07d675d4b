package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.verify.Verifier;
import java.math.BigInteger;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code --verify} compares every configured table between PostgreSQL and ClickHouse (FINAL) per key
 * range: rows and a checksum of key and version computed in SQL on both sides. Exit 0 when equal, 1
 * when a table differs (naming the ranges), 2 when a table cannot be compared.
 */
class VerifyTest extends LoaderTestBase {

    private void cycle(String... routes) {
        for (String route : routes) {
            loader.succeedingCycle(route);
        }
    }

    private Verifier.Report verify() {
        return Verifier.of(loader.app()).run();
    }

    private static String line(Verifier.Report report, String start) {
        return report.lines().stream().filter(l -> l.startsWith(start)).findFirst()
                .orElseThrow(() -> new AssertionError("no line starting with " + start + " in\n" + String.join("\n", report.lines())));
    }

    @Test
    void equal_tables_with_integer_text_uuid_char_numeric_date_and_composite_keys_are_OK_with_exit_code_0() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-orders", "table", "orders")
                        + LoaderFixture.templatedRoute("sync-tags", "table", "tags")
                        + LoaderFixture.templatedRoute("sync-devices", "table", "devices")
                        + LoaderFixture.templatedRoute("sync-lines", "table", "lines")
                        + LoaderFixture.templatedRoute("sync-prices", "table", "prices")
                        + LoaderFixture.templatedRoute("sync-days", "table", "days"));
        loader.pg(
                // bigint key, negative too; timestamptz versions with microseconds; some rows updated
                "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2), created_at timestamptz NOT NULL, updated_at timestamptz)",
                "INSERT INTO orders SELECT g, g * 1.5, timestamptz '2025-03-30 00:59:59.999999+00' + g * interval '1.000001 second',"
                        + " CASE WHEN g % 7 = 0 THEN timestamptz '2025-04-01 12:00:00.000001+02' + g * interval '1 ms' END"
                        + " FROM generate_series(-500, 2500) g",
                // text key: non-Latin letters, emoji, quotes, backslashes, separators, trailing spaces, empty
                "CREATE TABLE tags (name text PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO tags VALUES ('', '2025-01-01 00:00:00', NULL), ('a', '2025-01-01 00:00:01', NULL),"
                        + " ('a ', '2025-01-01 00:00:02', '2025-01-02 00:00:00.5'), ('Ünïcødé 😀', '2025-01-01 00:00:03', NULL),"
                        + " ('it''s', '2025-01-01 00:00:04', NULL), ('back\\slash', '2025-01-01 00:00:05', NULL),"
                        + " ('tab\tand' || chr(31) || 'us', '2025-01-01 00:00:06', NULL), ('日本語', '2025-01-01 00:00:07', NULL)",
                "INSERT INTO tags SELECT 'tag-' || g, timestamp '2025-01-01 01:00:00' + g * interval '1 second', NULL FROM generate_series(1, 300) g",
                "CREATE TABLE devices (id uuid PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO devices SELECT md5(g::text)::uuid, timestamp '2025-01-01' + g * interval '1 minute',"
                        + " CASE WHEN g % 3 = 0 THEN timestamp '2025-02-01' + g * interval '1 minute' END FROM generate_series(1, 400) g",
                // composite key with char(n), whose padding the loader keeps
                "CREATE TABLE lines (order_no int, code char(4), qty int, created_at timestamptz NOT NULL, updated_at timestamptz,"
                        + " PRIMARY KEY (order_no, code))",
                "INSERT INTO lines SELECT g / 3, chr(65 + g % 3) || 'x', g, now() - interval '1 day' + g * interval '1 s', NULL"
                        + " FROM generate_series(0, 299) g",
                "CREATE TABLE prices (price numeric(10,3) PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO prices VALUES (0, '2025-01-01', NULL), (1.5, '2025-01-01', NULL), (-2.25, '2025-01-01', NULL),"
                        + " (100, '2025-01-02', '2025-01-03'), (0.001, '2025-01-02', NULL)",
                "CREATE TABLE days (day date PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO days SELECT d::date, timestamp '2025-01-01', NULL FROM generate_series(date '1999-12-25', date '2000-01-10', interval '1 day') d");
        loader.start();
        cycle("sync-orders", "sync-tags", "sync-devices", "sync-lines", "sync-prices", "sync-days");

        Verifier.Report report = verify();

        assertEquals(0, report.exitCode(), String.join("\n", report.lines()));
        assertTrue(line(report, "public.orders: OK, 3,001 rows equal in 64 ranges of id -500..2500").contains("versions before"),
                String.join("\n", report.lines()));
        assertTrue(line(report, "public.tags: OK, 308 rows equal in 64 hash buckets").contains("OK"));
        line(report, "public.devices: OK, 400 rows");
        line(report, "public.lines: OK, 300 rows equal in 64 ranges of order_no 0..99");
        line(report, "public.prices: OK, 5 rows equal in 64 hash buckets");
        line(report, "public.days: OK, 17 rows equal in 64 hash buckets");
        line(report, "All 6 table(s) equal.");
    }

    @Test
    void a_row_deleted_in_clickhouse_a_row_changed_behind_the_loader_and_a_duplicated_key_exit_1_naming_their_ranges()
            throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events")
                        + LoaderFixture.templatedRoute("sync-tags", "table", "tags")
                        + LoaderFixture.templatedRoute("sync-visits", "table", "visits")
                        + LoaderFixture.templatedRoute("sync-clean", "table", "clean")
                        + LoaderFixture.templatedRoute("sync-skewed", "table", "skewed"));
        loader.pg("CREATE TABLE events (id int PRIMARY KEY, note text, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO events SELECT g, 'event ' || g, timestamp '2025-01-01' + g * interval '1 second', NULL"
                        + " FROM generate_series(1, 1000) g",
                "UPDATE events SET note = 'touched', updated_at = timestamp '2025-02-01' WHERE id = 600",
                "CREATE TABLE tags (name text PRIMARY KEY, created_at timestamptz NOT NULL, updated_at timestamptz)",
                "INSERT INTO tags SELECT 'tag-' || g, timestamptz '2025-01-01 00:00+00' + g * interval '1 second', NULL"
                        + " FROM generate_series(1, 100) g",
                "CREATE TABLE visits (id bigint PRIMARY KEY, note text NOT NULL, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO visits SELECT g, 'first', timestamp '2025-03-01' + g * interval '1 minute', NULL FROM generate_series(1, 50) g",
                "CREATE TABLE clean (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO clean SELECT g, timestamp '2025-01-01' + g * interval '1 second', NULL FROM generate_series(1, 10) g",
                // one far-away id puts all other rows into the first range, too many to list row by row
                "CREATE TABLE skewed (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO skewed SELECT g, timestamp '2025-01-01' + g * interval '1 ms', NULL FROM generate_series(1, 110000) g",
                "INSERT INTO skewed VALUES (10000000, '2025-01-01 01:00:00', NULL)");
        loader.start();
        cycle("sync-events", "sync-tags", "sync-visits", "sync-clean", "sync-skewed");
        loader.pg("UPDATE visits SET note = 'moved', updated_at = localtimestamp WHERE id = 7");
        cycle("sync-visits");
        // someone rebuilt the target with a sorting key that is not the row's key (the loader refuses to
        // write to it, verify still judges it): both versions of id 7 show under FINAL
        loader.ch("CREATE TABLE visits_rebuilt (id Int64, note String, created_at DateTime64(6, 'UTC'),"
                        + " updated_at Nullable(DateTime64(6, 'UTC')), _version DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at))"
                        + " ENGINE = ReplacingMergeTree(_version) ORDER BY (id, note)",
                "INSERT INTO visits_rebuilt (id, note, created_at, updated_at) SELECT id, note, created_at, updated_at FROM visits FINAL",
                "INSERT INTO visits_rebuilt (id, note, created_at, updated_at) SELECT id, 'first', created_at, NULL FROM visits FINAL WHERE id = 7",
                "DROP TABLE visits", "RENAME TABLE visits_rebuilt TO visits");

        loader.ch("DELETE FROM events WHERE id = 100",
                "DELETE FROM tags WHERE name = 'tag-42'",
                "DELETE FROM skewed WHERE id = 54321");
        // updated with a timestamp behind the loader's watermark, as an import or a clock running late would
        loader.pg("UPDATE events SET note = 'changed', updated_at = timestamp '2025-01-01 00:10:00.5' WHERE id = 500");
        // updated_at back to NULL: the row's version goes back to created_at, older than ClickHouse's
        loader.pg("UPDATE events SET updated_at = NULL WHERE id = 600");

        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), loader.environment(), "--verify");
        int exit = process.awaitExit(Duration.ofSeconds(60));

        String output = process.output();
        assertEquals(1, exit, output);
        assertTrue(output.contains("| verify | public.clean: OK, 10 rows equal"), output);
        assertTrue(output.contains("| verify | public.events: DIFFERENT, PostgreSQL 1,000 rows, ClickHouse 999 rows, 3 of 64 ranges differ"),
                output);
        assertRangeHolds(output, "public.events id ", 100, ": PostgreSQL 16 rows, ClickHouse 15 rows\n");
        assertTrue(output.contains("id 100: missing in ClickHouse (PostgreSQL has version 2025-01-01 00:01:40.000000)"), output);
        assertRangeHolds(output, "public.events id ", 500, ": PostgreSQL (\\d+) rows, ClickHouse \\3 rows, checksums differ");
        assertTrue(output.contains("id 500: ClickHouse has version 2025-01-01 00:08:20.000000, PostgreSQL 2025-01-01 00:10:00.500000"),
                output);
        assertTrue(output.contains("id 600: ClickHouse has version 2025-02-01 00:00:00.000000, PostgreSQL 2025-01-01 00:10:00.000000"
                + " (older: its updated_at was set back, or to NULL"), output);
        assertTrue(output.contains("| verify | public.tags: DIFFERENT, PostgreSQL 100 rows, ClickHouse 99 rows, 1 of 64 ranges differ"),
                output);
        assertTrue(output.matches("(?s).*\\| verify \\|   public\\.tags hash bucket \\d+ of 64: PostgreSQL (\\d+) rows?, ClickHouse .*"), output);
        assertTrue(output.contains("name tag-42: missing in ClickHouse"), output);
        assertTrue(output.contains("| verify | public.visits: DIFFERENT, PostgreSQL 50 rows, ClickHouse 51 rows, 1 of 50 ranges differ"),
                output);
        assertTrue(output.contains("| verify |   public.visits id 7..7: PostgreSQL 1 row, ClickHouse 2 rows"), output);
        assertTrue(output.contains("id 7: ClickHouse holds this key 2 times"), output);
        assertTrue(output.contains("| verify |   public.skewed id 1..156250: PostgreSQL 110,000 rows, ClickHouse 109,999 rows"), output);
        assertRangeHolds(output, "|     narrowed down: id ", 54321, ": PostgreSQL [\\d,]+ rows, ClickHouse [\\d,]+ rows\n");
        assertTrue(output.contains("|       id 54321: missing in ClickHouse"), "listed after narrowing the range down:\n" + output);
        assertTrue(output.contains("4 of 5 table(s) DIFFERENT."), output);
    }

    /** The output names a range {@code <prefix>lo..hi<rest>} that holds the key; rest is a pattern. */
    @Test
    void differing_integer_keys_are_listed_in_numeric_order() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-numbered", "table", "numbered"));
        loader.pg("CREATE TABLE numbered (id int PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO numbered SELECT g, timestamp '2025-01-01' + g * interval '1 second', NULL FROM generate_series(1, 640) g");
        loader.start();
        cycle("sync-numbered");
        loader.ch("DELETE FROM numbered WHERE id IN (2, 3, 10)");

        List<String> listed = verify().lines().stream().filter(l -> l.contains(": missing in ClickHouse"))
                .map(l -> l.strip().replaceAll(":.*", "")).toList();

        assertEquals(List.of("id 2", "id 3", "id 10"), listed);
    }

    private static void assertRangeHolds(String output, String prefix, long key, String rest) {
        Matcher m = Pattern.compile(Pattern.quote(prefix) + "(-?\\d+)\\.\\.(-?\\d+)" + rest).matcher(output);
        while (m.find()) {
            if (new BigInteger(m.group(1)).longValue() <= key && key <= new BigInteger(m.group(2)).longValue()) {
                return;
            }
        }
        throw new AssertionError("no range " + prefix + "lo..hi" + rest + " around " + key + " in\n" + output);
    }

    @Test
    void rows_written_after_the_last_cycle_are_not_differences_and_are_compared_once_synced() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-orders", "table", "orders"));
        loader.pg("CREATE TABLE orders (id bigint PRIMARY KEY, amount int, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO orders SELECT g, g, localtimestamp - interval '1 hour' + g * interval '1 ms', NULL FROM generate_series(1, 500) g");
        loader.start();
        cycle("sync-orders");

        // after the cycle: new rows, and updates of synced rows (ClickHouse still has their old versions)
        loader.pg("INSERT INTO orders SELECT g, g, localtimestamp, NULL FROM generate_series(501, 520) g",
                "UPDATE orders SET amount = 0, updated_at = localtimestamp WHERE id % 20 = 0 AND id <= 500",
                "UPDATE orders SET amount = 1, updated_at = localtimestamp WHERE id % 100 = 0 AND id <= 500");
        Verifier.Report pending = verify();

        assertEquals(0, pending.exitCode(), String.join("\n", pending.lines()));
        assertTrue(line(pending, "public.orders: OK, 475 rows equal in 64 ranges of id 1..520").endsWith("s)"));
        assertTrue(line(pending, "public.orders: OK").contains("45 rows newer in PostgreSQL not yet"), String.join("\n", pending.lines()));

        cycle("sync-orders");
        Verifier.Report synced = verify();

        assertEquals(0, synced.exitCode(), String.join("\n", synced.lines()));
        String summary = line(synced, "public.orders: OK, 520 rows equal in 64 ranges of id 1..520");
        assertTrue(!summary.contains("newer"), summary);
    }

    @Test
    void a_table_that_cannot_be_compared_exits_2_naming_it_and_the_others_are_still_compared() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-readings", "table", "readings")
                        + LoaderFixture.templatedRoute("sync-ghost", "table", "no_such_table")
                        + LoaderFixture.templatedRoute("sync-clean", "table", "clean"));
        loader.pg("CREATE TABLE readings (value float8 PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO readings VALUES (1.5, '2025-01-01', NULL)",
                "CREATE TABLE clean (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO clean SELECT g, timestamp '2025-01-01' + g * interval '1 second', NULL FROM generate_series(1, 10) g");
        loader.start();
        cycle("sync-readings", "sync-clean");

        Verifier.Report report = verify();

        assertEquals(2, report.exitCode(), String.join("\n", report.lines()));
        assertTrue(line(report, "public.readings: cannot verify: key column value is of type float8").contains("supports"));
        assertTrue(line(report, "public.no_such_table: cannot verify: PostgreSQL has no table public.no_such_table").contains("check"));
        line(report, "public.clean: OK, 10 rows");
        line(report, "2 of 3 table(s) could not be verified.");
    }
}
