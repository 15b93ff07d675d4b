package io.pgchloader.postgres;

import java.time.Instant;
import java.util.List;

/**
 * How far a cycle may read: no transaction that is still open, or can still begin, writes a row version
 * with a timestamp below {@link #bound}. Read by {@link OpenTransactions}.
 *
 * <p>Why this is safe: a row's timestamp comes from {@code now()} (or a later clock reading) of the
 * transaction that writes it, so it is never earlier than that transaction's start. Every transaction
 * that started before the bound has ended by the time the bound is read, and the streams take their
 * snapshots after that. So every row version with a timestamp below the bound that will ever exist is
 * already committed and visible to the streams; rows at or above it wait for a later cycle. A
 * transaction that stays open for hours holds the bound back (the table lags, visibly) but never loses
 * its rows, and no newer version of a row it is about to write can reach ClickHouse first.
 *
 * @param bound      the horizon, exclusive
 * @param now        PostgreSQL's clock when it was read
 * @param holder     the session holding the bound back, or null when nothing does
 * @param assumed    sessions whose transaction began before the loader could see when: their start is
 *                   assumed to be at most {@code SYNC_LOOKBACK_SECONDS} before the loader first saw them
 * @param seesAll    whether the loader's role sees every session's activity ({@code pg_read_all_stats})
 * @param preparedTransactions prepared (two-phase) transactions in the database
 */
public record WriteHorizon(Instant bound, Instant now, String holder, List<String> assumed, boolean seesAll,
                           long preparedTransactions) {

    /**
     * The application name the loader's own connections carry: they only read, so they never hold the
     * bound. Only sessions of the loader's own role with that name are passed over.
     */
    public static final String LOADER_APPLICATION_NAME = "pg-ch-loader";

    /** Whether the bound rests on what PostgreSQL showed alone, with no start assumed. */
    public boolean complete() {
        return assumed.isEmpty();
    }

    /** Seconds the bound lags behind the database clock: how long the oldest open transaction has run. */
    public long lagSeconds() {
        return now.getEpochSecond() - bound.getEpochSecond();
    }
}
