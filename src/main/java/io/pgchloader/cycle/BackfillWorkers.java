package io.pgchloader.cycle;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads of one table's backfill split: {@code backfillParallelism} of them, so that many key ranges
 * are copied at once and the others wait their turn (a resumed backfill can have more ranges than the
 * parameter says now). A local bean of the route template, one per table. The threads exist only while a
 * backfill runs (they end after a minute idle) and never keep the JVM alive.
 */
public final class BackfillWorkers extends ThreadPoolExecutor {

    private static final AtomicInteger TABLES = new AtomicInteger();

    public BackfillWorkers(int parallelism) {
        super(parallelism, parallelism, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), threads());
        allowCoreThreadTimeOut(true);
    }

    private static ThreadFactory threads() {
        int table = TABLES.incrementAndGet();
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, "backfill-" + table + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
