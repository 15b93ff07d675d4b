package io.pgchloader.postgres;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;

/**
 * The range of timestamps one stream reads in one cycle, {@code [lower, upper)}, as values to bind to
 * PostgreSQL in the column's own type.
 *
 * <ul>
 *   <li>lower: the stream's watermark in ClickHouse, inclusive, so rows sharing the watermark's timestamp
 *   are read again rather than lost. For {@code timestamp} columns, moved back to the start of a
 *   daylight-saving overlap of
 *   {@code POSTGRES_TIMEZONE} for a while after clocks went back (wall-clock values repeat then, so rows
 *   written in the second pass can sort below the watermark).</li>
 *   <li>upper: the write horizon, exclusive: nothing below it can still appear.</li>
 * </ul>
 *
 * <p>Watermarks of {@code timestamp} columns are wall-clock values (ClickHouse stores them as if UTC);
 * the horizon is an instant, turned into wall-clock time in {@code POSTGRES_TIMEZONE}.
 */
public final class StreamWindow {

    private StreamWindow() {
    }

    /** Lower bound to bind, or null for no lower bound (backfill). */
    public static Object lower(PgType type, Instant mark, WriteHorizon horizon, ZoneId zone, Duration lookback) {
        if (mark == null) {
            return null;
        }
        // No re-read behind the watermark: the horizon waits for every transaction that can still write
        // below it (OpenTransactions), so nothing new ever appears there.
        if (type.name().equals("timestamptz")) {
            return mark.atOffset(ZoneOffset.UTC);
        }
        LocalDateTime wall = LocalDateTime.ofInstant(mark, ZoneOffset.UTC);
        LocalDateTime overlapStart = recentOverlapStart(zone, horizon.bound(), lookback);
        return overlapStart != null && overlapStart.isBefore(wall) ? overlapStart : wall;
    }

    /** Upper bound to bind: the horizon in the column's type. */
    public static Object upper(PgType type, WriteHorizon horizon, ZoneId zone) {
        return at(type, horizon.bound(), zone);
    }

    /** An instant as a value of the column's type: the instant itself, or the writers' wall-clock time. */
    public static Object at(PgType type, Instant instant, ZoneId zone) {
        return type.name().equals("timestamptz")
                ? instant.atOffset(ZoneOffset.UTC)
                : LocalDateTime.ofInstant(instant, zone);
    }

    /**
     * The bound above which a timestamp is in the future at {@code soon}: no clock reading up to then is
     * above it. For {@code timestamp} columns that is the writers' wall-clock time, except for a while
     * after clocks went back: the hour before the change showed later wall-clock values than the present,
     * so until the clock passes them again they are not the future.
     */
    public static Object future(PgType type, Instant soon, ZoneId zone) {
        if (type.name().equals("timestamptz")) {
            return soon.atOffset(ZoneOffset.UTC);
        }
        LocalDateTime wall = LocalDateTime.ofInstant(soon, zone);
        ZoneOffsetTransition last = zone.getRules().previousTransition(soon.plusNanos(1));
        // only the latest change can have shown wall-clock values ahead of now; earlier ones are long passed
        return last != null && last.isOverlap() && last.getDateTimeBefore().isAfter(wall) ? last.getDateTimeBefore() : wall;
    }

    /**
     * The local start of the last fall-back overlap if it ended less than {@code lookback} before
     * {@code at} (or is still going on), else null.
     */
    static LocalDateTime recentOverlapStart(ZoneId zone, Instant at, Duration lookback) {
        ZoneRules rules = zone.getRules();
        ZoneOffsetTransition transition = rules.previousTransition(at.plusNanos(1));
        while (transition != null && !transition.getInstant().plus(transition.getDuration().abs()).plus(lookback)
                .isBefore(at)) {
            if (transition.isOverlap()) {
                return transition.getDateTimeAfter();
            }
            transition = rules.previousTransition(transition.getInstant());
        }
        return null;
    }
}
