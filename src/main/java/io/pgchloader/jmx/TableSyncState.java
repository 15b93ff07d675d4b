package io.pgchloader.jmx;

import io.pgchloader.cycle.Reconciler;
import io.pgchloader.cycle.SyncCycle;
import io.pgchloader.postgres.WriteHorizon;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** What JMX shows of one table route, updated at the end of every cycle. Thread-safe. */
final class TableSyncState implements TableSyncMBean {

    private static final DateTimeFormatter WATERMARK = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    private final Clock clock;
    private String table;
    private Instant lastStart;
    private Instant lastEnd;
    private double lastSeconds;
    private Boolean lastSucceeded;
    private String lastError;
    private Instant lastErrorTime;
    private long rowsCreatedLast;
    private Instant lastReconciliation;
    private String lastReconciliationSummary = "";
    private long rowsTombstonedTotal;
    private long rowsRepairedTotal;
    private long rowsUpdatedLast;
    private long rowsCreatedTotal;
    private long rowsUpdatedTotal;
    private Instant createdMark;
    private Instant updatedMark;
    private Instant newestWatermark;
    /** Local time before which every row is in ClickHouse, per the last successful cycle's horizon. */
    private Instant caughtUpTo;
    private long cycles;
    private long failedCycles;

    TableSyncState(String table, Clock clock) {
        this.table = table;
        this.clock = clock;
    }

    /**
     * @param error the failed cycle's message (already masked), or null for a successful one
     * @param cycle what the cycle shipped; null when it failed before reading the watermark
     */
    synchronized void cycleEnded(String table, boolean succeeded, Duration took, SyncCycle cycle, String error) {
        Instant end = clock.instant();
        this.table = table;
        lastEnd = end;
        lastStart = end.minus(took);
        lastSeconds = took.toMillis() / 1000.0;
        lastSucceeded = succeeded;
        cycles++;
        if (!succeeded) {
            failedCycles++;
            lastError = error;
            lastErrorTime = end;
        }
        rowsCreatedLast = cycle == null ? 0 : cycle.rowsCreated();
        rowsUpdatedLast = cycle == null ? 0 : cycle.rowsUpdated();
        rowsCreatedTotal += rowsCreatedLast;
        rowsUpdatedTotal += rowsUpdatedLast;
        if (cycle != null && cycle.getReconciled() != null) {
            Reconciler.Result reconciled = cycle.getReconciled();
            lastReconciliation = end;
            rowsTombstonedTotal += reconciled.tombstoned();
            rowsRepairedTotal += cycle.rowsRepaired();
            lastReconciliationSummary = String.format(Locale.ROOT, "%,d rows compared in %.2f s, %,d deleted, %,d copied again%s",
                    reconciled.comparedRows(), reconciled.seconds(), reconciled.tombstoned(), cycle.rowsRepaired(),
                    reconciled.note().isEmpty() ? "" : "; " + reconciled.note());
        }
        if (cycle != null) {
            // after a failed cycle too: ClickHouse holds a prefix of each stream, up to these marks
            createdMark = cycle.createdMark();
            updatedMark = cycle.updatedMark();
            newestWatermark = cycle.newestWatermark();
            WriteHorizon horizon = cycle.horizon();
            if (succeeded && horizon != null) {
                // the horizon is on PostgreSQL's clock: carry its lag over to ours instead of comparing clocks
                caughtUpTo = lastStart.minus(Duration.between(horizon.bound(), horizon.now()));
            }
        }
    }

    @Override
    public synchronized String getTable() {
        return table;
    }

    @Override
    public synchronized String getLastCycleStart() {
        return text(lastStart);
    }

    @Override
    public synchronized String getLastCycleEnd() {
        return text(lastEnd);
    }

    @Override
    public synchronized double getLastCycleSeconds() {
        return lastSeconds;
    }

    @Override
    public synchronized Boolean getLastCycleSucceeded() {
        return lastSucceeded;
    }

    @Override
    public synchronized String getLastError() {
        return lastError;
    }

    @Override
    public synchronized String getLastErrorTime() {
        return text(lastErrorTime);
    }

    @Override
    public synchronized long getRowsCreatedLastCycle() {
        return rowsCreatedLast;
    }

    @Override
    public synchronized long getRowsUpdatedLastCycle() {
        return rowsUpdatedLast;
    }

    @Override
    public synchronized long getRowsCreatedTotal() {
        return rowsCreatedTotal;
    }

    @Override
    public synchronized long getRowsUpdatedTotal() {
        return rowsUpdatedTotal;
    }

    @Override
    public synchronized String getCreatedWatermark() {
        return watermark(createdMark);
    }

    @Override
    public synchronized String getUpdatedWatermark() {
        return watermark(updatedMark);
    }

    @Override
    public synchronized long getLagSeconds() {
        return secondsSince(caughtUpTo);
    }

    @Override
    public synchronized long getWatermarkAgeSeconds() {
        return secondsSince(newestWatermark);
    }

    @Override
    public synchronized long getCycles() {
        return cycles;
    }

    @Override
    public synchronized long getFailedCycles() {
        return failedCycles;
    }

    private long secondsSince(Instant instant) {
        return instant == null ? -1 : Math.max(0, Duration.between(instant, clock.instant()).toSeconds());
    }

    private static String text(Instant instant) {
        return instant == null ? null : instant.toString();
    }

    private static String watermark(Instant mark) {
        return mark == null ? null : WATERMARK.format(LocalDateTime.ofInstant(mark, ZoneOffset.UTC));
    }

    @Override
    public synchronized String getLastReconciliation() {
        return lastReconciliation == null ? "" : lastReconciliation.toString();
    }

    @Override
    public synchronized String getLastReconciliationSummary() {
        return lastReconciliationSummary;
    }

    @Override
    public synchronized long getRowsTombstonedTotal() {
        return rowsTombstonedTotal;
    }

    @Override
    public synchronized long getRowsRepairedTotal() {
        return rowsRepairedTotal;
    }
}
