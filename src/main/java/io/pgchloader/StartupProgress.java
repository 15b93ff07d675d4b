package io.pgchloader;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.SimpleEventNotifierSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A line every few seconds while Camel reads and starts the table routes, and one when all run: with
 * thousands of templatedRoutes the start takes minutes, which without a word looks like a hang.
 */
final class StartupProgress extends SimpleEventNotifierSupport {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");
    static final Duration EVERY = Duration.ofSeconds(5);

    private final int tables;
    private final AtomicInteger defined = new AtomicInteger();
    private final AtomicInteger added = new AtomicInteger();
    private final AtomicInteger started = new AtomicInteger();
    private volatile long startNanos = System.nanoTime();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "startup-progress");
        thread.setDaemon(true);
        return thread;
    });

    /** @param tables the templatedRoutes found in ROUTES_DIR */
    StartupProgress(int tables) {
        this.tables = tables;
        // only route and context events: exchange events would cost every cycle's every message
        setIgnoreExchangeEvents(true);
        setIgnoreStepEvents(true);
        setIgnoreServiceEvents(true);
        setIgnoreCamelContextInitEvents(true);
    }

    /** When Camel begins to read the routes: from here on a line every {@link #EVERY}. */
    void begin() {
        startNanos = System.nanoTime();
        timer.scheduleAtFixedRate(this::report, EVERY.toMillis(), EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A templatedRoute became a route definition (Camel's first, and with thousands of tables longest, step). */
    void routeDefined() {
        defined.incrementAndGet();
    }

    private void report() {
        // the counts take in the loader's own copy-stream route too, hence the cap
        int built = Math.min(added.get(), tables);
        int running = Math.min(started.get(), tables);
        int made = Math.min(defined.get(), tables);
        if (made == 0) {
            LOG.info("Starting: reading the route files ({} table routes), {} s so far", count(tables), seconds());
        } else if (built == 0) {
            LOG.info("Starting: {} of {} table routes made from the template, {} s so far", count(made), count(tables),
                    seconds());
        } else if (running == 0) {
            LOG.info("Starting: {} of {} table routes built, {} s so far", count(built), count(tables), seconds());
        } else {
            LOG.info("Starting: {} of {} table routes started, {} s so far", count(running), count(tables), seconds());
        }
    }

    private static String count(int n) {
        return String.format("%,d", n);
    }

    private long seconds() {
        return Duration.ofNanos(System.nanoTime() - startNanos).toSeconds();
    }

    @Override
    public void notify(CamelEvent event) {
        switch (event.getType()) {
            case RouteAdded -> added.incrementAndGet();
            case RouteStarted -> started.incrementAndGet();
            case CamelContextStarted, CamelContextStartupFailure, CamelContextStopping -> {
                if (!timer.isShutdown()) {
                    timer.shutdownNow();
                    if (event.getType() == CamelEvent.Type.CamelContextStarted) {
                        double took = (System.nanoTime() - startNanos) / 1e9;
                        LOG.info("Started {} table route(s) in {} s ({} ms per table)", count(tables),
                                String.format("%.1f", took), String.format("%.1f", tables == 0 ? 0 : took * 1000 / tables));
                    }
                }
            }
            default -> {
            }
        }
    }
}
