package io.pgchloader.jmx;

import io.pgchloader.cycle.TableSync;

/**
 * The sync state of one table route over JMX, as {@code io.pgchloader:context=pg-ch-loader,type=TableSync,route="<routeId>"}.
 * Read-only: stopping, starting, suspending and resuming a table is done through Camel's own route MBean
 * ({@code org.apache.camel:context=pg-ch-loader,type=routes,name="<routeId>"}).
 *
 * <p>Times are ISO-8601 instants ({@code 2026-11-24T00:40:36.123Z}); watermarks are shown as ClickHouse
 * shows them ({@code 2026-11-24 00:40:34.535630}: UTC for {@code timestamptz} columns, the wall-clock
 * value as written for {@code timestamp} columns). Values are null (or -1 for numbers that have no value
 * yet) until the first cycle has ended.
 */
public interface TableSyncMBean {

    /** The PostgreSQL table, {@code schema.table}. */
    String getTable();

    /** When the last finished cycle started (its Quartz fire, or the {@code --once} call). */
    String getLastCycleStart();

    /** When the last finished cycle ended. */
    String getLastCycleEnd();

    /** How long the last finished cycle took, in seconds. */
    double getLastCycleSeconds();

    /** Whether the last finished cycle completed; null before the first one. */
    Boolean getLastCycleSucceeded();

    /** The message of the most recent failed cycle (kept after later successes; see LastErrorTime). Never a password. */
    String getLastError();

    /** When the most recent failed cycle ended. */
    String getLastErrorTime();

    /** Rows the last cycle inserted through the created stream (new, never-updated rows; re-reads not counted). */
    long getRowsCreatedLastCycle();

    /** Rows the last cycle inserted through the updated stream (new versions of updated rows). */
    long getRowsUpdatedLastCycle();

    /** Sum of RowsCreatedLastCycle over every cycle since the loader started. */
    long getRowsCreatedTotal();

    /** Sum of RowsUpdatedLastCycle over every cycle since the loader started. */
    long getRowsUpdatedTotal();

    /** The created stream's watermark in ClickHouse after the last cycle: the newest created value of a never-updated row. */
    String getCreatedWatermark();

    /** The updated stream's watermark in ClickHouse after the last cycle: the newest updated value. */
    String getUpdatedWatermark();

    /**
     * How far ClickHouse may be behind PostgreSQL, in seconds: now minus the write horizon of the last
     * successful cycle. Every row written before that horizon is in ClickHouse; rows written since may not
     * be yet. Grows between cycles (up to the cron interval plus the cycle's duration), while cycles fail,
     * and while a long-open PostgreSQL transaction holds the horizon back. -1 before the first successful cycle.
     */
    long getLagSeconds();

    /**
     * Now minus the newer of the two watermarks, in seconds: the age of the newest row version in
     * ClickHouse (the same figure as the metrics' watermark lag). Large on a table nobody writes to; that
     * alone is no problem, see LagSeconds. -1 while the target is empty.
     */
    long getWatermarkAgeSeconds();

    /** Cycles that ended since the loader started, failed ones included. */
    long getCycles();

    /** Cycles that failed since the loader started. */
    long getFailedCycles();

    /** When the last reconciliation ended (ISO-8601), empty while none ran since the loader started. */
    String getLastReconciliation();

    /** The last reconciliation's line: rows compared, deleted, copied again, and what a guard held back. */
    String getLastReconciliationSummary();

    /** Rows reconciliations tombstoned since the loader started. */
    long getRowsTombstonedTotal();

    /** Rows reconciliations copied again since the loader started. */
    long getRowsRepairedTotal();
}
