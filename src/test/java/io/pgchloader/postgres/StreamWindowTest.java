package io.pgchloader.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The window a stream reads, around the moments where wall-clock time misbehaves. Berlin fell back on
 * 2024-10-27 at 01:00 UTC: local 02:00-03:00 happened twice. It sprang forward on 2024-03-31 at 01:00
 * UTC: local 02:00-03:00 never happened.
 */
class StreamWindowTest {

    static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    static final PgType TIMESTAMP = new PgType("timestamp", 0, 0);
    static final PgType TIMESTAMPTZ = new PgType("timestamptz", 0, 0);
    static final Duration HOUR = Duration.ofHours(1);

    static WriteHorizon horizonAt(String instant, boolean complete) {
        Instant at = Instant.parse(instant);
        return new WriteHorizon(at, at, null, complete ? List.of() : List.of("pid 1 (psql, activity not visible)"), complete, 0);
    }

    /** A wall-clock watermark as ClickHouse stores it: the local value as if it were UTC. */
    static Instant wall(String local) {
        return LocalDateTime.parse(local).toInstant(ZoneOffset.UTC);
    }

    @Test
    void the_upper_bound_is_the_horizon_in_the_writers_wall_clock() {
        WriteHorizon secondPass = horizonAt("2024-10-27T01:30:00Z", true);

        assertEquals(LocalDateTime.parse("2024-10-27T02:30"), StreamWindow.upper(TIMESTAMP, secondPass, BERLIN));
        assertEquals(OffsetDateTime.parse("2024-10-27T01:30Z"), StreamWindow.upper(TIMESTAMPTZ, secondPass, BERLIN));
    }

    @Test
    void after_clocks_go_back_it_reads_again_from_the_start_of_the_repeated_hour() {
        // first pass shipped rows up to 02:50 local; now, in the second pass, rows are written at 02:10 again
        Object lower = StreamWindow.lower(TIMESTAMP, wall("2024-10-27T02:50"), horizonAt("2024-10-27T01:30:00Z", true), BERLIN, HOUR);

        assertEquals(LocalDateTime.parse("2024-10-27T02:00"), lower);
    }

    @Test
    void keeps_reading_the_repeated_hour_for_the_lookback_after_it_ended_then_stops() {
        Instant mark = wall("2024-10-27T03:40");

        assertEquals(LocalDateTime.parse("2024-10-27T02:00"),
                StreamWindow.lower(TIMESTAMP, mark, horizonAt("2024-10-27T02:40:00Z", true), BERLIN, HOUR));
        assertEquals(LocalDateTime.parse("2024-10-27T03:40"),
                StreamWindow.lower(TIMESTAMP, mark, horizonAt("2024-10-27T03:10:00Z", true), BERLIN, HOUR));
    }

    @Test
    void a_watermark_before_the_repeated_hour_is_left_alone() {
        assertEquals(LocalDateTime.parse("2024-10-27T01:15"),
                StreamWindow.lower(TIMESTAMP, wall("2024-10-27T01:15"), horizonAt("2024-10-27T01:30:00Z", true), BERLIN, HOUR));
    }

    @Test
    void springing_forward_needs_no_re_read() {
        assertNull(StreamWindow.recentOverlapStart(BERLIN, Instant.parse("2024-03-31T01:30:00Z"), HOUR));
        assertEquals(LocalDateTime.parse("2024-03-31T03:10"),
                StreamWindow.lower(TIMESTAMP, wall("2024-03-31T03:10"), horizonAt("2024-03-31T01:30:00Z", true), BERLIN, HOUR));
    }

    @Test
    void timestamptz_columns_ignore_wall_clock_changes() {
        assertEquals(OffsetDateTime.parse("2024-10-27T00:50Z"),
                StreamWindow.lower(TIMESTAMPTZ, Instant.parse("2024-10-27T00:50:00Z"), horizonAt("2024-10-27T01:30:00Z", true), BERLIN, HOUR));
    }

    @Test
    void an_assumed_transaction_start_never_moves_the_lower_bound_back() {
        // the horizon itself waits for such a transaction: nothing new appears behind the watermark
        assertEquals(OffsetDateTime.parse("2024-06-01T12:00Z"),
                StreamWindow.lower(TIMESTAMPTZ, Instant.parse("2024-06-01T12:00:00Z"), horizonAt("2024-06-01T12:05:00Z", false), BERLIN, HOUR));
        assertEquals(LocalDateTime.parse("2024-06-01T12:00"),
                StreamWindow.lower(TIMESTAMP, wall("2024-06-01T12:00"), horizonAt("2024-06-01T12:05:00Z", false), BERLIN, HOUR));
    }

    @Test
    void a_backfill_has_no_lower_bound() {
        assertNull(StreamWindow.lower(TIMESTAMP, null, horizonAt("2024-06-01T12:05:00Z", true), BERLIN, HOUR));
    }

    @Test
    void a_timestamp_is_in_the_future_beyond_the_writers_wall_clock_and_beyond_the_hour_before_clocks_went_back() {
        // an ordinary day: the wall clock of the moment
        assertEquals(LocalDateTime.parse("2024-10-26T12:01"),
                StreamWindow.future(TIMESTAMP, Instant.parse("2024-10-26T10:01:00Z"), BERLIN));
        // second pass of the repeated hour, at 02:10 local: rows stamped 02:50 in the first pass are no future
        assertEquals(LocalDateTime.parse("2024-10-27T03:00"),
                StreamWindow.future(TIMESTAMP, Instant.parse("2024-10-27T01:10:00Z"), BERLIN));
        // once the clock is past the repeated hour, its own time again
        assertEquals(LocalDateTime.parse("2024-10-27T03:05"),
                StreamWindow.future(TIMESTAMP, Instant.parse("2024-10-27T02:05:00Z"), BERLIN));
        assertEquals(OffsetDateTime.parse("2024-10-27T01:10Z"),
                StreamWindow.future(TIMESTAMPTZ, Instant.parse("2024-10-27T01:10:00Z"), BERLIN));
    }
}
