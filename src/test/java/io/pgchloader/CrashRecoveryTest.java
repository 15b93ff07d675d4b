package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderRuns;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.support.RowComparison;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code kill -9} at any moment of a cycle loses nothing and duplicates nothing: the loader runs as a
 * user runs it (a process of its own, on a one-second schedule, small batches so a cycle takes a while)
 * and is killed with SIGKILL again and again, each time in another phase of a cycle: right after
 * startup, in the backfill's created stream, in the updated stream, where one stream ends and the next
 * begins, between cycles, while an insert is being retried, in the middle of thousands of rows that share
 * one timestamp, and at random moments. PostgreSQL changes between kills. Then one {@code --once} run
 * must leave ClickHouse equal to PostgreSQL, every column of every row, under {@code FINAL}.
 *
 * <p>Aiming uses ClickHouse's row count (every inserted copy, not FINAL) and the loader's log lines. The
 * moments are chosen at random within each phase ({@code -Dcrash.seed=} replays a run); the phase each
 * kill really hit is printed.
 */
class CrashRecoveryTest extends LoaderTestBase {

    static final String TABLE = "crash_items";
    static final int SEED_ROWS = 150_000;
    static final Duration PHASE_LIMIT = Duration.ofSeconds(90);
    static final Duration ONCE_LIMIT = Duration.ofSeconds(180);

    /** The same row as text on both sides; timestamp columns hold wall-clock values, shown as written. */
    static final String PG_ROWS = """
            SELECT id, name, qty::text, coalesce(amount::text, '<null>'), coalesce(note, '<null>'), flag::text,
                   revision::text, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US'),
                   coalesce(to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US'), '<null>')
              FROM crash_items ORDER BY id
            """;
    static final String CH_ROWS = """
            SELECT id, name, toString(qty), ifNull(toDecimalString(amount, 2), '<null>'), ifNull(note, '<null>'),
                   toString(flag), toString(revision), toString(created_at), ifNull(toString(updated_at), '<null>')
              FROM crash_items FINAL ORDER BY id
            """;

    LoaderRuns runs;

    final long seed = Long.getLong("crash.seed", System.nanoTime());
    final Random random = new Random(seed);
    final List<String> kills = new ArrayList<>();
    int killsWithWorkPending;
    long nextId = SEED_ROWS + 1;
    int round;

    @AfterEach
    void stopRuns() throws Exception {
        if (runs != null) {
            runs.close();
        }
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void recovers_from_kill_9_at_any_point_of_a_cycle() throws Exception {
        long started = System.nanoTime();
        System.out.println("CRASH: seed " + seed + " (-Dcrash.seed=" + seed + " replays the moments)");
        loader = new LoaderFixture(tmp).withRoutes("crash.yaml", LoaderFixture.templatedRoute("sync-crash",
                // small INSERTs of two joined batches: progress shows in ClickHouse often enough to aim kills
                "table", TABLE, "cron", "0/1 * * * * ?", "batchSize", "500", "insertRows", "1000"));
        loader.pg("CREATE TABLE crash_items (id bigint PRIMARY KEY, name text NOT NULL, qty integer NOT NULL,"
                        + " amount numeric(12, 2), note text, flag boolean NOT NULL DEFAULT false,"
                        + " revision integer NOT NULL DEFAULT 0,"
                        + " created_at timestamp NOT NULL DEFAULT localtimestamp, updated_at timestamp)",
                "CREATE INDEX ON crash_items (created_at)",
                "CREATE INDEX ON crash_items (updated_at)",
                // four rows per second, and 3,000 rows sharing one timestamp (six batches)
                "INSERT INTO crash_items (id, name, qty, amount, note, flag, created_at)"
                        + " SELECT g, 'item ' || g, g % 1000, CASE WHEN g % 11 = 0 THEN NULL ELSE round(g * 0.37, 2) END,"
                        + " CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g || E' \\t ''q'' ✓' END, g % 3 = 0,"
                        + " timestamp '2025-01-01' + (CASE WHEN g BETWEEN 100001 AND 103000 THEN 100001 ELSE g END / 4)"
                        + " * interval '1 second'"
                        + " FROM generate_series(1, " + SEED_ROWS + ") g",
                // and rows updated since: about 21,000, the updated stream of the backfill
                "UPDATE crash_items SET revision = 1, qty = qty + 1, note = 'seed update',"
                        + " updated_at = created_at + interval '30 days' + (id % 13) * interval '1 millisecond'"
                        + " WHERE id % 7 = 0",
                "ANALYZE crash_items");
        Map<String, String> env = loader.environment();
        // retries come quickly and go on long enough to be killed in the middle of them
        env.put("RETRY_MAX_ATTEMPTS", "10");
        env.put("RETRY_INITIAL_DELAY_MS", "300");
        env.put("RETRY_MAX_DELAY_MS", "2000");
        runs = new LoaderRuns(tmp.resolve("runs"), env);

        // 1. before anything happened: JVM start, Camel start, maybe the target being created
        runs.start();
        sleepMs(between(200, 1500));
        kill("right after startup");

        // 2. backfill, created stream, early
        runs.start();
        long early = between(2_000, 20_000);
        awaitTarget("backfill created stream reaches " + early, c -> c >= early, this::copies);
        kill("backfill, created stream (early)");
        changeData();

        // 3. backfill resumed, created stream, later (the target is no longer empty: an increment with a
        //    created watermark and no updated watermark yet)
        runs.start();
        long later = copies() + between(15_000, 40_000);
        awaitTarget("created stream reaches " + later, c -> c >= later, this::copies);
        kill("created stream (resumed backfill)");

        // 4. updated stream: the ~21,000 rows updated before the start, 500 per batch
        runs.start();
        long updatedBefore = updatedCopies();
        long some = updatedBefore + between(1_000, 10_000);
        awaitTarget("updated stream reaches " + some, c -> c >= some, this::updatedCopies);
        kill("updated stream");
        changeData();

        // 5. where the created stream ends and the updated stream begins: new rows and new updates pending,
        //    killed as soon as the last never-updated row of PostgreSQL is in ClickHouse
        insertRows(between(3_000, 8_000));
        updateRows(between(2_000, 5_000), "updated_at IS NULL");
        String lastCreated = loader.pgRows("SELECT to_char(max(created_at), 'YYYY-MM-DD HH24:MI:SS.US')"
                + " FROM crash_items WHERE updated_at IS NULL").get(0);
        runs.start();
        awaitTarget("created stream done (" + lastCreated + ")", c -> c > 0, () -> createdStreamDone(lastCreated));
        kill("end of created stream / start of updated stream");

        // 6. between cycles: right after a cycle's log line
        runs.start();
        assertTrue(runs.awaitLine(l -> LoaderRuns.CYCLE_LINE.matcher(l).matches(), PHASE_LIMIT),
                "no cycle completed:\n" + runs.current().output());
        sleepMs(between(0, 600));
        kill("between cycles");
        changeData();

        // 7. while an insert of the updated stream is being retried (the target detached for the moment)
        updateRows(20_000, "id % 5 = " + between(0, 4));
        runs.start();
        long retryFrom = updatedCopies() + between(1_000, 8_000);
        awaitTarget("updated stream reaches " + retryFrom, c -> c >= retryFrom, this::updatedCopies);
        loader.ch("DETACH TABLE crash_items");
        try {
            assertTrue(runs.awaitLine(l -> LoaderRuns.RETRY_LINE.matcher(l).matches(), PHASE_LIMIT),
                    "no retry while the target was detached:\n" + runs.current().output());
            sleepMs(between(0, 800));
        } finally {
            runs.kill();
            assertEquals(0, loader.chLong("SELECT count() FROM system.tables WHERE database = currentDatabase()"
                    + " AND name = 'crash_items'"), "nothing created a new target while the old one was detached");
            loader.ch("ATTACH TABLE crash_items");
        }
        note("while retrying an insert");

        // 8. in the middle of 20,000 new rows sharing one timestamp (one INSERT statement)
        long tieFrom = nextId;
        insertRows(20_000);
        runs.start();
        long tieSome = between(2_000, 15_000);
        awaitTarget("tie of created rows reaches " + tieSome, c -> c >= tieSome,
                () -> countOr0("SELECT count() FROM crash_items WHERE id >= " + tieFrom));
        kill("created stream, inside 20,000 rows of one timestamp");

        // 9. in the middle of 25,000 rows updated by one statement (one updated_at)
        updateRows(25_000, "id % 6 = " + between(0, 5));
        String tieMark = "round " + round;
        runs.start();
        long tieUpdated = between(2_000, 20_000);
        awaitTarget("tie of updated rows reaches " + tieUpdated, c -> c >= tieUpdated,
                () -> countOr0("SELECT count() FROM crash_items WHERE note = '" + tieMark + "'"));
        kill("updated stream, inside 25,000 rows of one timestamp");
        changeData();

        // 10. the first cycle after startup, in its first steps (catalog, horizon, watermark): aimed at the
        //     moment the new process opens its first PostgreSQL session
        String before = loader.pgRows("SELECT now()::text").get(0);
        runs.start();
        awaitTarget("the loader's first PostgreSQL session", c -> c > 0, () -> loader.pgLong(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        + " AND application_name = 'pg-ch-loader' AND backend_start > '" + before + "'"));
        sleepMs(between(0, 300));
        kill("first cycle after startup, first steps");

        // 11.-13. random moments, PostgreSQL changing meanwhile
        for (int i = 0; i < 3; i++) {
            changeData();
            runs.start();
            sleepMs(between(500, 3_000));
            changeData();
            sleepMs(between(0, 3_000));
            kill("random moment");
        }

        // then one run to completion
        LoaderProcess once = runs.start("--once");
        int exit = once.awaitExit(ONCE_LIMIT);
        assertEquals(0, exit, once.output());
        assertEquals(List.of(), once.errorLines(), once.output());

        RowComparison comparison = RowComparison.of(loader, PG_ROWS, CH_ROWS);
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("CRASH: kills=%d cycles=%d rows=%d %s seconds=%.0f%n", runs.kills(), runs.cycles(),
                comparison.pgRows(), comparison.report().lines().findFirst().orElse(""), seconds);
        kills.forEach(k -> System.out.println("CRASH:   " + k));
        assertTrue(runs.kills() >= 8, "killed " + runs.kills() + " times");
        assertTrue(killsWithWorkPending >= 6, "only " + killsWithWorkPending + " kills interrupted work:\n" + String.join("\n", kills));
        assertTrue(comparison.matches(), comparison.report() + "\nseed " + seed + "\nkills:\n" + String.join("\n", kills)
                + "\nloader output:\n" + runs.tail(30));
    }

    /** Kills the running loader with SIGKILL and notes the phase. */
    private void kill(String phase) throws Exception {
        runs.kill();
        note(phase);
    }

    /**
     * Notes what the kill left behind: rows PostgreSQL has and ClickHouse lacks, and updates not yet
     * arrived (every update adds 1 to {@code revision}, so the revision sums differ by their number).
     */
    private void note(String phase) throws Exception {
        long pendingRows = loader.pgLong("SELECT count(*) FROM crash_items")
                - countOr0("SELECT count() FROM crash_items FINAL");
        long pendingUpdates = loader.pgLong("SELECT sum(revision) FROM crash_items")
                - countOr0("SELECT sum(revision) FROM crash_items FINAL");
        if (pendingRows > 0 || pendingUpdates > 0) {
            killsWithWorkPending++;
        }
        String line = String.format("kill %2d  %-52s copies in target %7d | pending: rows %6d, updates %6d | cycles in run %d%s",
                runs.kills(), phase, copies(), pendingRows, pendingUpdates,
                runs.currentCount(l -> LoaderRuns.CYCLE_LINE.matcher(l).matches()),
                runs.currentCount(l -> LoaderRuns.RETRY_LINE.matcher(l).matches()) > 0 ? ", retrying" : "");
        kills.add(line);
        System.out.println("CRASH: " + line);
    }

    /** One round of changes while the loader is down: new rows, first updates, repeated updates. */
    private void changeData() throws SQLException {
        insertRows(between(200, 3_000));
        updateRows(between(200, 2_000), "updated_at IS NULL");           // NULL -> a value
        updateRows(between(100, 1_000), "updated_at IS NOT NULL");       // again
        updateRows(100, "id <= 100");                                     // the same rows every round
    }

    /** Inserts rows in one statement: they share one created_at (localtimestamp, the transaction's start). */
    private void insertRows(int count) throws SQLException {
        long from = nextId;
        nextId += count;
        round++;
        loader.pg("INSERT INTO crash_items (id, name, qty, amount, note, flag)"
                + " SELECT g, 'new ' || g, " + round + ", CASE WHEN g % 4 = 0 THEN NULL ELSE round(g * 0.01, 2) END,"
                + " CASE WHEN g % 6 = 0 THEN NULL ELSE 'round " + round + "' END, g % 2 = 0"
                + " FROM generate_series(" + from + ", " + (from + count - 1) + ") g");
    }

    /** Updates up to {@code count} random rows matching the condition, in one statement (one updated_at). */
    private void updateRows(int count, String where) throws SQLException {
        round++;
        loader.pg("UPDATE crash_items SET revision = revision + 1, qty = qty + 1, flag = NOT flag,"
                + " amount = CASE WHEN amount IS NULL THEN 7.25 WHEN revision % 3 = 2 THEN NULL ELSE amount + 1 END,"
                + " note = 'round " + round + "', updated_at = localtimestamp"
                + " WHERE id IN (SELECT id FROM crash_items WHERE " + where + " ORDER BY random() LIMIT " + count + ")");
    }

    /** Rows inserted into the target so far, every copy (not FINAL); -1 while it does not exist. */
    private long copies() throws SQLException {
        return countOrMinus1("SELECT count() FROM crash_items");
    }

    private long updatedCopies() throws SQLException {
        return countOrMinus1("SELECT countIf(isNotNull(updated_at)) FROM crash_items");
    }

    /** 1 once ClickHouse holds a never-updated row as late as PostgreSQL's latest one. */
    private long createdStreamDone(String lastCreated) throws SQLException {
        return countOr0("SELECT toString(maxIf(created_at, isNull(updated_at))) >= '" + lastCreated + "' FROM crash_items");
    }

    private long countOr0(String sql) throws SQLException {
        return Math.max(0, countOrMinus1(sql));
    }

    private long countOrMinus1(String sql) throws SQLException {
        try {
            return loader.chLong(sql);
        } catch (SQLException e) {
            if (String.valueOf(e.getMessage()).contains("UNKNOWN_TABLE") || String.valueOf(e.getMessage()).contains("doesn't exist")) {
                return -1;
            }
            throw e;
        }
    }

    private interface Count {
        long get() throws SQLException;
    }

    /** Polls a ClickHouse figure until it satisfies the condition; fails when the loader exits or time is up. */
    private void awaitTarget(String what, LongPredicate condition, Count count) throws Exception {
        long deadline = System.nanoTime() + PHASE_LIMIT.toNanos();
        long last = -1;
        while (System.nanoTime() < deadline) {
            last = count.get();
            if (condition.test(last)) {
                return;
            }
            runs.assertAlive();
            Thread.sleep(10);
        }
        throw new AssertionError("waiting for: " + what + ", last value " + last + "\n" + runs.current().output());
    }

    private int between(int min, int max) {
        return min + random.nextInt(max - min + 1);
    }

    private static void sleepMs(long ms) throws InterruptedException {
        Thread.sleep(ms);
    }
}
