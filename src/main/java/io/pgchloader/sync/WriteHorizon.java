package io.pgchloader.sync;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import javax.sql.DataSource;

/**
 * How far a cycle may read: the start of the oldest transaction that is still open in the database.
 *
 * <p>Why this is safe: a row's timestamp comes from {@code now()} (or a later clock reading) of the
 * transaction that writes it, so it is never earlier than that transaction's start. Every transaction
 * that started before the bound has ended by the time the bound is read, and the streams take their
 * snapshots after that. So every row version with a timestamp below the bound that will ever exist is
 * already committed and visible to the streams; rows at or above it wait for a later cycle. A
 * transaction that stays open for hours holds the bound back (the table lags, visibly) but never loses
 * its rows.
 *
 * <p>Seeing other roles' transactions takes {@code pg_read_all_stats} (or {@code pg_monitor}, or
 * superuser); sessions of the loader's own role are always visible. Without that privilege the bound is
 * incomplete, and not just now: a transaction of another role may have been open, unseen, during an
 * earlier cycle and commit later. So an unprivileged loader re-reads {@code SYNC_LOOKBACK_SECONDS} behind
 * the watermark in every cycle, which covers transactions shorter than that.
 *
 * <p>A prepared (two-phase) transaction shows only when it was prepared, not when it began; its start is
 * taken to be at most the lookback before that.
 */
public record WriteHorizon(Instant bound, Instant now, boolean complete, String holder, long hiddenSessions,
                           long preparedTransactions) {

    /**
     * The application name the loader's own connections carry: they only read, so they never hold the
     * bound. Only sessions of the loader's own role with that name are passed over.
     */
    public static final String LOADER_APPLICATION_NAME = "pg-ch-loader";

    // Background processes never write table rows; parallel workers share their leader's transaction.
    private static final String SQL = """
            WITH sessions AS (
                SELECT pid, backend_type, xact_start, state, application_name, usename
                  FROM pg_catalog.pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
            ), writers AS (
                SELECT * FROM sessions
                 WHERE backend_type NOT IN ('autovacuum launcher', 'autovacuum worker', 'walsender', 'walwriter',
                                            'checkpointer', 'background writer', 'startup', 'archiver', 'walreceiver',
                                            'logical replication launcher', 'walsummarizer', 'io worker',
                                            'slotsync worker', 'parallel worker')
                   AND xact_start IS NOT NULL
                   AND NOT (coalesce(application_name, '') = '%s' AND usename = current_user)
            )
            SELECT (SELECT min(xact_start) FROM writers) AS oldest,
                   (SELECT 'pid ' || pid || ' (' || coalesce(nullif(application_name, ''), 'no application_name') || ', '
                           || coalesce(state, '?') || ')' FROM writers ORDER BY xact_start LIMIT 1) AS holder,
                   (SELECT count(*) FROM sessions WHERE backend_type IS NULL) AS hidden,
                   (SELECT count(*) FROM pg_catalog.pg_prepared_xacts WHERE database = current_database()) AS prepared,
                   (SELECT min(prepared) FROM pg_catalog.pg_prepared_xacts WHERE database = current_database()) AS oldest_prepared,
                   pg_has_role('pg_read_all_stats', 'USAGE') AS sees_all
            """.formatted(LOADER_APPLICATION_NAME);

    public static WriteHorizon read(DataSource postgres, java.time.Duration lookback) throws SQLException {
        try (Connection connection = postgres.getConnection()) {
            // The clock is read in a transaction of its own, before the sessions are: a transaction takes
            // its start time a few microseconds before pg_stat_activity shows it, and the round trip in
            // between lets any transaction that started before that clock reading show up.
            Instant now;
            try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery("SELECT now()")) {
                rs.next();
                now = rs.getObject(1, OffsetDateTime.class).toInstant();
            } finally {
                connection.rollback();
            }
            try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(SQL)) {
                rs.next();
                Instant bound = now;
                String holder = null;
                OffsetDateTime oldest = rs.getObject("oldest", OffsetDateTime.class);
                if (oldest != null && oldest.toInstant().isBefore(bound)) {
                    bound = oldest.toInstant();
                    holder = rs.getString("holder");
                }
                OffsetDateTime oldestPrepared = rs.getObject("oldest_prepared", OffsetDateTime.class);
                if (oldestPrepared != null && oldestPrepared.toInstant().minus(lookback).isBefore(bound)) {
                    bound = oldestPrepared.toInstant().minus(lookback);
                    holder = "a prepared transaction";
                }
                return new WriteHorizon(bound, now, rs.getBoolean("sees_all"), holder, rs.getLong("hidden"),
                        rs.getLong("prepared"));
            } finally {
                connection.rollback();
            }
        }
    }

    /** Seconds the bound lags behind the database clock: how long the oldest open transaction has run. */
    public long lagSeconds() {
        return now.getEpochSecond() - bound.getEpochSecond();
    }
}
