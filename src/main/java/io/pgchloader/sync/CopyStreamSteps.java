package io.pgchloader.sync;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.camel.Body;
import org.apache.camel.Variable;

/**
 * The Java steps of the {@code copy-stream} route. {@link #batches} groups the PostgreSQL row stream
 * into lists of {@code batchSize} rows for the split, so each exchange carries one ClickHouse insert.
 * Lazy: only the batch being built is in memory, however large the table.
 */
public class CopyStreamSteps {

    /** Points the cycle at the stream this copy is for (variable {@code stream}: created or updated). */
    public void startStream(@Variable("stream") String stream, @Variable("cycle") SyncCycle cycle) {
        cycle.startStream(stream);
    }

    public Iterator<List<Object>> batches(@Body Iterator<?> rows, @Variable("cycle") SyncCycle cycle) {
        if (rows == null) {
            return Collections.emptyIterator();
        }
        int size = cycle.getBatchSize();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public List<Object> next() {
                if (!rows.hasNext()) {
                    throw new NoSuchElementException();
                }
                List<Object> batch = new ArrayList<>(size);
                try {
                    while (batch.size() < size && rows.hasNext()) {
                        batch.add(rows.next());
                    }
                } catch (SyncException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // A cursor that broke cannot be resumed: retrying the split would only see it closed and
                    // end the stream early. Fail the cycle; the next one resumes from ClickHouse.
                    throw new SyncException("reading PostgreSQL failed mid-stream after " + cycle.streamRowsSoFar()
                            + " rows: " + TableSync.describe(e), e);
                }
                return batch;
            }
        };
    }

    /** Called after ClickHouse accepted a batch. */
    public void inserted(@Body List<?> batch, @Variable("cycle") SyncCycle cycle) {
        cycle.batchInserted(batch);
    }
}
