package io.pgchloader.postgres;

import io.pgchloader.common.SyncException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * Watches the transactions open in the source database and reads the {@link WriteHorizon} from them.
 * One per loader process and database, shared by every table, because what it learnt in one cycle (which
 * transactions were open) bounds the start of transactions it sees in the next.
 *
 * <p>Every transaction holds a lock on its own virtual transaction id from its first statement to its
 * end, and {@code pg_locks} shows those locks to every role, whatever {@code track_activities} says. So
 * the loader knows of every open transaction; when it began comes from one of:
 * <ol>
 *   <li>{@code pg_stat_activity.xact_start}, where the loader's role may see it (its own role, or
 *   {@code pg_read_all_stats});</li>
 *   <li>{@code query_start} of a session that runs a statement but shows no transaction yet: PostgreSQL
 *   publishes the statement before it starts the transaction, whose {@code now()} is that statement's
 *   start;</li>
 *   <li>otherwise (another role's session without {@code pg_read_all_stats}, {@code track_activities} off):
 *   the transaction was not open at an earlier observation, so it began after that observation's clock
 *   reading. To make that earlier observation recent, a new unexplained transaction makes the loader look
 *   again a moment later: a short transaction is gone by then, a new one began after the first look.</li>
 * </ol>
 * A transaction open at the loader's very first look that shows no start is <em>assumed</em> to have
 * begun at most {@code SYNC_LOOKBACK_SECONDS} earlier; the horizon then waits that far back, and says so.
 * On a standby, which shows none of the primary's transactions, every cycle waits that far back.
 *
 * <p>Between a statement's start (its {@code now()}) and the moment PostgreSQL publishes it there are a
 * few instructions; the clock is read {@code settle} before the sessions are, so a backend may stall that
 * long there without being missed.
 */
public final class OpenTransactions {

    // Background processes never write table rows (their role is NULL); parallel workers share their
    // leader's transaction. A session counts in the database it is connected to only.
    private static final String SESSIONS = """
            WITH activity AS (
                SELECT pid, datname, usename, application_name, backend_type, state, xact_start, query_start
                  FROM pg_catalog.pg_stat_activity
                 WHERE pid <> pg_backend_pid()
            ), vxids AS (
                SELECT pid, virtualxid FROM pg_catalog.pg_locks
                 WHERE locktype = 'virtualxid' AND mode = 'ExclusiveLock' AND granted AND pid IS NOT NULL
                   AND pid <> pg_backend_pid()
            ), sessions AS (
                SELECT v.pid, v.virtualxid, a.datname, a.usename, a.application_name, a.backend_type, a.state,
                       coalesce(a.xact_start, CASE WHEN a.state = 'active' THEN a.query_start END) AS started,
                       a.pid IS NOT NULL AS listed
                  FROM vxids v LEFT JOIN activity a ON a.pid = v.pid
                UNION ALL
                SELECT a.pid, NULL, a.datname, a.usename, a.application_name, a.backend_type, a.state, a.query_start, true
                  FROM activity a
                 WHERE a.state = 'active' AND a.xact_start IS NULL AND a.query_start IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM vxids v WHERE v.pid = a.pid)
            )
            SELECT pid, virtualxid, started, state, application_name, usename
              FROM sessions
             WHERE (NOT listed OR (datname = current_database() AND usename IS NOT NULL))
               AND coalesce(backend_type, 'client backend') NOT IN ('autovacuum launcher', 'autovacuum worker',
                       'walsender', 'walwriter', 'checkpointer', 'background writer', 'startup', 'archiver',
                       'walreceiver', 'logical replication launcher', 'walsummarizer', 'io worker',
                       'slotsync worker', 'parallel worker')
               AND NOT (coalesce(application_name, '') = '%s' AND usename = current_user)
            """.formatted(WriteHorizon.LOADER_APPLICATION_NAME);

    private static final String PREPARED = """
            SELECT count(*), min(prepared), pg_has_role('pg_read_all_stats', 'USAGE'), pg_is_in_recovery()
              FROM pg_catalog.pg_prepared_xacts WHERE database = current_database()
            """;

    private final DataSource postgres;
    private final Duration lookback;
    private final Duration settle;

    /** Open transactions, by pid and virtual xid, with the earliest they can have begun. */
    private Map<String, Start> seen = new HashMap<>();
    /** The clock reading of the last observation, or null before the first. */
    private Instant lastClock;
    private long lastObservationNanos;
    private WriteHorizon last;

    public OpenTransactions(DataSource postgres, Duration lookback, Duration settle) {
        this.postgres = postgres;
        this.lookback = lookback;
        this.settle = settle;
    }

    /** The earliest a transaction can have begun, and whether that is only assumed. */
    private record Start(Instant earliest, boolean assumed) {
    }

    /** One open transaction (or a statement about to start one) as the catalog showed it. */
    private record Session(int pid, String vxid, Instant started, String state, String application) {

        String id() {
            return pid + "/" + vxid;
        }

        String describe() {
            return "pid " + pid + " (" + (application == null || application.isEmpty() ? "no application_name" : application)
                    + ", " + (state == null ? "activity not visible to the loader's role" : state) + ")";
        }
    }

    private record Observation(Instant clock, List<Session> sessions, long prepared, Instant oldestPrepared,
                               boolean seesAll, boolean standby) {
    }

    /**
     * The horizon now. Cycles that ask while another one reads it share that reading when it began after
     * they asked: it is as recent as their own would be.
     */
    public WriteHorizon horizon() throws SQLException {
        long asked = System.nanoTime();
        synchronized (this) {
            if (last != null && lastObservationNanos - asked >= 0) {
                return last;
            }
            long started = System.nanoTime();
            WriteHorizon horizon = read();
            last = horizon;
            lastObservationNanos = started;
            return horizon;
        }
    }

    private WriteHorizon read() throws SQLException {
        try (Connection connection = postgres.getConnection()) {
            Observation first = observe(connection);
            Map<String, Start> starts = starts(first, Map.of(), null);
            Observation latest = first;
            if (first.sessions.stream().anyMatch(s -> s.started == null && s.vxid != null && !seen.containsKey(s.id()))) {
                // new transactions without a start: a second look tells the ones begun after the first
                Observation second = observe(connection);
                starts = starts(second, starts, first.clock);
                latest = second;
            }
            seen = starts;
            lastClock = latest.clock;
            return horizon(latest, starts);
        }
    }

    /**
     * When each open transaction of an observation can have begun at the earliest: what an earlier look
     * learnt, else the clock of the last look that did not see it. Transactions whose start PostgreSQL
     * shows are remembered too, in case it stops showing it (a session that turns track_activities off).
     */
    private Map<String, Start> starts(Observation observation, Map<String, Start> firstLook, Instant firstClock) {
        Map<String, Start> starts = new HashMap<>();
        for (Session s : observation.sessions) {
            if (s.vxid == null) {
                // a statement not yet in a transaction: its query_start is all there is, and enough
                continue;
            }
            if (s.started != null) {
                // PostgreSQL's own word on this transaction
                starts.put(s.id(), new Start(s.started, false));
                continue;
            }
            Start start = seen.get(s.id());
            if (start == null && firstClock != null) {
                // second look: seen at the first too (what that look concluded), or begun after it
                start = firstLook.getOrDefault(s.id(), new Start(firstClock, false));
            }
            if (start == null) {
                // absent at the last look (the settle pause before it covers a start not yet published)
                start = lastClock != null ? new Start(lastClock, false)
                        : new Start(observation.clock.minus(lookback), true);
            }
            starts.put(s.id(), start);
        }
        return starts;
    }

    private WriteHorizon horizon(Observation observation, Map<String, Start> starts) {
        Instant bound = observation.clock;
        String holder = null;
        List<String> assumed = new ArrayList<>();
        for (Session s : observation.sessions) {
            Instant start = s.started;
            if (start == null) {
                Start known = starts.get(s.id());
                start = known.earliest();
                if (known.assumed()) {
                    assumed.add(s.describe());
                }
            }
            if (start.isBefore(bound)) {
                bound = start;
                holder = s.describe();
            }
        }
        if (observation.oldestPrepared != null && observation.oldestPrepared.minus(lookback).isBefore(bound)) {
            // a prepared transaction shows only when it was prepared, not when it began
            bound = observation.oldestPrepared.minus(lookback);
            holder = "a prepared transaction";
        }
        if (observation.standby) {
            // a standby shows none of the primary's transactions: only the assumption is left
            bound = observation.clock.minus(lookback).isBefore(bound) ? observation.clock.minus(lookback) : bound;
            holder = "the primary's transactions (PostgreSQL is a standby)";
            assumed.add(holder);
        }
        return new WriteHorizon(bound, observation.clock, holder, List.copyOf(assumed), observation.seesAll,
                observation.prepared);
    }

    private Observation observe(Connection connection) throws SQLException {
        // The clock is read in a transaction of its own, a moment before the sessions are: a transaction
        // takes its start time a few microseconds before PostgreSQL shows it, and this pause lets any
        // transaction that started before the clock reading show up.
        Instant clock;
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery("SELECT now()")) {
            rs.next();
            clock = rs.getObject(1, OffsetDateTime.class).toInstant();
        } finally {
            connection.rollback();
        }
        pause();
        List<Session> sessions = new ArrayList<>();
        try (Statement statement = connection.createStatement()) {
            try (ResultSet rs = statement.executeQuery(SESSIONS)) {
                while (rs.next()) {
                    OffsetDateTime started = rs.getObject("started", OffsetDateTime.class);
                    sessions.add(new Session(rs.getInt("pid"), rs.getString("virtualxid"),
                            started == null ? null : started.toInstant(), rs.getString("state"),
                            rs.getString("application_name")));
                }
            }
            try (ResultSet rs = statement.executeQuery(PREPARED)) {
                rs.next();
                OffsetDateTime oldestPrepared = rs.getObject(2, OffsetDateTime.class);
                return new Observation(clock, sessions, rs.getLong(1),
                        oldestPrepared == null ? null : oldestPrepared.toInstant(), rs.getBoolean(3), rs.getBoolean(4));
            }
        } finally {
            connection.rollback();
        }
    }

    private void pause() {
        if (settle.isZero()) {
            return;
        }
        try {
            Thread.sleep(settle.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SyncException("interrupted while reading the write horizon");
        }
    }
}
