package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Rows travel in exchanges of batchSize rows; consecutive exchanges of a stream are joined into INSERTs
 * of up to insertRows rows, and the stream's last exchange sends whatever waits.
 */
class BatchingTest extends LoaderTestBase {


    @Test
    void ships_12345_rows_in_batches_of_5000_5000_and_2345() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("events.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "insertRows", "5000"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, payload text, created_at timestamp NOT NULL, updated_at timestamp)");
        loader.start();
        // the first cycle creates the (still empty) target; freeze merges so every INSERT stays one part
        assertTrue(loader.cycle("sync-events").succeeded());
        loader.ch("SYSTEM STOP MERGES events");
        loader.pg("INSERT INTO events SELECT g, 'event ' || g, timestamp '2024-01-01' + g * interval '1 second'"
                + " FROM generate_series(1, 12345) g");

        SyncStatus.Outcome outcome = loader.cycle("sync-events");

        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(3, outcome.batches());
        assertEquals(12_345, outcome.rowsCreated());
        assertEquals(List.of("5000", "5000", "2345"),
                loader.chRows("SELECT rows FROM system.parts WHERE database = currentDatabase() AND table = 'events'"
                        + " AND active ORDER BY min_block_number"));
    }

    @Test
    void honours_the_batch_size_parameter() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("events.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "batchSize", "1000"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO events SELECT g, timestamp '2024-01-01' + g * interval '1 second' FROM generate_series(1, 4500) g");
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-events");

        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(5, outcome.batches());
        assertEquals(4_500, loader.chLong("SELECT count() FROM events FINAL"));
    }

    @Test
    void joins_consecutive_batches_into_inserts_of_insert_rows_and_sends_the_rest_with_the_last() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("events.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "batchSize", "1000", "insertRows", "3000"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)");
        loader.start();
        assertTrue(loader.cycle("sync-events").succeeded());
        loader.ch("SYSTEM STOP MERGES events");
        loader.pg("INSERT INTO events SELECT g, timestamp '2024-01-01' + g * interval '1 second' FROM generate_series(1, 7500) g");

        SyncStatus.Outcome outcome = loader.cycle("sync-events");

        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(8, outcome.batches());
        assertEquals(7_500, outcome.rowsCreated());
        assertEquals(List.of("3000", "3000", "1500"),
                loader.chRows("SELECT rows FROM system.parts WHERE database = currentDatabase() AND table = 'events'"
                        + " AND active ORDER BY min_block_number"));
    }
}
