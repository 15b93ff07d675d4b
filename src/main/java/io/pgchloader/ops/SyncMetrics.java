package io.pgchloader.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.pgchloader.CycleRunner;
import io.pgchloader.cycle.CycleObserver;
import io.pgchloader.cycle.Reconciler;
import io.pgchloader.cycle.SyncCycle;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.support.LifecycleStrategySupport;
import org.quartz.CronExpression;

/**
 * The loader's own Prometheus metrics, per table route (labels {@code route} and {@code table}, the
 * latter {@code schema.table} in PostgreSQL):
 *
 * <ul>
 *   <li>{@code pgch_rows_synced_total{stream="created"|"updated"}}: new rows and new versions that reached
 *   ClickHouse (rows read again at the watermark are not counted);</li>
 *   <li>{@code pgch_cycle_duration_seconds{outcome="success"|"failure"}}: count, sum and max of cycle
 *   durations, from the Quartz fire to the cycle's end;</li>
 *   <li>{@code pgch_cycle_failures_total}: failed cycles;</li>
 *   <li>{@code pgch_seconds_since_last_success}: since the last successful cycle on this instance (since
 *   the loader started while there was none);</li>
 *   <li>{@code pgch_watermark_lag_seconds}: now minus the newest watermark (the newest created or updated
 *   timestamp ClickHouse holds), present once a cycle has read it;</li>
 *   <li>{@code pgch_schedule_interval_seconds}: the time between the next two fires of the table's cron,
 *   so alerts can say "N schedules without a success";</li>
 *   <li>{@code pgch_table_active}: 1 while this instance runs the table's route, 0 while it stands by
 *   (high availability) or the route was stopped;</li>
 *   <li>{@code pgch_reconciled_rows_total{action="tombstoned"|"copied"|"held"}}: rows a reconciliation
 *   deleted, copied again, or would have deleted but a guard held back;</li>
 *   <li>{@code pgch_reconciliation_duration_seconds}: count, sum and max of reconciliations (comparison
 *   and tombstones; the rows copied again count in the cycle), and
 *   {@code pgch_reconciliation_keys_read_total}, the rows both sides listed key by key;</li>
 *   <li>{@code pgch_seconds_since_last_reconciliation}: since the last reconciliation on this instance
 *   (since start while none).</li>
 * </ul>
 *
 * Every series exists from startup on, with zero counts, so rates and alerts work from the first cycle.
 */
public final class SyncMetrics extends LifecycleStrategySupport implements CycleObserver {

    private final MeterRegistry registry;
    private final Instant started = Instant.now();
    private final Map<String, TableMeters> tables = new ConcurrentHashMap<>();
    private volatile CamelContext context;

    public SyncMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Registers every table route's series as soon as the routes exist. */
    @Override
    public void onContextStarted(CamelContext camelContext) {
        this.context = camelContext;
        for (Route route : camelContext.getRoutes()) {
            if (CycleRunner.isTableRoute(route)) {
                Map<String, Object> parameters = templateParameters(camelContext, route.getRouteId());
                String table = parameter(parameters, "schema", "public") + "." + parameter(parameters, "table", "?");
                meters(route.getRouteId(), table).scheduledBy(parameter(parameters, "cron", null));
            }
        }
    }

    private static Map<String, Object> templateParameters(CamelContext camelContext, String routeId) {
        if (camelContext instanceof ModelCamelContext model) {
            RouteDefinition definition = model.getRouteDefinition(routeId);
            if (definition != null && definition.getTemplateParameters() != null) {
                return definition.getTemplateParameters();
            }
        }
        return Map.of();
    }

    private static String parameter(Map<String, Object> parameters, String name, String fallback) {
        Object value = parameters.get(name);
        return value == null || value.toString().isBlank() ? fallback : value.toString();
    }

    @Override
    public void cycleEnded(String routeId, String table, boolean succeeded, Duration took, SyncCycle cycle) {
        meters(routeId, table).cycleEnded(succeeded, took, cycle);
    }

    private TableMeters meters(String routeId, String table) {
        return tables.computeIfAbsent(routeId, id -> new TableMeters(id, table));
    }

    /** The series of one table route. */
    private final class TableMeters {

        private final String routeId;
        private final Tags tags;
        private final Counter created;
        private final Counter updated;
        private final Counter failures;
        private final Timer succeeded;
        private final Timer failed;
        private volatile Instant lastSuccess = started;
        private volatile Instant newestWatermark;
        private volatile boolean lagRegistered;
        private volatile CronExpression cron;
        private final Counter tombstoned;
        private final Counter copied;
        private final Counter held;
        private final Counter keysRead;
        private final Timer reconciliations;
        private volatile Instant lastReconciliation = started;

        TableMeters(String routeId, String table) {
            this.routeId = routeId;
            this.tags = Tags.of("route", routeId, "table", table);
            created = Counter.builder("pgch.rows.synced").description("Rows that reached ClickHouse: new rows (created) and new versions (updated)")
                    .tags(tags).tag("stream", "created").register(registry);
            updated = Counter.builder("pgch.rows.synced").description("Rows that reached ClickHouse: new rows (created) and new versions (updated)")
                    .tags(tags).tag("stream", "updated").register(registry);
            failures = Counter.builder("pgch.cycle.failures").description("Sync cycles that failed")
                    .tags(tags).register(registry);
            succeeded = Timer.builder("pgch.cycle.duration").description("Duration of sync cycles, from the scheduled fire to the end")
                    .tags(tags).tag("outcome", "success").register(registry);
            failed = Timer.builder("pgch.cycle.duration").description("Duration of sync cycles, from the scheduled fire to the end")
                    .tags(tags).tag("outcome", "failure").register(registry);
            Gauge.builder("pgch.seconds.since.last.success", this,
                            m -> Duration.between(m.lastSuccess, Instant.now()).toMillis() / 1000.0)
                    .description("Seconds since the table's last successful cycle on this instance (since start while none)")
                    .tags(tags).register(registry);
            tombstoned = reconciled("tombstoned");
            copied = reconciled("copied");
            held = reconciled("held");
            keysRead = Counter.builder("pgch.reconciliation.keys.read").description("Rows reconciliations listed key by key, both sides")
                    .tags(tags).register(registry);
            reconciliations = Timer.builder("pgch.reconciliation.duration").description("Duration of reconciliations: comparison and tombstones")
                    .tags(tags).register(registry);
            Gauge.builder("pgch.seconds.since.last.reconciliation", this,
                            m -> Duration.between(m.lastReconciliation, Instant.now()).toMillis() / 1000.0)
                    .description("Seconds since the table's last reconciliation on this instance (since start while none)")
                    .tags(tags).register(registry);
            Gauge.builder("pgch.table.active", this, TableMeters::active)
                    .description("1 while this instance runs the table's route, 0 while it stands by or the route is stopped")
                    .tags(tags).register(registry);
        }

        private Counter reconciled(String action) {
            return Counter.builder("pgch.reconciled.rows")
                    .description("Rows reconciliations tombstoned, copied again, or held back by a guard")
                    .tags(tags).tag("action", action).register(registry);
        }

        void scheduledBy(String expression) {
            if (expression == null || cron != null) {
                return;
            }
            try {
                cron = new CronExpression(expression);
            } catch (ParseException e) {
                return; // Quartz refuses it too, with its own message
            }
            Gauge.builder("pgch.schedule.interval.seconds", this, TableMeters::interval)
                    .description("Seconds between the next two scheduled cycles of the table (its cron)")
                    .tags(tags).register(registry);
        }

        private double interval() {
            Date next = cron.getNextValidTimeAfter(new Date());
            Date after = next == null ? null : cron.getNextValidTimeAfter(next);
            return after == null ? Double.NaN : (after.getTime() - next.getTime()) / 1000.0;
        }

        private double active() {
            CamelContext camelContext = context;
            if (camelContext == null) {
                return 0;
            }
            ServiceStatus status = camelContext.getRouteController().getRouteStatus(routeId);
            return status != null && status.isStarted() ? 1 : 0;
        }

        void cycleEnded(boolean success, Duration took, SyncCycle cycle) {
            if (cycle != null) {
                created.increment(cycle.rowsCreated());
                updated.increment(cycle.rowsUpdated());
                Reconciler.Result reconciled = cycle.getReconciled();
                if (reconciled != null) {
                    tombstoned.increment(reconciled.tombstoned());
                    copied.increment(cycle.rowsRepaired());
                    held.increment(reconciled.deletesLeft());
                    keysRead.increment(reconciled.keysRead());
                    reconciliations.record(Duration.ofNanos((long) (reconciled.seconds() * 1e9)));
                    lastReconciliation = Instant.now();
                }
                Instant mark = cycle.newestWatermark();
                if (mark != null) {
                    newestWatermark = mark;
                    if (!lagRegistered) {
                        lagRegistered = true;
                        Gauge.builder("pgch.watermark.lag.seconds", this,
                                        m -> Duration.between(m.newestWatermark, Instant.now()).toMillis() / 1000.0)
                                .description("Seconds between now and the newest created/updated timestamp ClickHouse holds")
                                .tags(tags).register(registry);
                    }
                }
            }
            if (success) {
                succeeded.record(took);
                lastSuccess = Instant.now();
            } else {
                failed.record(took);
                failures.increment();
            }
        }
    }
}
