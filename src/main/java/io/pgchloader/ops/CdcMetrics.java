package io.pgchloader.ops;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.pgchloader.cdc.CdcStatus;
import io.pgchloader.cdc.CdcStream;
import java.util.function.ToDoubleFunction;

/**
 * The CDC stream's Prometheus series. Per CDC table route (labels {@code route}, {@code table}):
 * <ul>
 *   <li>{@code pgch_cdc_changes_applied_total{kind="insert"|"update"|"delete"}}: changes ClickHouse holds
 *   (counted once their INSERT returned; a replay after a crash counts again);</li>
 *   <li>{@code pgch_cdc_table_stopped}: 1 while the stream does not apply the table's changes (a column type
 *   that no longer fits, a value its target cannot take): the log line and JMX {@code Stopped} say why.</li>
 * </ul>
 * Per stream (label {@code slot}):
 * <ul>
 *   <li>{@code pgch_cdc_lag_seconds}: now minus the newest commit (or heartbeat) the slot was confirmed past:
 *   every change committed before that is in ClickHouse;</li>
 *   <li>{@code pgch_cdc_lag_bytes}: {@code pg_current_wal_lsn() - confirmed_flush_lsn};</li>
 *   <li>{@code pgch_cdc_slot_retained_wal_bytes}: {@code pg_current_wal_lsn() - restart_lsn}, the WAL PostgreSQL
 *   keeps for the slot, and {@code pgch_cdc_slot_retained_wal_over_limit}, 1 above CDC_MAX_RETAINED_WAL_MB;</li>
 *   <li>{@code pgch_cdc_confirmed_lsn}: the last position confirmed to the slot, as a number (the LSN's 64 bits).</li>
 * </ul>
 * The slot's figures are read every 5 s by the stream; -1 until the first reading.
 */
final class CdcMetrics {

    private CdcMetrics() {
    }

    static void register(MeterRegistry registry, CdcStream stream) {
        CdcStatus status = stream.status();
        for (CdcStatus.Route route : status.routes()) {
            Tags tags = Tags.of("route", route.routeId(), "table", route.table());
            CdcStatus.Applied applied = status.applied(route.routeId());
            counter(registry, tags, "insert", applied, CdcStatus.Applied::inserts);
            counter(registry, tags, "update", applied, CdcStatus.Applied::updates);
            counter(registry, tags, "delete", applied, CdcStatus.Applied::deletes);
            gauge(registry, "pgch.cdc.table.stopped", "1 while the stream does not apply the table's changes (see the log or JMX Stopped)",
                    tags, status, s -> s.stopped(route.routeId()) == null ? 0 : 1);
        }
        Tags slot = Tags.of("slot", status.slot());
        gauge(registry, "pgch.cdc.lag.seconds", "Seconds since the newest commit (or heartbeat) the slot was confirmed past",
                slot, status, CdcStatus::lagSeconds);
        gauge(registry, "pgch.cdc.lag.bytes", "WAL bytes between PostgreSQL's current position and the slot's confirmed one",
                slot, status, CdcStatus::lagBytes);
        gauge(registry, "pgch.cdc.slot.retained.wal.bytes", "WAL bytes PostgreSQL keeps for the slot (from its restart_lsn)",
                slot, status, CdcStatus::retainedWalBytes);
        gauge(registry, "pgch.cdc.slot.retained.wal.over.limit", "1 while the slot retains more WAL than CDC_MAX_RETAINED_WAL_MB",
                slot, stream, s -> s.retainedWalOverLimit() ? 1 : 0);
        gauge(registry, "pgch.cdc.confirmed.lsn", "The last WAL position the loader confirmed to the slot",
                slot, status, CdcStatus::confirmedLsn);
    }

    private static void counter(MeterRegistry registry, Tags tags, String kind, CdcStatus.Applied applied,
                                ToDoubleFunction<CdcStatus.Applied> count) {
        FunctionCounter.builder("pgch.cdc.changes.applied", applied, count)
                .description("CDC changes ClickHouse holds, by kind").tags(tags).tag("kind", kind).register(registry);
    }

    private static <T> void gauge(MeterRegistry registry, String name, String description, Tags tags, T source,
                                  ToDoubleFunction<T> value) {
        Gauge.builder(name, source, value).description(description).tags(tags).register(registry);
    }
}
