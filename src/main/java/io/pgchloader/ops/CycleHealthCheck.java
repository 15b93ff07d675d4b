package io.pgchloader.ops;

import io.pgchloader.cycle.CycleObserver;
import io.pgchloader.cycle.SyncCycle;
import io.pgchloader.cycle.SyncStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import org.apache.camel.health.HealthCheckResultBuilder;

/**
 * The tables whose cycles fail, for {@code HEALTH_DETAILS=full} only: how many cycles in a row, since
 * when, and the last cycle's message. Always UP, deliberately: readiness means the loader can reach both
 * databases; a table that keeps failing (a full ClickHouse disk, a dropped column) is not cured by taking
 * the loader out of service or restarting it, and the other tables go on. Alert on
 * {@code pgch_cycle_failures_total} or {@code pgch_seconds_since_last_success} for those.
 */
public final class CycleHealthCheck extends ReadinessCheck implements CycleObserver {

    private record Failing(long cycles, Instant since) {
    }

    private final SyncStatus status;
    private final UnaryOperator<String> mask;
    private final Map<String, Failing> failing = new ConcurrentHashMap<>();

    /** @param mask removes configured secrets from a message, which may quote a driver's */
    public CycleHealthCheck(SyncStatus status, UnaryOperator<String> mask) {
        super("cycles");
        this.status = status;
        this.mask = mask;
    }

    @Override
    public void cycleEnded(String routeId, String table, boolean succeeded, Duration took, SyncCycle cycle) {
        if (succeeded) {
            failing.remove(routeId);
        } else {
            failing.merge(routeId, new Failing(1, Instant.now()), (was, now) -> new Failing(was.cycles() + 1, was.since()));
        }
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Map<String, Failing> now = new TreeMap<>(failing);
        StringBuilder message = new StringBuilder(now.isEmpty() ? "every table's last cycle succeeded"
                : now.size() + " table(s) failing (readiness stays up: it means both databases can be reached)");
        builder.detail("failing.tables", now.size());
        now.forEach((routeId, f) -> {
            SyncStatus.Outcome last = status.last(routeId);
            String text = f.cycles() + " cycle(s) in a row since " + f.since() + (last == null ? "" : ": " + mask.apply(last.message()));
            builder.detail("failing." + routeId, text);
            message.append("; ").append(routeId).append(": ").append(text);
        });
        // in the message too: Camel shows details only to a request that asks for them (?data=true)
        builder.message(message.toString());
        builder.up();
    }
}
