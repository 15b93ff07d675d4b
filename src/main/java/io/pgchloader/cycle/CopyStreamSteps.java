package io.pgchloader.cycle;

import io.pgchloader.clickhouse.RowBinary;
import io.pgchloader.clickhouse.RowBinaryInsert;
import java.sql.SQLException;
import java.util.Collections;
import java.util.Iterator;
import java.util.concurrent.ExecutorService;
import org.apache.camel.Body;
import org.apache.camel.CamelContext;
import org.apache.camel.Variable;

/**
 * The Java steps of the {@code copy-stream} route. {@link #batches} groups the PostgreSQL row stream
 * into batches of {@code batchSize} rows for the split, so each exchange carries one ClickHouse insert,
 * read and encoded a few batches ahead (see {@link ReadAhead}). Lazy: however large the table, only those few
 * batches are in memory.
 */
public class CopyStreamSteps {

    /**
     * Batches read ahead of the insert: enough for PostgreSQL to go on sending while ClickHouse takes a
     * joined INSERT (2 left the reader idle for part of each INSERT; 8 = 40,000 rows by default, about
     * 3 MB of RowBinary for an 11-column row), few enough to keep memory flat. 3 was no faster (A/B, 2M rows).
     */
    static final int READ_AHEAD_BATCHES = 8;

    private ExecutorService readers;

    /** Points the cycle at the stream this copy is for (variable {@code stream}: created or updated). */
    public void startStream(@Variable("stream") String stream, @Variable("cycle") SyncCycle cycle) throws SQLException {
        cycle.startStream(stream);
    }

    public Iterator<RowBinaryInsert.Batch> batches(@Body Iterator<?> rows, @Variable("cycle") SyncCycle cycle, CamelContext camelContext) {
        if (rows == null) {
            return Collections.emptyIterator();
        }
        ReadAhead batches = new ReadAhead(rows, cycle, READ_AHEAD_BATCHES, readers(camelContext));
        cycle.readingFrom(batches);
        return batches;
    }

    /**
     * After the split: a stream that ended with rows still waiting for their INSERT must not pass for done;
     * one that is done moves its watermark limit (see {@link WatermarkLimits}).
     */
    public void endStream(@Variable("cycle") SyncCycle cycle) throws SQLException {
        if (cycle.rowsWaiting() > 0) {
            throw new IllegalStateException(cycle.tableName() + ": the stream ended with " + cycle.rowsWaiting()
                    + " rows not sent to ClickHouse");
        }
        cycle.streamDone();
    }

    private synchronized ExecutorService readers(CamelContext camelContext) {
        if (readers == null) {
            // one thread per stream being copied at the moment; Camel shuts them down with the context
            readers = camelContext.getExecutorServiceManager().newCachedThreadPool(this, "read-ahead");
        }
        return readers;
    }
}
