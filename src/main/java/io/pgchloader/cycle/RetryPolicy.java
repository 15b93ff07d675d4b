package io.pgchloader.cycle;

import io.pgchloader.common.SyncException;
import org.apache.camel.Exchange;
import org.apache.camel.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether a failed step of a stream is tried again (the error handler's {@code retryWhile}):
 * yes for failures a database can recover from (a connection lost, a server restarting, a table briefly
 * unavailable), up to the configured number of attempts; never for a {@link SyncException}, which says
 * the data or the configuration is wrong and would fail the same way again.
 *
 * <p>Retrying an insert is safe: the batch is the same rows, and the target keeps one version per key.
 */
public class RetryPolicy implements Predicate {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.sync");

    private final int maxAttempts;

    public RetryPolicy(int maxAttempts) {
        this.maxAttempts = maxAttempts;
    }

    @Override
    public boolean matches(Exchange exchange) {
        // asked after each failure; the counter then holds the number of the attempt that just failed
        int failedAttempt = exchange.getMessage().getHeader(Exchange.REDELIVERY_COUNTER, 1, Integer.class);
        if (failedAttempt > maxAttempts) {
            return false;
        }
        Throwable error = exchange.getException();
        if (error == null) {
            error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        }
        for (Throwable t = error; t != null; t = t.getCause()) {
            // ours (data or configuration), or the driver refusing a value before sending anything
            // and a row too large for the heap is no outage: it would fail the same way again
            if (t instanceof SyncException || t instanceof IllegalArgumentException || t instanceof ClassCastException
                    || t instanceof VirtualMachineError) {
                return false;
            }
        }
        SyncCycle cycle = exchange.getVariable("cycle", SyncCycle.class);
        LOG.warn("{}: attempt {} of {} failed, trying again: {}", cycle == null ? "?" : cycle.tableName(), failedAttempt,
                maxAttempts + 1, TableSync.describe(error));
        return true;
    }
}
