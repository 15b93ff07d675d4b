package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.camel.component.quartz.QuartzEndpoint;
import org.junit.jupiter.api.Test;

/**
 * Without an argument the loader runs every table on its Quartz schedule (the template parameter
 * {@code cron}) until it is stopped; SIGTERM stops it cleanly.
 */
class ScheduledModeTest extends LoaderTestBase {

    static final Duration ARRIVAL_LIMIT = Duration.ofSeconds(30);
    static final Duration STOP_LIMIT = Duration.ofSeconds(30);


    @Test
    void syncs_on_a_one_second_cron_until_sigterm_stops_it_cleanly() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", "0/1 * * * * ?"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, payload text,"
                        + " created_at timestamp NOT NULL DEFAULT localtimestamp, updated_at timestamp)",
                "INSERT INTO events (id, payload) SELECT g, 'first ' || g FROM generate_series(1, 20) g");
        Path workDir = Files.createDirectories(tmp.resolve("work"));

        process = LoaderProcess.start(workDir, loader.environment());

        process.awaitOutput("| sync-events: public.events -> `" + loader.database + "`.`events`, to be created and backfilled"
                + " in key order; ready, cron \"0/1 * * * * ?\", next at 20", ARRIVAL_LIMIT);
        awaitClickHouseCount(20);
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'second ' || g FROM generate_series(21, 27) g",
                "UPDATE events SET payload = 'changed', updated_at = localtimestamp WHERE id = 3");
        awaitClickHouseCount(27);
        awaitValue("SELECT payload FROM events FINAL WHERE id = 3", "changed");
        assertTrue(process.isAlive(), "still running on its schedule:\n" + process.output());

        long cycles = process.lines().stream().filter(l -> l.contains("public.events")).count();
        assertTrue(cycles >= 2, "one log line per cycle, several cycles by now:\n" + process.output());

        long stopping = System.nanoTime();
        process.terminate();
        int exit = process.awaitExit(STOP_LIMIT);
        Duration took = Duration.ofNanos(System.nanoTime() - stopping);

        String output = process.output();
        assertTrue(took.compareTo(STOP_LIMIT) < 0, "stopped in " + took);
        // camel-main stops Camel from the JVM's shutdown hook; the JVM then ends as SIGTERM asked (128 + 15)
        assertTrue(exit == 0 || exit == 143, "exit code " + exit + "\n" + output);
        assertEquals(List.of(), process.errorLines(), output);
        assertFalse(output.contains("Exception"), "no stack trace on the way out:\n" + output);
        List<String> lines = process.lines().stream().filter(l -> !l.isBlank()).toList();
        assertFalse(lines.isEmpty());
        for (String line : lines) {
            assertTrue(LoaderProcess.LOG_LINE.matcher(line).matches(), "not in the log format: \"" + line + "\"\n" + output);
        }
        assertEquals(27, loader.chLong("SELECT count() FROM events FINAL"));
        assertTrue(lines.get(lines.size() - 1).matches(".*\\| Stopped after \\S+: \\d+ cycle\\(s\\) ran, 0 failed"),
                "one line when it stops:\n" + output);
    }

    @Test
    void idle_cycles_log_at_debug_and_say_so_at_info_once_in_five_minutes() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", "0/1 * * * * ?"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL DEFAULT localtimestamp,"
                + " updated_at timestamp)", "INSERT INTO events (id) SELECT g FROM generate_series(1, 10) g");
        Map<String, String> env = new HashMap<>(loader.environment());
        env.put("LOG_LEVEL", "DEBUG");

        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), env);
        awaitClickHouseCount(10);
        long deadline = System.nanoTime() + ARRIVAL_LIMIT.toNanos();
        while (debugCycleLines() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        loader.pg("INSERT INTO events (id) VALUES (11)");
        awaitClickHouseCount(11);

        List<String> info = process.lines().stream().filter(l -> l.contains("| INFO  | sync | public.events") && l.contains(" rows (")).toList();
        assertTrue(debugCycleLines() >= 3, process.output());
        assertEquals(3, info.size(), "the backfill, one idle line, the new row:\n" + String.join("\n", info));
        assertTrue(info.get(0).contains("(backfill in key order"), info.get(0));
        assertTrue(info.get(1).contains("created 0, updated 0 rows") && info.get(1).contains("(idle; idle cycles log at DEBUG,"
                + " and at INFO every 5 min)"), info.get(1));
        assertTrue(info.get(2).contains("created 1, updated 0 rows"), info.get(2));
    }

    private long debugCycleLines() {
        return process.lines().stream().filter(l -> l.contains("| DEBUG | sync | public.events: created 0, updated 0")).count();
    }

    @Test
    void a_table_that_cannot_be_synced_stops_the_schedule_before_anything_is_written_with_exit_code_2() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", "0/1 * * * * ?")
                        + LoaderFixture.templatedRoute("sync-keyless", "table", "keyless", "cron", "0/1 * * * * ?"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL DEFAULT localtimestamp,"
                        + " updated_at timestamp)", "INSERT INTO events (id) SELECT g FROM generate_series(1, 10) g",
                "CREATE TABLE keyless (n int, created_at timestamp NOT NULL, updated_at timestamp)");

        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), loader.environment());
        int exit = process.awaitExit(STOP_LIMIT);

        String output = process.output();
        assertEquals(2, exit, output);
        assertTrue(process.errorLines().get(0).contains("sync-keyless: cannot be synced: public.keyless has no primary key:"
                + " set the templatedRoute parameter primaryKey"), output);
        assertEquals(0, loader.chLong("SELECT count() FROM system.tables WHERE database = currentDatabase()"),
                "no cycle ran:\n" + output);
    }

    @Test
    void a_crontab_line_is_run_as_the_quartz_expression_that_fires_at_the_same_minutes() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", "*/5 * * * 1-5"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)");

        loader.startScheduled(Map.of());

        QuartzEndpoint endpoint = (QuartzEndpoint) loader.app().camelContext().getRoute("sync-events").getEndpoint();
        assertEquals("0 */5 * ? * MON-FRI", endpoint.getCron());
    }

    @Test
    void skips_the_fires_missed_while_a_cycle_ran_long_instead_of_running_them_back_to_back() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", "0/1 * * * * ?"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL DEFAULT localtimestamp,"
                + " updated_at timestamp)", "INSERT INTO events (id) SELECT g FROM generate_series(1, 10) g");
        loader.startScheduled(Map.of());
        SyncStatus status = loader.app().status();
        long deadline = System.nanoTime() + ARRIVAL_LIMIT.toNanos();
        while (status.last("sync-events") == null && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }

        SyncStatus.Outcome beforeRelease;
        try (Connection lock = loader.postgres()) {
            lock.setAutoCommit(false);
            try (Statement s = lock.createStatement()) {
                // the next cycle waits on this lock for six seconds, while six fires come and go
                s.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
            }
            Thread.sleep(6000);
            beforeRelease = status.last("sync-events");
            lock.commit();
        }
        Set<SyncStatus.Outcome> ended = Collections.newSetFromMap(new IdentityHashMap<>());
        long window = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        while (System.nanoTime() < window) {
            SyncStatus.Outcome last = status.last("sync-events");
            if (last != beforeRelease) {
                ended.add(last);
            }
            Thread.sleep(5);
        }

        // the cycle that waited, then at most the fires of the next second and a half, not six in a row
        assertTrue(!ended.isEmpty() && ended.size() <= 3, ended.size() + " cycles ended in 1.5 s after the long one");
    }

    private void awaitClickHouseCount(long expected) throws Exception {
        awaitValue("SELECT toString(count()) FROM events FINAL", Long.toString(expected));
    }

    /** Polls ClickHouse until the query's single value equals the expected one. */
    private void awaitValue(String sql, String expected) throws Exception {
        loader.awaitValue(sql, expected, process, ARRIVAL_LIMIT);
    }
}
