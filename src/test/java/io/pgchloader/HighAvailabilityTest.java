package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.Http;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two loaders with the same CLUSTER_LOCK_DIR: a table is synced by one of them only, and when that one
 * is killed the other takes the table over within seconds, without losing or duplicating a row.
 */
class HighAvailabilityTest extends LoaderTestBase {

    /** Rows arrived 4.1 to 5.6 s after the kill in six runs (3 s heartbeat timeout, 1 s lock polling, route start, next 1 s fire). */
    static final Duration TAKEOVER_LIMIT = Duration.ofSeconds(10);
    static final Duration ARRIVAL_LIMIT = Duration.ofSeconds(30);
    static final String CYCLE_OF_EVENTS = "| sync | public.events";
    static final String LEADS = "sync-events: this instance holds the lock";

    LoaderProcess first;
    LoaderProcess second;

    @Test
    void only_one_of_two_instances_syncs_a_table_and_the_other_takes_over_within_seconds_after_kill_9() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", "0/1 * * * * ?"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, payload text,"
                        + " created_at timestamp NOT NULL DEFAULT localtimestamp, updated_at timestamp)",
                "INSERT INTO events (id, payload) SELECT g, 'first ' || g FROM generate_series(1, 20) g");
        Map<String, String> env = loader.environment();
        env.put("CLUSTER_LOCK_DIR", tmp.resolve("locks").toString());
        int firstPort = Http.freePort();
        int secondPort = Http.freePort();
        try {
            env.put("HTTP_PORT", Integer.toString(firstPort));
            first = LoaderProcess.start(Files.createDirectories(tmp.resolve("first")), env);
            awaitCount(20, first);
            first.awaitOutput(LEADS, ARRIVAL_LIMIT);

            env.put("HTTP_PORT", Integer.toString(secondPort));
            second = LoaderProcess.start(Files.createDirectories(tmp.resolve("second")), env);
            awaitReady(secondPort, second);

            // the first keeps syncing; the second, up and ready, stands by through several fires
            loader.pg("INSERT INTO events (id, payload) SELECT g, 'second ' || g FROM generate_series(21, 30) g");
            awaitCount(30, first);
            Thread.sleep(3000);
            assertEquals(List.of(), cycleLines(second), "the standby synced:\n" + second.output());
            assertTrue(!second.output().contains(LEADS), second.output());
            assertTrue(cycleLines(first).size() >= 3, first.output());
            String standbyMetrics = Http.get(secondPort, "/observe/metrics").body();
            assertEquals(0.0, Http.sample(standbyMetrics, "pgch_table_active", "route", "sync-events"), standbyMetrics);
            assertEquals(1.0, Http.sample(Http.get(firstPort, "/observe/metrics").body(), "pgch_table_active",
                    "route", "sync-events"));
            int firstCycles = cycleLines(first).size();

            first.close(); // SIGKILL
            assertEquals(137, first.awaitExit(Duration.ofSeconds(10)), "killed by SIGKILL");
            long killed = System.nanoTime();
            loader.pg("INSERT INTO events (id, payload) SELECT g, 'third ' || g FROM generate_series(31, 40) g",
                    "UPDATE events SET payload = 'changed', updated_at = localtimestamp WHERE id IN (5, 25)");

            second.awaitOutput(LEADS, TAKEOVER_LIMIT);
            Duration takeover = Duration.ofNanos(System.nanoTime() - killed);
            awaitCount(40, second);
            Duration synced = Duration.ofNanos(System.nanoTime() - killed);
            System.out.printf("takeover: lock after %d ms, new rows in ClickHouse %d ms after kill -9%n",
                    takeover.toMillis(), synced.toMillis());
            assertTrue(synced.compareTo(TAKEOVER_LIMIT) < 0, "rows arrived " + synced.toMillis() + " ms after the kill");
            assertEquals(firstCycles, cycleLines(first).size(), "nothing ran on the dead instance");

            // the new leader keeps syncing
            loader.pg("INSERT INTO events (id, payload) SELECT g, 'fourth ' || g FROM generate_series(41, 50) g",
                    "UPDATE events SET payload = 'changed again', updated_at = localtimestamp WHERE id = 5");
            awaitCount(50, second);
            awaitValue("SELECT payload FROM events FINAL WHERE id = 5", "changed again", second);
            // the rows are in ClickHouse a moment before the cycle's line reaches the output
            awaitCycles(2, second);

            assertEquals(50, loader.pgLong("SELECT count(*) FROM events"));
            assertEquals(50, loader.chLong("SELECT count() FROM events FINAL"));
            assertEquals(50, loader.chLong("SELECT uniqExact(id) FROM events FINAL"), "no key twice under FINAL");
            assertEquals(loader.pgRows("SELECT id || ' ' || payload FROM events ORDER BY id"),
                    loader.chRows("SELECT concat(toString(id), ' ', payload) FROM events FINAL ORDER BY id"));

            second.terminate();
            int exit = second.awaitExit(Duration.ofSeconds(30));
            assertTrue(exit == 0 || exit == 143, "exit " + exit + "\n" + second.output());
            assertEquals(List.of(), second.errorLines(), second.output());
            for (String line : second.lines().stream().filter(l -> !l.isBlank()).toList()) {
                assertTrue(LoaderProcess.LOG_LINE.matcher(line).matches(), "not in the log format: \"" + line + "\"\n"
                        + second.output());
            }
        } finally {
            if (first != null) {
                first.close();
            }
            if (second != null) {
                second.close();
            }
        }
    }

    private static List<String> cycleLines(LoaderProcess process) {
        return process.lines().stream().filter(l -> l.contains(CYCLE_OF_EVENTS) && l.contains(" rows (")).toList();
    }

    private static void awaitCycles(int expected, LoaderProcess process) throws InterruptedException {
        long deadline = System.nanoTime() + ARRIVAL_LIMIT.toNanos();
        while (cycleLines(process).size() < expected && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(cycleLines(process).size() >= expected, "fewer than " + expected + " cycles:\n" + process.output());
    }

    private void awaitReady(int port, LoaderProcess process) throws Exception {
        long deadline = System.nanoTime() + ARRIVAL_LIMIT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("the loader exited:\n" + process.output());
            }
            try {
                Http.Response response = Http.get(port, "/observe/health/ready");
                if (response.status() == 200) {
                    return;
                }
                last = response.status() + " " + response.body();
            } catch (IOException e) {
                last = e.toString(); // not listening yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("not ready within " + ARRIVAL_LIMIT.toSeconds() + " s: " + last + "\n" + process.output());
    }

    private void awaitCount(long expected, LoaderProcess syncing) throws Exception {
        awaitValue("SELECT toString(count()) FROM events FINAL", Long.toString(expected), syncing);
    }

    private void awaitValue(String sql, String expected, LoaderProcess syncing) throws Exception {
        loader.awaitValue(sql, expected, syncing, ARRIVAL_LIMIT);
    }
}
