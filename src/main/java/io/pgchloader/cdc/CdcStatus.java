package io.pgchloader.cdc;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.replication.LogSequenceNumber;

/**
 * What the CDC stream has done and where its slot stands, for metrics, JMX and health. Written by the stream
 * thread, read by any; every figure is a plain value, so readers never wait for the stream or a database.
 *
 * <p>Lag in seconds is now minus {@link #caughtUpTo()}: the commit time of the last transaction confirmed
 * to the slot, or the time a heartbeat was emitted once the stream confirmed past it. Both mean "every
 * change committed before this instant is in ClickHouse", because the slot sends transactions in commit
 * order. An idle table therefore shows at most about one heartbeat interval of lag, not the time since its
 * last write. Lag in bytes and retained WAL come from {@code pg_replication_slots}, read every few seconds.
 */
public final class CdcStatus {

    /** Changes applied by kind, per table route. */
    public static final class Applied {
        final AtomicLong inserts = new AtomicLong();
        final AtomicLong updates = new AtomicLong();
        final AtomicLong deletes = new AtomicLong();

        public long inserts() {
            return inserts.get();
        }

        public long updates() {
            return updates.get();
        }

        public long deletes() {
            return deletes.get();
        }
    }

    /** A route of the CDC template: its id and its PostgreSQL table, {@code schema.table}. */
    public record Route(String routeId, String table) {
    }

    private final String slot;
    private final Clock clock;
    private final Map<String, Applied> applied = new ConcurrentHashMap<>();
    private final Map<String, String> stopped = new ConcurrentHashMap<>();
    private volatile List<Route> routes = List.of();
    private volatile Instant caughtUpTo;
    private volatile long confirmedLsn;
    private volatile long walLsn = -1;
    private volatile long slotConfirmedLsn = -1;
    private volatile long restartLsn = -1;
    private volatile Instant slotReadAt;
    private volatile boolean streaming;
    private volatile boolean standingBy;
    private volatile String lastError;
    private volatile Instant lastErrorTime;

    CdcStatus(String slot, Clock clock) {
        this.slot = slot;
        this.clock = clock;
        // until the stream has confirmed something, it is at best caught up to its start
        this.caughtUpTo = clock.instant();
    }

    public String slot() {
        return slot;
    }

    public List<Route> routes() {
        return routes;
    }

    void routes(List<Route> routes) {
        this.routes = List.copyOf(routes);
        routes.forEach(r -> applied.computeIfAbsent(r.routeId(), id -> new Applied()));
    }

    /** The changes applied for a route (zeros for a route the stream does not know). */
    public Applied applied(String routeId) {
        return applied.computeIfAbsent(routeId, id -> new Applied());
    }

    /**
     * Why the stream stopped applying a route's changes (a type that no longer fits, a value it cannot
     * write), or null while it applies them. The other routes go on; the table is loaded again at the next start.
     */
    public String stopped(String routeId) {
        return stopped.get(routeId);
    }

    /** The routes whose changes the stream stopped applying, in the order of the routes files. */
    public List<String> stoppedRoutes() {
        return routes.stream().map(Route::routeId).filter(stopped::containsKey).toList();
    }

    /** Every change committed before this instant is in ClickHouse (see the class comment). */
    public Instant caughtUpTo() {
        return caughtUpTo;
    }

    /** Seconds since {@link #caughtUpTo()}, never negative (PostgreSQL's clock may run ahead of this one). */
    public double lagSeconds() {
        return Math.max(0, Duration.between(caughtUpTo, clock.instant()).toMillis() / 1000.0);
    }

    /** The last position this loader confirmed to the slot; 0 before the first confirmation of this run. */
    public long confirmedLsn() {
        return confirmedLsn;
    }

    /** WAL written but not confirmed by the slot: {@code pg_current_wal_lsn() - confirmed_flush_lsn}; -1 before the first reading. */
    public long lagBytes() {
        return walLsn < 0 || slotConfirmedLsn < 0 ? -1 : Math.max(0, walLsn - slotConfirmedLsn);
    }

    /** WAL the slot keeps on PostgreSQL's disk: {@code pg_current_wal_lsn() - restart_lsn}; -1 before the first reading. */
    public long retainedWalBytes() {
        return walLsn < 0 || restartLsn < 0 ? -1 : Math.max(0, walLsn - restartLsn);
    }

    /** When the slot was last read from {@code pg_replication_slots}; null before. */
    public Instant slotReadAt() {
        return slotReadAt;
    }

    /** Whether another loader reads the slot and this one waits to take it over. */
    public boolean standingBy() {
        return standingBy;
    }

    public boolean streaming() {
        return streaming;
    }

    /** The last failure of the stream (already free of secrets: driver messages do not carry passwords), or null. */
    public String lastError() {
        return lastError;
    }

    public Instant lastErrorTime() {
        return lastErrorTime;
    }

    /** An LSN as PostgreSQL writes it ({@code 0/16B3748}). */
    public static String lsn(long lsn) {
        return LogSequenceNumber.valueOf(lsn).asString();
    }

    // ---- written by the stream ----

    /** Changes ClickHouse now holds (a replay after a crash counts again). */
    void applied(String routeId, long inserts, long updates, long deletes) {
        Applied a = applied(routeId);
        a.inserts.addAndGet(inserts);
        a.updates.addAndGet(updates);
        a.deletes.addAndGet(deletes);
    }

    /** The slot was confirmed at {@code lsn}, and everything committed before {@code upTo} is in ClickHouse. */
    void confirmed(long lsn, Instant upTo) {
        confirmedLsn = lsn;
        if (upTo != null && upTo.isAfter(caughtUpTo)) {
            caughtUpTo = upTo;
        }
    }

    void stopped(String routeId, String reason) {
        stopped.put(routeId, reason);
    }

    void slotRead(long wal, long confirmedFlush, long restart) {
        walLsn = wal;
        slotConfirmedLsn = confirmedFlush;
        restartLsn = restart;
        slotReadAt = clock.instant();
    }

    void streaming(boolean running) {
        streaming = running;
        if (running) {
            standingBy = false;
        }
    }

    void standBy() {
        standingBy = true;
        streaming = false;
        // its lag is the other loader's to tell: counted from when this one may take over
        caughtUpTo = clock.instant();
    }

    void failed(String message) {
        lastError = message;
        lastErrorTime = clock.instant();
        streaming = false;
    }
}
