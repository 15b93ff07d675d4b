package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * An empty target is backfilled in primary-key order, in chunks; a backfill killed halfway resumes after
 * the largest key ClickHouse holds, and whatever changed meanwhile arrives through the streams.
 */
class BackfillTest extends LoaderTestBase {

    static final int ROWS = 300_000;
    static final Pattern CHUNKS = Pattern.compile("\\(backfill in key order, (\\d+) chunks?\\): created (\\d+)");

    @Test
    void a_backfill_killed_halfway_resumes_after_the_largest_key_clickhouse_holds() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("events.yaml", LoaderFixture.templatedRoute("sync-events",
                "table", "events", "batchSize", "1000", "insertRows", "5000", "backfillChunkRows", "50000"));
        // created_at falls as id grows: key order is not time order, so a resume by timestamp would go wrong
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, payload text, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE INDEX ON events (created_at) WHERE updated_at IS NULL",
                "CREATE INDEX ON events (updated_at)",
                "INSERT INTO events SELECT g, 'row ' || g, timestamp '2024-01-01' - g * interval '1 second',"
                        + " CASE WHEN g % 10 = 0 THEN timestamp '2024-02-01' + g * interval '1 second' END"
                        + " FROM generate_series(1, " + ROWS + ") g");
        Path work = Files.createDirectories(tmp.resolve("work"));

        process = LoaderProcess.start(work, loader.environment(), "--once");
        long held = awaitRows(60_000);
        ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroyForcibly);
        process.awaitExit(Duration.ofSeconds(30));

        // an INSERT whose body reached ClickHouse before the kill is still committed a moment after it: read
        // the target once it stopped changing, and all three figures in one query
        held = loader.settledCount("events");
        List<String> figures = loader.chRows("SELECT concat(toString(count()), ' ', toString(max(id)), ' ', toString(uniqExact(id)))"
                + " FROM events");
        assertTrue(held < ROWS, "killed before the end: " + held);
        assertEquals(List.of(held + " " + held + " " + held), figures, "ClickHouse holds a key prefix, each row once");
        assertTrue(loader.chRows("SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = 'events'")
                .get(0).startsWith("pg-ch-loader: backfill in progress"), "the target says a backfill is unfinished");

        // meanwhile: rows already copied and rows not yet copied change, new rows arrive
        loader.pg("UPDATE events SET payload = 'changed', updated_at = localtimestamp WHERE id IN (5, 6, " + (ROWS - 5) + ")",
                "INSERT INTO events SELECT g, 'new', localtimestamp FROM generate_series(" + (ROWS + 1) + ", " + (ROWS + 100) + ") g");

        process = LoaderProcess.start(work, loader.environment(), "--once");
        assertEquals(0, process.awaitExit(Duration.ofSeconds(120)), process.output());

        String output = process.output();
        assertTrue(output.contains("ClickHouse holds the backfill up to key [" + lastKey(held) + "]; going on from there"), output);
        Matcher m = CHUNKS.matcher(output);
        assertTrue(m.find(), output);
        long remaining = ROWS - lastKey(held);
        assertEquals(remaining / 50_000 + 1, Long.parseLong(m.group(1)), "chunks of the rest only: " + m.group());
        assertTrue(Long.parseLong(m.group(2)) < ROWS, "not from zero: " + m.group());

        assertEquals(ROWS + 100, loader.chLong("SELECT count() FROM events FINAL"));
        assertEquals(loader.pgLong("SELECT sum(id) FROM events"), loader.chLong("SELECT sum(id) FROM events FINAL"));
        assertEquals(List.of("5", "6", Long.toString(ROWS - 5)),
                loader.chRows("SELECT id FROM events FINAL WHERE payload = 'changed' ORDER BY id"));
        assertEquals(100, loader.chLong("SELECT count() FROM events FINAL WHERE payload = 'new'"));
        assertEquals(loader.pgLong("SELECT count(*) FROM events WHERE updated_at IS NOT NULL"),
                loader.chLong("SELECT count() FROM events FINAL WHERE updated_at IS NOT NULL"));
        assertEquals("", loader.chRows("SELECT comment FROM system.tables WHERE database = currentDatabase()"
                + " AND name = 'events'").get(0), "the finished backfill no longer marks the table");
    }

    /** 2,500 rows keyed (a, b): each a has 50 b's, b running backwards against the insertion order, so chunks end inside an a. */
    static final String[] CELLS = {
            "CREATE TABLE cells (a int, b smallint, v text, created_at timestamp NOT NULL, updated_at timestamp, PRIMARY KEY (a, b))",
            "INSERT INTO cells SELECT a, 51 - b, a || ':' || b, timestamp '2024-01-01' + (a * 100 + b) * interval '1 s', NULL"
                    + " FROM generate_series(1, 50) a, generate_series(1, 50) b"};

    @Test
    void a_composite_integer_key_goes_on_after_the_last_key_tuple_chunk_by_chunk() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("cells.yaml", LoaderFixture.templatedRoute("sync-cells",
                "table", "cells", "backfillChunkRows", "300"));
        loader.pg(CELLS);
        loader.start();

        var outcome = loader.cycle("sync-cells");

        assertTrue(outcome.succeeded(), outcome.message());
        Matcher m = CHUNKS.matcher(outcome.message());
        assertTrue(m.find(), outcome.message());
        assertEquals("9", m.group(1), "2,500 rows in chunks of 300: " + outcome.message());
        assertEquals(2_500, outcome.rowsCreated());
        assertEquals(2_500, loader.chLong("SELECT count() FROM cells"), "each row once, before any merge");
        assertEquals(loader.pgRows("SELECT a || ' ' || b || ' ' || v FROM cells ORDER BY a, b"),
                loader.chRows("SELECT concat(toString(a), ' ', toString(b), ' ', v) FROM cells FINAL ORDER BY a, b"));
    }

    /** The key the held prefix ends with: ids start at 1 and have no gaps. */
    private static long lastKey(long held) {
        return held;
    }

    private long awaitRows(long atLeast) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            long rows = loader.chLong("SELECT coalesce(sum(rows), 0) FROM system.parts WHERE database = currentDatabase()"
                    + " AND table = 'events' AND active");
            if (rows >= atLeast) {
                return rows;
            }
            if (!process.isAlive()) {
                throw new AssertionError("the loader ended before ClickHouse held " + atLeast + " rows:\n" + process.output());
            }
            Thread.sleep(5);
        }
        throw new AssertionError("ClickHouse never held " + atLeast + " rows:\n" + process.output());
    }
}
