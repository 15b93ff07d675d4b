package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.support.TcpProxy;
import io.pgchloader.support.TestDatabases;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A database that goes away in the middle of a cycle: inserts are retried with backoff, a cycle that
 * cannot finish fails cleanly, and the next one catches up with nothing lost or duplicated.
 */
class OutageTest extends LoaderTestBase {


    private void events(int rows, Map<String, String> settings) throws Exception {
        events(rows, 1000, settings);
    }

    private void events(int rows, int insertRows, Map<String, String> settings) throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("events.yaml", LoaderFixture.templatedRoute("sync-events",
                "table", "events", "batchSize", "1000", "insertRows", Integer.toString(insertRows)));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, payload text, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO events SELECT g, repeat('x', 200), timestamp '2024-01-01' + g * interval '1 millisecond'"
                        + " FROM generate_series(1, " + rows + ") g");
        loader.start(settings);
    }

    @Test
    void retries_an_insert_while_clickhouse_is_unavailable_and_finishes_the_cycle() throws Exception {
        retriesWhileClickHouseIsUnavailable(1000);
    }

    @Test
    void a_failed_insert_of_joined_batches_is_sent_again_whole_and_counted_once() throws Exception {
        retriesWhileClickHouseIsUnavailable(5000);
    }

    private void retriesWhileClickHouseIsUnavailable(int insertRows) throws Exception {
        events(60_000, insertRows, Map.of("RETRY_MAX_ATTEMPTS", "8", "RETRY_INITIAL_DELAY_MS", "200", "RETRY_MAX_DELAY_MS", "1000"));
        assertTrue(loader.cycle("sync-events").succeeded());
        loader.pg("UPDATE events SET payload = 'changed', updated_at = localtimestamp WHERE id % 2 = 0");
        AtomicBoolean cycleDone = new AtomicBoolean();
        // once the updated stream is inserting, the target disappears for a second and a half
        CompletableFuture<Boolean> outage = CompletableFuture.supplyAsync(() -> {
            // one open connection and a query that stops at the first row: a poll of a few milliseconds, well
            // inside the stream's INSERTs (a new connection per poll could miss them all on a quick machine)
            try (Connection c = loader.clickHouse(); Statement poll = c.createStatement()) {
                while (!poll.executeQuery("SELECT 1 FROM events WHERE payload = 'changed' LIMIT 1").next()) {
                    TimeUnit.MILLISECONDS.sleep(2);
                }
                poll.execute("DETACH TABLE events");
                boolean duringCycle = !cycleDone.get();
                TimeUnit.MILLISECONDS.sleep(1500);
                poll.execute("ATTACH TABLE events");
                return duringCycle;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });

        SyncStatus.Outcome outcome = loader.cycle("sync-events");
        cycleDone.set(true);

        assertTrue(outage.get(10, TimeUnit.SECONDS), "the table was detached only after the cycle ended");
        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(30_000, outcome.rowsUpdated());
        assertEquals(30_000, loader.chLong("SELECT count() FROM events FINAL WHERE payload = 'changed'"));
        assertEquals(60_000, loader.chLong("SELECT count() FROM events FINAL"));
    }

    @Test
    void survives_a_clickhouse_outage_of_a_few_seconds_mid_stream_within_the_same_cycle() throws Exception {
        try (TcpProxy path = new TcpProxy(TestDatabases.servers().clickHouseHost(), TestDatabases.servers().clickHousePort())) {
            events(100_000, 5000, Map.of("CLICKHOUSE_PORT", Integer.toString(path.port()),
                    "RETRY_MAX_ATTEMPTS", "10", "RETRY_INITIAL_DELAY_MS", "200", "RETRY_MAX_DELAY_MS", "1000"));
            CompletableFuture<Long> outage = CompletableFuture.supplyAsync(() -> {
                try {
                    // once the backfill is inserting, the network path to ClickHouse goes for three seconds
                    long before;
                    while ((before = loader.chLong("SELECT count() FROM system.tables WHERE database = currentDatabase()"
                            + " AND name = 'events'") == 0 ? 0 : loader.chLong("SELECT count() FROM events")) == 0) {
                        TimeUnit.MILLISECONDS.sleep(2);
                    }
                    path.cut();
                    TimeUnit.SECONDS.sleep(3);
                    path.restore();
                    return before;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });

            SyncStatus.Outcome outcome = loader.cycle("sync-events");

            long rowsBeforeTheOutage = outage.get(30, TimeUnit.SECONDS);
            assertTrue(rowsBeforeTheOutage < 100_000, "the outage came before the cycle ended: " + rowsBeforeTheOutage);
            assertTrue(outcome.succeeded(), outcome.message());
            assertEquals(100_000, outcome.rowsCreated());
            assertEquals(100_000, loader.chLong("SELECT count() FROM events FINAL"));
        }
    }

    @Test
    void fails_the_cycle_cleanly_when_retries_run_out_and_catches_up_next_time() throws Exception {
        events(5_000, Map.of("RETRY_MAX_ATTEMPTS", "2", "RETRY_INITIAL_DELAY_MS", "100", "RETRY_MAX_DELAY_MS", "200"));
        assertTrue(loader.cycle("sync-events").succeeded());
        loader.pg("INSERT INTO events SELECT g, 'new', localtimestamp FROM generate_series(5001, 8000) g");
        loader.ch("DETACH TABLE events");

        SyncStatus.Outcome failed = loader.cycle("sync-events");

        assertFalse(failed.succeeded());
        assertTrue(failed.message().contains("cycle failed"), failed.message());
        loader.ch("ATTACH TABLE events");
        SyncStatus.Outcome next = loader.cycle("sync-events");
        assertTrue(next.succeeded(), next.message());
        assertEquals(8_000, loader.chLong("SELECT count() FROM events FINAL"));
        assertEquals(8_000, loader.chLong("SELECT uniqExact(id) FROM events FINAL"));
    }

    @Test
    void a_postgres_connection_lost_mid_stream_fails_the_cycle_and_the_next_one_catches_up() throws Exception {
        events(200_000, Map.of("RETRY_MAX_ATTEMPTS", "0"));
        CompletableFuture<Long> killer = CompletableFuture.supplyAsync(() -> {
            try {
                // once the stream is being inserted, cut the connection its cursor reads from: the loader's
                // only session inside a transaction (the others wait in the pool)
                while (loader.chLong("SELECT sum(rows) FROM system.parts WHERE database = currentDatabase() AND table = 'events'") == 0) {
                    TimeUnit.MILLISECONDS.sleep(2);
                }
                return loader.pgLong("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        + " WHERE application_name = 'pg-ch-loader' AND state IN ('active', 'idle in transaction')");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });

        SyncStatus.Outcome cut = loader.cycle("sync-events");
        assertEquals(1, killer.get(10, TimeUnit.SECONDS), "connections cut");
        SyncStatus.Outcome next = loader.cycle("sync-events");

        assertFalse(cut.succeeded(), "the cut stream must not pass for complete: " + cut.message());
        assertTrue(next.succeeded(), next.message());
        assertEquals(200_000, loader.chLong("SELECT count() FROM events FINAL"));
        assertEquals(loader.pgLong("SELECT sum(id) FROM events"), loader.chLong("SELECT sum(id) FROM events FINAL"));
    }
}
