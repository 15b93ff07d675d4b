package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.Http;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * While the loader runs its schedule it serves health and Prometheus metrics on HTTP_PORT: readiness
 * follows the databases, liveness only the process, and the metrics count what each table's cycles did.
 */
class HealthAndMetricsTest extends LoaderTestBase {

    /** Quartz never fires these routes during a test (the next two fires are New Year 2098 and 2099): the test runs the cycles. */
    static final String TEST_DRIVEN_CRON = "0 0 0 1 1 ? 2098,2099";
    /** A probe gives up on a database after 2 s; with HTTP on top the answer must come well within this. */
    static final Duration PROBE_LIMIT = Duration.ofSeconds(8);

    @Test
    void readiness_follows_both_databases_while_liveness_stays_up_when_clickhouse_is_unreachable() throws Exception {
        loader = new LoaderFixture(tmp.resolve("up")).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", TEST_DRIVEN_CRON));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)");
        int port = Http.freePort();
        loader.startScheduled(Map.of("HTTP_PORT", Integer.toString(port)));

        Http.Response ready = Http.get(port, "/observe/health/ready");
        assertEquals(200, ready.status(), ready.body());
        assertTrue(ready.body().contains("\"UP\""), ready.body());
        Http.Response live = Http.get(port, "/observe/health/live");
        assertEquals(200, live.status(), live.body());
        Http.Response all = Http.get(port, "/observe/health?exposureLevel=full");
        assertTrue(all.body().contains("postgresql") && all.body().contains("clickhouse") && all.body().contains("sync-events"),
                "both databases and the table route are checked:\n" + all.body());

        // a second loader whose ClickHouse is a port where nothing listens
        LoaderFixture broken = new LoaderFixture(tmp.resolve("broken")).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", TEST_DRIVEN_CRON));
        try {
            int brokenPort = Http.freePort();
            String deadClickHousePort = Integer.toString(Http.freePort());
            broken.startScheduled(Map.of("HTTP_PORT", Integer.toString(brokenPort), "CLICKHOUSE_PORT", deadClickHousePort));

            long asked = System.nanoTime();
            Http.Response notReady = Http.get(brokenPort, "/observe/health/ready");
            Duration took = Duration.ofNanos(System.nanoTime() - asked);
            assertEquals(503, notReady.status(), notReady.body());
            assertTrue(notReady.body().contains("clickhouse") && notReady.body().contains("cannot use ClickHouse"),
                    "names the database that is down:\n" + notReady.body());
            // whoever can reach the port learns nothing about where the databases are (HEALTH_DETAILS=none)
            for (String url : List.of("/observe/health/ready", "/observe/health?exposureLevel=full&data=true&stackTrace=true")) {
                String body = Http.get(brokenPort, url).body();
                for (String detail : List.of(deadClickHousePort, broken.database, "127.0.0.1", "user", "Connection refused")) {
                    assertFalse(body.contains(detail), url + " shows " + detail + ":\n" + body);
                }
            }
            assertFalse(notReady.body().contains("\"postgresql\""), "PostgreSQL is up, so not listed among the failures:\n"
                    + notReady.body());
            assertTrue(took.compareTo(PROBE_LIMIT) < 0, "readiness answered in " + took);

            Http.Response stillLive = Http.get(brokenPort, "/observe/health/live");
            assertEquals(200, stillLive.status(), "an unreachable database is no reason to restart: " + stillLive.body());
        } finally {
            broken.close();
        }

        // the first loader was never affected
        assertEquals(200, Http.get(port, "/observe/health/ready").status());
    }

    @Test
    void health_details_full_names_the_databases_and_the_tables_whose_cycles_fail_while_readiness_stays_up() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", TEST_DRIVEN_CRON)
                        + LoaderFixture.templatedRoute("sync-fine", "table", "fine", "cron", TEST_DRIVEN_CRON));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "CREATE TABLE fine (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO events VALUES (1, timestamp '2025-01-01')");
        int port = Http.freePort();
        loader.startScheduled(Map.of("HTTP_PORT", Integer.toString(port), "HEALTH_DETAILS", "full", "RETRY_MAX_ATTEMPTS", "0"));
        loader.succeedingCycle("sync-events");
        loader.succeedingCycle("sync-fine");

        // from now on every INSERT into events fails inside ClickHouse, as on a full disk, while SELECT 1 answers
        loader.ch("CREATE MATERIALIZED VIEW refuse_inserts ENGINE = Memory AS SELECT throwIf(count() > 0,"
                + " 'Cannot reserve 1.00 MiB, not enough space') AS refused FROM events");
        loader.pg("INSERT INTO events VALUES (2, now()::timestamp - interval '1 minute')");
        assertFalse(loader.cycle("sync-events").succeeded());
        // the view throws after the rows went in, so ClickHouse holds row 2 now and would not be sent it
        // again: a new row makes the next cycle insert again
        loader.pg("INSERT INTO events VALUES (3, now()::timestamp - interval '30 seconds')");
        assertFalse(loader.cycle("sync-events").succeeded());
        loader.succeedingCycle("sync-fine");

        Http.Response ready = Http.get(port, "/observe/health/ready");
        assertEquals(200, ready.status(), "readiness is reachability, and both databases answer:\n" + ready.body());
        assertTrue(ready.body().contains("1 table(s) failing") && ready.body().contains("sync-events: 2 cycle(s) in a row since")
                && ready.body().contains("not enough space"), "which table, how often, since when and why:\n" + ready.body());
        assertFalse(ready.body().contains("sync-fine:"), ready.body());
        Http.Response withData = Http.get(port, "/observe/health/ready?data=true");
        assertTrue(withData.body().contains("\"failing.sync-events\"") && withData.body().contains("PostgreSQL at 127.0.0.1:")
                && withData.body().contains("database " + loader.database), "full names the databases:\n" + withData.body());

        loader.ch("DROP VIEW refuse_inserts");
        loader.succeedingCycle("sync-events");
        Http.Response recovered = Http.get(port, "/observe/health/ready");
        assertTrue(recovered.body().contains("every table's last cycle succeeded"), recovered.body());
    }

    @Test
    void a_down_answer_names_the_reason_in_json_escaped_once() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", TEST_DRIVEN_CRON));
        int port = Http.freePort();
        loader.startScheduled(Map.of("HTTP_PORT", Integer.toString(port), "POSTGRES_DB", "no_such_db",
                "HEALTH_DETAILS", "full"));

        Http.Response notReady = Http.get(port, "/observe/health/ready");

        assertEquals(503, notReady.status(), notReady.body());
        assertTrue(notReady.body().contains("FATAL: database 'no_such_db' does not exist\""), notReady.body());
        assertFalse(notReady.body().contains("\\"), "no escaped escapes:\n" + notReady.body());
    }

    @Test
    void metrics_count_rows_per_table_and_stream_cycles_failures_time_since_success_and_watermark_lag() throws Exception {
        // timestamp columns written in Tokyo wall-clock time: the lag must be computed in POSTGRES_TIMEZONE
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", TEST_DRIVEN_CRON)
                        + LoaderFixture.templatedRoute("sync-ghost", "table", "no_such_table", "cron", TEST_DRIVEN_CRON));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO events SELECT g, (now() AT TIME ZONE 'Asia/Tokyo') - interval '1 hour' - g * interval '1 second'"
                        + " FROM generate_series(1, 20) g");
        int port = Http.freePort();
        loader.startScheduled(Map.of("HTTP_PORT", Integer.toString(port), "POSTGRES_TIMEZONE", "Asia/Tokyo"));

        String before = scrape(port);
        assertEquals(0.0, Http.sample(before, "pgch_rows_synced_total", "route", "sync-events", "table", "public.events",
                "stream", "created"), "every series exists from the start:\n" + before);
        assertEquals(0.0, Http.sample(before, "pgch_cycle_failures_total", "route", "sync-ghost", "table", "public.no_such_table"));
        assertNull(Http.sample(before, "pgch_watermark_lag_seconds", "route", "sync-events"), "no lag before a watermark is known");
        assertEquals(365 * 86400.0, Http.sample(before, "pgch_schedule_interval_seconds", "route", "sync-events"),
                "from the cron: New Year 2098 to New Year 2099");
        assertEquals(1.0, Http.sample(before, "pgch_table_active", "route", "sync-events"));

        assertTrue(loader.cycle("sync-events").succeeded());
        loader.pg("INSERT INTO events SELECT g, (now() AT TIME ZONE 'Asia/Tokyo') - interval '50 minutes'"
                        + " FROM generate_series(21, 25) g",
                "UPDATE events SET updated_at = (now() AT TIME ZONE 'Asia/Tokyo') - interval '30 minutes' WHERE id IN (1, 2, 3)");
        assertTrue(loader.cycle("sync-events").succeeded());
        assertFalse(loader.cycle("sync-ghost").succeeded());

        String after = scrape(port);
        assertEquals(25, loader.chLong("SELECT count() FROM events FINAL"));
        assertEquals(25.0, Http.sample(after, "pgch_rows_synced_total", "route", "sync-events", "stream", "created"),
                "20 rows, then 5:\n" + after);
        assertEquals(3.0, Http.sample(after, "pgch_rows_synced_total", "route", "sync-events", "stream", "updated"));
        assertEquals(2.0, Http.sample(after, "pgch_cycle_duration_seconds_count", "route", "sync-events", "outcome", "success"));
        assertEquals(0.0, Http.sample(after, "pgch_cycle_duration_seconds_count", "route", "sync-events", "outcome", "failure"));
        assertEquals(1.0, Http.sample(after, "pgch_cycle_duration_seconds_count", "route", "sync-ghost", "outcome", "failure"));
        assertTrue(Http.sample(after, "pgch_cycle_duration_seconds_sum", "route", "sync-events", "outcome", "success") > 0);
        assertEquals(0.0, Http.sample(after, "pgch_cycle_failures_total", "route", "sync-events"));
        assertEquals(1.0, Http.sample(after, "pgch_cycle_failures_total", "route", "sync-ghost"));

        Double sinceSuccess = Http.sample(after, "pgch_seconds_since_last_success", "route", "sync-events");
        assertNotNull(sinceSuccess, after);
        assertTrue(sinceSuccess >= 0 && sinceSuccess < 30, "just synced: " + sinceSuccess);
        Double ghostSince = Http.sample(after, "pgch_seconds_since_last_success", "route", "sync-ghost");
        assertNotNull(ghostSince, "a table that never succeeded counts from the start:\n" + after);
        assertTrue(ghostSince >= sinceSuccess, ghostSince + " vs " + sinceSuccess);

        // the newest watermark is the updated stream's, 30 minutes ago in Tokyo, whatever the JVM's zone
        Double lag = Http.sample(after, "pgch_watermark_lag_seconds", "route", "sync-events", "table", "public.events");
        assertNotNull(lag, after);
        assertTrue(lag > 1795 && lag < 1900, "lag " + lag + " s, expected about 1800");
        assertNull(Http.sample(after, "pgch_watermark_lag_seconds", "route", "sync-ghost"), "the ghost never had a watermark");

        // Camel's own series and the JVM's are there too
        assertTrue(after.contains("jvm_memory_used_bytes"), after);

        // the shipped dashboard and alert rules use only series the loader exports (the CDC ones: CdcTest)
        for (Path file : List.of(Path.of("ops", "grafana-dashboard.json"), Path.of("ops", "prometheus-alerts.yml"))) {
            Matcher series = Pattern.compile("\\bpgch_(?!cdc_)[a-z_]+").matcher(Files.readString(file));
            while (series.find()) {
                assertTrue(after.contains("\n" + series.group() + "{"), file + " uses " + series.group()
                        + ", which the loader does not export");
            }
        }
    }

    @Test
    void http_host_keeps_health_and_metrics_to_the_address_it_names() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", TEST_DRIVEN_CRON));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)");
        int port = Http.freePort();
        loader.startScheduled(Map.of("HTTP_PORT", Integer.toString(port), "HTTP_HOST", "127.0.0.1"));

        assertEquals(200, Http.get(port, "/observe/health/live").status());
        // another loopback address of this very machine: nothing listens there
        assertThrows(ConnectException.class, () -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.2", port), 2000);
            }
        });
    }

    @Test
    void an_http_port_taken_by_another_program_stops_the_loader_with_exit_code_2_naming_http_port() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", TEST_DRIVEN_CRON));
        try (ServerSocket taken = new ServerSocket(0)) {
            Map<String, String> env = loader.environment();
            env.put("HTTP_PORT", Integer.toString(taken.getLocalPort()));
            process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), env);
            int exit = process.awaitExit(Duration.ofSeconds(30));

            String output = process.output();
            assertEquals(2, exit, output);
            assertEquals(1, process.errorLines().size(), output);
            assertTrue(process.errorLines().get(0).contains("HTTP_PORT " + taken.getLocalPort()), output);
        }
    }

    private static String scrape(int port) throws Exception {
        Http.Response response = Http.get(port, "/observe/metrics");
        assertEquals(200, response.status(), response.body());
        return response.body();
    }
}
