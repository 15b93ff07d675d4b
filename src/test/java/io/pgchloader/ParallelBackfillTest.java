package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code backfillParallelism}: an empty target is backfilled in that many key ranges at once, each in key
 * order, chunk by chunk; killed with {@code kill -9}, each range resumes after the largest key ClickHouse
 * holds within it, and whatever changed meanwhile arrives through the streams.
 */
class ParallelBackfillTest extends LoaderTestBase {

    static final int ROWS = 120_000;
    static final Pattern SUMMARY = Pattern.compile("\\(backfill in key order, (\\d+) chunks? in (\\d+) key ranges, up to (\\d+) at once\\):"
            + " created (\\d+), updated (\\d+) rows");
    /** Rows changed while the backfill runs: in every range, some already copied, some not yet. */
    static final List<String> DURING = List.of("7", "30007", "60007", "90007", Long.toString(ROWS - 7));
    static final Pattern CUTS = Pattern.compile("key ranges cut at ([0-9, ]+)");

    @Test
    void backfills_an_empty_target_with_four_ranges_in_parallel() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("items.yaml", LoaderFixture.templatedRoute("sync-items",
                "table", "items", "backfillParallelism", "4", "backfillChunkRows", "3000", "batchSize", "500", "insertRows", "1000"));
        // keys with gaps and a skew (most rows at the low end), a tenth of the rows updated once
        loader.pg("CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, created_at timestamp NOT NULL,"
                        + " updated_at timestamp)",
                "INSERT INTO items SELECT CASE WHEN g <= 30000 THEN g * 3 ELSE 100000 + g * 17 END, 'item ' || g, g % 97,"
                        + " timestamp '2024-01-01' + g * interval '1 second',"
                        + " CASE WHEN g % 10 = 0 THEN timestamp '2024-06-01' + g * interval '1 second' END"
                        + " FROM generate_series(1, 40000) g",
                "ANALYZE items");
        loader.start();

        var outcome = loader.cycle("sync-items");

        assertTrue(outcome.succeeded(), outcome.message());
        Matcher m = SUMMARY.matcher(outcome.message());
        assertTrue(m.find(), outcome.message());
        assertEquals("4", m.group(2), "four key ranges: " + outcome.message());
        assertEquals("4", m.group(3), outcome.message());
        int chunks = Integer.parseInt(m.group(1));
        // each range ends with a short chunk of its own: 13 full chunks at most, and one short one per range
        assertTrue(chunks > 40_000 / 3000 && chunks <= 40_000 / 3000 + 4, "chunks of every range: " + outcome.message());
        assertEquals(40_000, outcome.rowsCreated());
        assertEquals(40_000, loader.chLong("SELECT count() FROM items"), "each row once, before any merge");
        assertEquals(40_000, loader.chLong("SELECT uniqExact(id) FROM items"), "every key once");
        assertEquals(loader.pgRows("SELECT id || ' ' || name || ' ' || qty || ' ' || created_at || ' ' || coalesce(updated_at::text, '-')"
                        + " FROM items ORDER BY id"),
                loader.chRows("SELECT concat(toString(id), ' ', name, ' ', toString(qty), ' ', formatDateTime(created_at, '%F %T'), ' ',"
                        + " ifNull(formatDateTime(updated_at, '%F %T'), '-')) FROM items FINAL ORDER BY id"));
        assertEquals("", comment("items"), "the finished backfill no longer marks the table");
    }

    @Test
    void a_composite_integer_key_is_cut_by_its_first_column_and_each_key_tuple_arrives_once() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("cells.yaml", LoaderFixture.templatedRoute("sync-cells",
                "table", "cells", "backfillParallelism", "3", "backfillChunkRows", "300"));
        // chunks and ranges end inside an a
        loader.pg(BackfillTest.CELLS);
        loader.start();

        var outcome = loader.cycle("sync-cells");

        assertTrue(outcome.succeeded(), outcome.message());
        assertTrue(outcome.message().contains(" in 3 key ranges, up to 3 at once"), outcome.message());
        assertEquals(2_500, outcome.rowsCreated());
        assertEquals(2_500, loader.chLong("SELECT count() FROM cells"), "each row once, before any merge");
        assertEquals(loader.pgRows("SELECT a || ' ' || b || ' ' || v FROM cells ORDER BY a, b"),
                loader.chRows("SELECT concat(toString(a), ' ', toString(b), ' ', v) FROM cells FINAL ORDER BY a, b"));
    }

    @Test
    void a_text_key_backfills_through_the_streams_and_says_why_it_is_not_parallel() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tags.yaml", LoaderFixture.templatedRoute("sync-tags",
                "table", "tags", "backfillParallelism", "4"));
        loader.pg("CREATE TABLE tags (code text PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO tags SELECT 'tag-' || g, timestamp '2024-01-01' + g * interval '1 s', NULL FROM generate_series(1, 500) g");
        Path work = Files.createDirectories(tmp.resolve("work"));

        process = LoaderProcess.start(work, loader.environment(), "--once");

        assertEquals(0, process.awaitExit(Duration.ofSeconds(120)), process.output());
        assertTrue(process.output().contains("public.tags: backfillParallelism 4 applies to a backfill in key order only (integer key"
                + " columns); the key [code] is not, so this table backfills through its streams, one at a time"), process.output());
        assertEquals(500, loader.chLong("SELECT count() FROM tags FINAL"));
    }

    @Test
    void a_parallel_backfill_killed_with_kill_9_resumes_each_range_where_it_stopped() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("events.yaml", LoaderFixture.templatedRoute("sync-events",
                "table", "events", "backfillParallelism", "4", "backfillChunkRows", "10000", "batchSize", "1000", "insertRows", "2000"));
        // created_at falls as id grows: key order is not time order
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, payload text, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE INDEX ON events (created_at) WHERE updated_at IS NULL",
                "CREATE INDEX ON events (updated_at)",
                "INSERT INTO events SELECT g, 'row ' || g, timestamp '2024-01-01' - g * interval '1 second',"
                        + " CASE WHEN g % 10 = 0 THEN timestamp '2024-02-01' + g * interval '1 second' END"
                        + " FROM generate_series(1, " + ROWS + ") g",
                "ANALYZE events");
        Path work = Files.createDirectories(tmp.resolve("work"));

        process = LoaderProcess.start(work, loader.environment(), "--once");
        awaitRows(ROWS / 4);
        // while the backfill runs: rows change in every range, new rows arrive above the horizon
        loader.pg("UPDATE events SET payload = 'during', updated_at = localtimestamp WHERE id IN (" + String.join(", ", DURING) + ")",
                "INSERT INTO events SELECT g, 'during', localtimestamp FROM generate_series(" + (ROWS + 1) + ", " + (ROWS + 50) + ") g");
        ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroyForcibly);
        process.awaitExit(Duration.ofSeconds(30));

        String comment = comment("events");
        assertTrue(comment.startsWith("pg-ch-loader: backfill in progress"), "the target says a backfill is unfinished: " + comment);
        Matcher cutsFound = CUTS.matcher(comment);
        assertTrue(cutsFound.find(), "the ranges are kept with the horizon: " + comment);
        List<Long> cuts = Arrays.stream(cutsFound.group(1).split(",\\s*")).map(Long::valueOf).toList();
        assertEquals(3, cuts.size(), comment);
        long held = loader.settledCount("events");
        assertTrue(held < ROWS, "killed before the end: " + held);
        assertEquals(held, loader.chLong("SELECT uniqExact(id) FROM events"), "each row once");
        List<long[]> ranges = ranges(cuts);
        int resumedRanges = 0;
        for (long[] range : ranges) {
            String in = "id >= " + range[0] + " AND id < " + range[1];
            long count = loader.chLong("SELECT count() FROM events WHERE " + in);
            long max = loader.chLong("SELECT coalesce(max(id), 0) FROM events WHERE " + in);
            // the ids have no gaps; only rows changed during the backfill (above its horizon) are left to the streams
            long skipped = count == 0 ? 0 : loader.pgLong("SELECT count(*) FROM events WHERE payload = 'during' AND id BETWEEN "
                    + range[0] + " AND " + max) - loader.chLong("SELECT count() FROM events WHERE id IN (" + String.join(", ", DURING)
                    + ") AND id BETWEEN " + range[0] + " AND " + max);
            assertEquals(count == 0 ? 0 : max - range[0] + 1 - skipped, count, "range " + range[0] + ".." + range[1]
                    + " holds a key prefix of its own, whatever the others did");
            if (count > 0 && max < range[1] - 1) {
                resumedRanges++;
            }
        }
        assertTrue(resumedRanges >= 2, "ranges were copied side by side: " + resumedRanges + " cut short");
        // the rows changed during the backfill that ClickHouse did not hold yet come through the updated stream

        // after the kill: more changes, then the resumed run
        loader.pg("UPDATE events SET payload = 'after', updated_at = localtimestamp WHERE id IN (8, " + (ROWS - 8) + ")",
                "INSERT INTO events SELECT g, 'after', localtimestamp FROM generate_series(" + (ROWS + 51) + ", " + (ROWS + 100) + ") g");
        long changedNotHeld = loader.pgLong("SELECT count(*) FROM events WHERE payload IN ('during', 'after') AND id <= " + ROWS)
                - loader.chLong("SELECT count() FROM events WHERE id IN (" + String.join(", ", DURING) + ", 8, " + (ROWS - 8) + ")");
        process = LoaderProcess.start(work, loader.environment(), "--once");
        assertEquals(0, process.awaitExit(Duration.ofSeconds(120)), process.output());

        String output = process.output();
        assertTrue(output.contains("in the 4 key ranges it began with"), output);
        for (long[] range : ranges) {
            String in = "id >= " + range[0] + " AND id < " + range[1];
            long max = loader.chLong("SELECT coalesce(max(id), 0) FROM events WHERE " + in);
            assertTrue(max > 0, "range " + range[0] + " copied");
        }
        Matcher m = SUMMARY.matcher(output);
        assertTrue(m.find(), output);
        // the backfill copied only what ClickHouse lacked below the horizon; the created stream the 100 new rows
        assertEquals(ROWS - held - changedNotHeld + 100, Long.parseLong(m.group(4)), "nothing copied twice: " + m.group());
        assertTrue(output.contains("up to key ["), output);

        assertEquals(ROWS + 100, loader.chLong("SELECT count() FROM events FINAL"));
        assertEquals(loader.pgLong("SELECT sum(id) FROM events"), loader.chLong("SELECT sum(id) FROM events FINAL"));
        assertEquals(loader.pgRows("SELECT id || ' ' || payload || ' ' || coalesce(to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US'), '-')"
                        + " FROM events ORDER BY id"),
                loader.chRows("SELECT concat(toString(id), ' ', payload, ' ', ifNull(formatDateTime(updated_at, '%F %T.%f'), '-'))"
                        + " FROM events FINAL ORDER BY id"), "row by row, the changes during and after the backfill included");
        for (String id : DURING) {
            assertEquals(List.of("during"), loader.chRows("SELECT payload FROM events FINAL WHERE id = " + id));
        }
        assertEquals("", comment("events"), "the finished backfill no longer marks the table");
    }

    /** [from, to) of each range; the first and the last open-ended, as the loader cuts them. */
    private static List<long[]> ranges(List<Long> cuts) {
        List<long[]> ranges = new ArrayList<>();
        long from = Long.MIN_VALUE / 2;
        for (long cut : cuts) {
            ranges.add(new long[] {from == Long.MIN_VALUE / 2 ? 1 : from, cut});
            from = cut;
        }
        ranges.add(new long[] {from, Long.MAX_VALUE / 2});
        return ranges;
    }

    private String comment(String table) throws Exception {
        return loader.chRows("SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = '" + table + "'").get(0);
    }

    private void awaitRows(long atLeast) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            long rows = loader.chLong("SELECT coalesce(sum(rows), 0) FROM system.parts WHERE database = currentDatabase()"
                    + " AND table = 'events' AND active");
            if (rows >= atLeast) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError("the loader ended before ClickHouse held " + atLeast + " rows:\n" + process.output());
            }
            Thread.sleep(5);
        }
        throw new AssertionError("ClickHouse never held " + atLeast + " rows:\n" + process.output());
    }
}
