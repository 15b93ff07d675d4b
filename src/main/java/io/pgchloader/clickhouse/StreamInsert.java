package io.pgchloader.clickhouse;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.DataStreamWriter;
import com.clickhouse.client.api.insert.InsertResponse;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.data.ClickHouseFormat;
import com.clickhouse.jdbc.ConnectionImpl;
import io.pgchloader.common.Identifiers;
import io.pgchloader.postgres.SourceRow;
import java.io.IOException;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * One stream's rows on their way into ClickHouse: consecutive batches go into one streaming
 * {@code INSERT ... FORMAT RowBinaryWithNamesAndTypes} while they are encoded, and the INSERT is
 * completed once it holds {@code insertRows} rows (or {@link #MAX_BYTES}), and always with the stream's
 * last batch.
 *
 * <p>Why join batches: every INSERT becomes a part that ClickHouse writes and later merges; a 5000-row
 * INSERT costs ClickHouse about as much CPU as the loader spends on those rows (docs/performance.md). Why
 * stream: ClickHouse parses a batch while the next one is read and encoded, instead of the loader
 * waiting for it. The route keeps its 5000-row exchanges and their error handling.
 *
 * <p>Safety is unchanged: INSERTs go one after another in stream order, so ClickHouse holds a prefix of
 * the stream, and rows count as shipped only once their INSERT succeeded. The bytes of the open INSERT
 * are kept until then: when it fails, the batch that saw the failure is taken back out (Camel retries
 * it) and the batches before it are sent again, in a new INSERT, ahead of it.
 */
public final class StreamInsert {

    /**
     * Bytes at which a joined INSERT ends regardless of rows, to keep the heap flat whatever the row width; the
     * CDC stream writes its pending changes at this size too.
     */
    public static final int MAX_BYTES = 32 << 20;

    private static final byte[] END = new byte[0];

    /** Threads that carry the open INSERTs' HTTP requests; daemon threads, gone when idle for a minute. */
    private static final ExecutorService SENDERS = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "clickhouse-insert");
        thread.setDaemon(true);
        return thread;
    });

    private final RowCounts counts;
    private final RowBinaryInsert.Layout layout;
    private final int insertRows;
    /** The batches of the open (or failed) INSERT, in order. */
    private final List<byte[]> retained = new ArrayList<>();
    private long retainedBytes;
    private RowCounts.Count waiting;
    private Sending sending;

    public StreamInsert(RowCounts counts, RowBinaryInsert.Layout layout, int insertRows) {
        this.counts = counts;
        this.waiting = counts.newCount();
        this.layout = layout;
        this.insertRows = Math.max(1, insertRows);
    }

    RowBinaryInsert.Layout layout() {
        return layout;
    }

    /** Rows added but not yet in ClickHouse. */
    public long waitingRows() {
        return waiting.rows();
    }

    /**
     * Encodes rows into {@link RowBinaryInsert.Batch}es, on the stream's reading thread: a waiting batch is
     * then one byte array instead of thousands of row objects, which kept the garbage collector busy
     * copying them (GC logs, docs/performance.md).
     */
    public final class BatchWriter {
        private final RowBinary.Buffer buffer = new RowBinary.Buffer();
        private SourceRow.Shape shape;
        private RowBinary.Encoder[] encoders;
        private RowCounts.Count tally = counts.newCount();
        private int rows;

        public void add(SourceRow row) {
            if (row.shape() != shape) {
                // once per stream: every row of a result shares its shape
                shape = row.shape();
                encoders = layout.encodersFor(shape);
            }
            layout.writeRow(buffer, encoders, row);
            tally.count(row);
            rows++;
        }

        public int rows() {
            return rows;
        }

        /** Bytes encoded since the last {@link #finish}. */
        public int bytes() {
            return buffer.size();
        }

        public RowBinaryInsert.Batch finish(boolean lastOfStream) {
            RowBinaryInsert.Batch batch = new RowBinaryInsert.Batch(StreamInsert.this,
                    Arrays.copyOf(buffer.bytes(), buffer.size()), rows, tally, lastOfStream);
            buffer.clear();
            tally = counts.newCount();
            rows = 0;
            return batch;
        }
    }

    public BatchWriter batchWriter() {
        return new BatchWriter();
    }

    /**
     * Streams a batch into the open INSERT (opening one, and sending again what a failed one held), and
     * completes the INSERT when it is large enough or this batch is the stream's last. A batch that fails
     * leaves the counts as they were: Camel retries it whole.
     */
    void insert(Connection clickHouse, RowBinaryInsert.Batch batch) throws SQLException {
        RowCounts.Count before = waiting.copy();
        waiting.add(batch.tally());
        endBatch(clickHouse, batch.bytes(), batch.lastOfStream(), before);
    }

    /** The encoded batch into the INSERT; on failure, the counts go back to {@code batchStartTally}. */
    private void endBatch(Connection clickHouse, byte[] chunk, boolean lastOfStream, RowCounts.Count batchStartTally)
            throws SQLException {
        waiting.batch();
        boolean kept = false;
        try {
            if (sending == null) {
                sending = new Sending(clickHouse.unwrap(ConnectionImpl.class).getClient());
                for (byte[] earlier : retained) {
                    sending.push(earlier);
                }
            }
            sending.push(chunk);
            retained.add(chunk);
            retainedBytes += chunk.length;
            kept = true;
            if (lastOfStream || waiting.rows() >= insertRows || retainedBytes >= MAX_BYTES) {
                Sending done = sending;
                sending = null;
                done.complete();
                retained.clear();
                retainedBytes = 0;
                counts.shipped(waiting);
                waiting = counts.newCount();
            }
        } catch (SQLException | RuntimeException e) {
            if (sending != null) {
                sending.abort();
                sending = null;
            }
            if (kept) {
                retained.remove(retained.size() - 1);
                retainedBytes -= chunk.length;
            }
            waiting = batchStartTally;
            throw e;
        }
    }

    /** Ends an INSERT still open when the stream stops early (a failure elsewhere); its rows are not counted. */
    public void abandon() {
        if (sending != null) {
            sending.abort();
            sending = null;
        }
    }

    /** One INSERT in flight: its request runs on a sender thread and takes batches from a short queue. */
    private final class Sending {
        private final BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(4);
        private final CountDownLatch finished = new CountDownLatch(1);
        private final Future<?> request;
        private volatile boolean aborted;
        private volatile Thread worker;

        Sending(Client client) {
            InsertSettings settings = new InsertSettings()
                    // map columns by the header's names and check its types, whatever the server's defaults
                    .serverSetting("input_format_with_names_use_header", "1")
                    .serverSetting("input_format_with_types_use_header", "1")
                    // no ReplacingMergeTree merge of each inserted block: a stream's INSERT never holds a key
                    // twice, and merges and FINAL keep the latest version anyway; it cost ClickHouse about a
                    // quarter of the backfill's time (docs/performance.md)
                    .serverSetting("optimize_on_insert", "0");
            List<String> columns = layout.names().stream().map(Identifiers::ch).toList();
            DataStreamWriter body = new DataStreamWriter() {
                /** The batches this request has taken so far: the whole body again when the client retries. */
                private final List<byte[]> taken = new ArrayList<>();
                private boolean ended;

                @Override
                public void onOutput(OutputStream out) throws IOException {
                    RowBinary.Buffer header = new RowBinary.Buffer();
                    layout.writeHeader(header);
                    out.write(header.bytes(), 0, header.size());
                    // after a retry: what the failed attempt sent (the same arrays the stream retains anyway)
                    for (byte[] chunk : taken) {
                        out.write(chunk);
                    }
                    try {
                        while (!ended) {
                            byte[] chunk = queue.take();
                            if (chunk == END) {
                                ended = true;
                            } else {
                                taken.add(chunk);
                                out.write(chunk);
                            }
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("INSERT abandoned", e);
                    }
                }

                @Override
                public void onRetry() {
                    // The client retries a request whose connection failed (a pooled connection the server
                    // closed when it restarted, a refused connect): onOutput sends the whole body again. An
                    // attempt that reached ClickHouse wrote nothing, or rows the target holds once per key.
                }
            };
            request = SENDERS.submit(() -> {
                worker = Thread.currentThread();
                try {
                    if (aborted) {
                        return null;
                    }
                    try (InsertResponse response = client.insert(layout.table(), columns, body,
                            ClickHouseFormat.RowBinaryWithNamesAndTypes, settings).get()) {
                        return null;
                    }
                } finally {
                    worker = null;
                    // an abort's interrupt must not follow this pooled thread into its next INSERT
                    Thread.interrupted();
                    finished.countDown();
                }
            });
        }

        void push(byte[] chunk) throws SQLException {
            try {
                while (!queue.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
                    if (request.isDone()) {
                        complete();
                        throw new SQLException("the INSERT into " + layout.table() + " ended before all rows were sent");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while inserting into " + layout.table(), e);
            }
        }

        /** Ends the INSERT's body and waits for ClickHouse's answer. */
        void complete() throws SQLException {
            try {
                if (!request.isDone()) {
                    while (!queue.offer(END, 100, TimeUnit.MILLISECONDS)) {
                        if (request.isDone()) {
                            break;
                        }
                    }
                }
                request.get();
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                if (cause instanceof ExecutionException wrapped && wrapped.getCause() != null) {
                    cause = wrapped.getCause();
                }
                throw new SQLException(cause.getMessage(), cause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while inserting into " + layout.table(), e);
            }
        }

        /**
         * Stops the request without completing its body (ClickHouse then writes none of it), and waits,
         * bounded, for its thread to let go.
         */
        void abort() {
            aborted = true;
            Thread running = worker;
            if (running != null) {
                running.interrupt();
            }
            try {
                finished.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
