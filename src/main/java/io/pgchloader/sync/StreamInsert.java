package io.pgchloader.sync;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.insert.InsertResponse;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.data.ClickHouseFormat;
import com.clickhouse.jdbc.ConnectionImpl;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * One stream's rows on their way into ClickHouse: the RowBinaryWithNamesAndTypes bytes of consecutive
 * batches, sent as one INSERT once they reach {@code insertRows} rows (or {@link #MAX_BYTES}), and always
 * with the stream's last batch.
 *
 * <p>Why join batches: every INSERT becomes a part that ClickHouse writes and later merges; a 5000-row
 * INSERT costs ClickHouse about as much CPU as the loader spends on those rows (README, Measured).
 * Joining keeps the route's 5000-row exchanges and their error handling, and sends fewer, larger parts.
 * Safety is unchanged: INSERTs still go one after another in stream order, so ClickHouse holds a prefix
 * of the stream, and rows count as shipped only once their INSERT succeeded.
 */
final class StreamInsert {

    /** Bytes at which a joined INSERT goes regardless of rows, to keep the heap flat whatever the row width. */
    static final int MAX_BYTES = 32 << 20;

    private final SyncCycle cycle;
    private final RowBinaryInsert.Layout layout;
    private final int insertRows;
    private final RowBinary.Buffer buffer = new RowBinary.Buffer();
    private SyncCycle.Tally waiting = new SyncCycle.Tally();
    /** Where the current batch began, to take it back out when its INSERT fails and Camel retries it. */
    private int batchStartBytes;
    private SyncCycle.Tally batchStartTally;

    StreamInsert(SyncCycle cycle, RowBinaryInsert.Layout layout, int insertRows) {
        this.cycle = cycle;
        this.layout = layout;
        this.insertRows = Math.max(1, insertRows);
    }

    RowBinaryInsert.Layout layout() {
        return layout;
    }

    /** Rows added but not yet in ClickHouse. */
    long waitingRows() {
        return waiting.rows();
    }

    void beginBatch() {
        if (waiting.rows() == 0) {
            buffer.clear();
            layout.writeHeader(buffer);
        }
        batchStartBytes = buffer.size();
        batchStartTally = waiting.copy();
    }

    void add(Object[] row) {
        layout.writeRow(buffer, row);
        cycle.tally(row, waiting);
    }

    /**
     * Ends a batch: sends everything waiting when it is enough, or when this batch is the stream's last.
     * If the INSERT fails, this batch is taken back out (Camel retries it) and the batches before it wait.
     */
    void endBatch(Connection clickHouse, boolean lastOfStream) throws SQLException {
        waiting.batches++;
        if (!lastOfStream && waiting.rows() < insertRows && buffer.size() < MAX_BYTES) {
            return;
        }
        try {
            send(clickHouse);
        } catch (SQLException | RuntimeException e) {
            buffer.truncate(batchStartBytes);
            waiting = batchStartTally;
            throw e;
        }
        cycle.shipped(waiting);
        waiting = new SyncCycle.Tally();
    }

    private void send(Connection clickHouse) throws SQLException {
        Client client = clickHouse.unwrap(ConnectionImpl.class).getClient();
        InsertSettings settings = new InsertSettings()
                // map columns by the header's names and check its types, whatever the server's defaults
                .serverSetting("input_format_with_names_use_header", "1")
                .serverSetting("input_format_with_types_use_header", "1");
        List<String> columns = layout.names().stream().map(Identifiers::ch).toList();
        try (InsertResponse response = client.insert(layout.table(), columns,
                out -> out.write(buffer.bytes(), 0, buffer.size()), ClickHouseFormat.RowBinaryWithNamesAndTypes, settings).get()) {
            // nothing to read: the INSERT succeeded
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new SQLException(cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while inserting into " + layout.table(), e);
        }
    }
}
