package io.pgchloader.jmx;

/**
 * One CDC table route over JMX, as {@code io.pgchloader:context=pg-ch-loader,type=CdcTable,route="<routeId>"}.
 * Read-only. The counts are the table's; lag, positions and retained WAL are the stream's, which every CDC
 * table of the loader shares (one slot), so each table's MBean shows the same figures for them.
 */
public interface CdcTableMBean {

    /** The PostgreSQL table, {@code schema.table}. */
    String getTable();

    /** The replication slot the table is streamed from (CDC_SLOT). */
    String getSlot();

    /** Whether the stream is connected and applying changes now. */
    boolean isStreaming();

    /** Inserts ClickHouse holds since the loader started (a replay after a crash counts again). */
    long getInsertsApplied();

    /** Updates ClickHouse holds since the loader started. */
    long getUpdatesApplied();

    /** Deletes (tombstones) ClickHouse holds since the loader started; a TRUNCATE is not counted. */
    long getDeletesApplied();

    /** Seconds since {@code CaughtUpTo}: the same figure as the readiness check cdc and pgch_cdc_lag_seconds. */
    double getLagSeconds();

    /** Every change committed in PostgreSQL before this instant (ISO-8601) is in ClickHouse. */
    String getCaughtUpTo();

    /** {@code pg_current_wal_lsn() - confirmed_flush_lsn} at the last reading of the slot; -1 before it. */
    long getLagBytes();

    /** {@code pg_current_wal_lsn() - restart_lsn}: WAL PostgreSQL keeps for the slot; -1 before the first reading. */
    long getRetainedWalBytes();

    /** Whether RetainedWalBytes is above CDC_MAX_RETAINED_WAL_MB. */
    boolean isRetainedWalOverLimit();

    /** The last position the loader confirmed to the slot ({@code 0/16B3748}); {@code 0/0} before the first. */
    String getConfirmedLsn();

    /** The stream's last failure (the stream starts again from the slot after it), or null. Never a password. */
    String getLastError();

    /** When the last failure happened (ISO-8601), or null. */
    String getLastErrorTime();

    /**
     * Why the stream stopped applying this table's changes (a column type that no longer fits, a value its
     * target cannot take), or null while it applies them. Restart the loader once fixed: the table is loaded again.
     */
    String getStopped();
}
