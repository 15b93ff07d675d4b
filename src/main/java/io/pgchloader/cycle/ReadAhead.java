package io.pgchloader.cycle;

import io.pgchloader.clickhouse.RowBinary;
import io.pgchloader.clickhouse.RowBinaryInsert;
import io.pgchloader.clickhouse.StreamInsert;
import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.SourceRow;
import java.io.Closeable;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Groups the PostgreSQL row stream into batches on a thread of its own, a few batches ahead of the
 * insert, and encodes them as RowBinary there: PostgreSQL sends the next rows while ClickHouse takes the
 * last batch, instead of each waiting for the other, and the two halves of the loader's work run on
 * both cores. Batches still come out in stream order, one at a time, and the insert stays on the
 * route's thread, so ClickHouse still only ever holds a prefix of the stream.
 *
 * <p>Memory stays bounded: at most {@code depth} batches wait, one is being read and one inserted. The
 * splitter closes this iterator when the stream ends or fails; closing stops the reading thread and
 * waits for it, so the result set is never closed under a thread still reading it.
 */
final class ReadAhead implements Iterator<RowBinaryInsert.Batch>, Closeable {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.sync");
    private static final Object END = new Object();

    private record Failure(RuntimeException error) {
    }

    private final Iterator<?> rows;
    private final SyncCycle cycle;
    private final int batchSize;
    private final BlockingQueue<Object> ready;
    private final CountDownLatch readerDone = new CountDownLatch(1);
    private volatile boolean closed;
    private Object next;

    ReadAhead(Iterator<?> rows, SyncCycle cycle, int depth, ExecutorService readers) {
        this.rows = rows;
        this.cycle = cycle;
        this.batchSize = cycle.getBatchSize();
        this.ready = new ArrayBlockingQueue<>(depth);
        readers.execute(this::read);
    }

    /** Rows read so far, and the last of them; written by the reading thread only. */
    private long read;
    private SourceRow last;

    private void read() {
        try {
            StreamInsert.BatchWriter batch = cycle.streamInsert().batchWriter();
            while (!closed && rows.hasNext()) {
                while (batch.rows() < batchSize && rows.hasNext()) {
                    SourceRow row = (SourceRow) rows.next();
                    batch.add(row);
                    last = row;
                    read++;
                }
                // camel-sql's iterator has always read one row ahead, so it knows whether this batch ends the stream
                if (!hand(batch.finish(!rows.hasNext()))) {
                    return;
                }
            }
            hand(END);
        } catch (SyncException e) {
            hand(new Failure(e));
        } catch (RuntimeException e) {
            // A cursor that broke cannot be resumed: retrying the split would only see it closed and end the
            // stream early. Fail the cycle; the next one resumes from ClickHouse.
            hand(new Failure(outOfMemory(e) ? tooLarge(e) : new SyncException("reading PostgreSQL failed mid-stream after "
                    + read + " rows of " + cycle.tableName() + ": " + TableSync.describe(e), e)));
        } catch (OutOfMemoryError e) {
            // the batches in flight are gone with this thread's stack, so there is room to say why
            hand(new Failure(tooLarge(e)));
        } catch (Throwable e) {
            // whatever ends this thread must reach the cycle, or it would wait for batches forever
            hand(new Failure(new SyncException("reading " + cycle.tableName() + " failed after " + read + " rows: "
                    + TableSync.describe(e), e)));
        } finally {
            readerDone.countDown();
        }
    }

    /** The driver turns running out of heap while receiving a row into an exception of its own. */
    private static boolean outOfMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    private SyncException tooLarge(Throwable e) {
        return new SyncException(cycle.tableName() + ": a row does not fit the loader's heap ("
                + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MB): it comes "
                + (last == null ? "among the first rows" : "shortly after " + cycle.describeKey(last))
                + " in this stream's order (the driver reads a row ahead), after " + read + " rows. A row is held whole, several times over"
                + " while it is read and encoded: give the loader a heap (-Xmx, JAVA_OPTS) of about 5 times the largest text value"
                + " (10 times the largest bytea, which travels as hex), or leave its column out.", e);
    }

    /** Waits for room; false once the consumer closed (nobody will take it). */
    private boolean hand(Object item) {
        try {
            while (!closed) {
                if (ready.offer(item, 100, TimeUnit.MILLISECONDS)) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    @Override
    public boolean hasNext() {
        while (next == null) {
            try {
                next = ready.poll(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SyncException("interrupted while waiting for PostgreSQL rows", e);
            }
            if (next == null && readerDone.getCount() == 0 && ready.isEmpty()) {
                // the reader ended without a word (it could not even hand its failure over)
                next = END;
                throw new SyncException("reading " + cycle.tableName() + " stopped after " + read + " rows without an"
                        + " error it could report; the next cycle resumes from ClickHouse.");
            }
        }
        if (next instanceof Failure failure) {
            // reported once: the splitter asks again while it winds down
            next = END;
            throw failure.error();
        }
        return next != END;
    }

    @Override
    public RowBinaryInsert.Batch next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        RowBinaryInsert.Batch batch = (RowBinaryInsert.Batch) next;
        next = null;
        return batch;
    }

    /**
     * Stops the reading thread and waits for it (the splitter calls this when the stream ends or fails;
     * the cycle calls it again at its end, which is harmless).
     */
    @Override
    public void close() {
        closed = true;
        ready.clear();
        try {
            // the reader notices within one fetch of PostgreSQL; a database that hangs mid-fetch would hang the
            // cycle anyway, this only keeps the wait from being endless
            if (!readerDone.await(60, TimeUnit.SECONDS)) {
                LOG.warn("{}: the PostgreSQL reading thread did not stop within 60 s", cycle.tableName());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
