package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import java.util.List;
import java.util.TimeZone;
import org.junit.jupiter.api.Test;

/**
 * Times arrive exactly, whatever the JVM's zone (the suite runs under America/Sao_Paulo and again under
 * Europe/Berlin): microseconds, timestamp as written, timestamptz as the instant, wall-clock values that
 * do not exist or exist twice in the JVM's zone, dates before 1970. The ClickHouse driver applies the JVM
 * zone to LocalDateTime (clickhouse-java issue 3127); the loader never hands it one.
 */
class TimeValuesTest extends LoaderTestBase {


    static final String VALUES = """
            (1, '1900-01-01 00:00:00', '1900-01-01 00:00:00+00', '1900-01-01'),
            (2, '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999999+00', '1969-12-31'),
            (3, '1970-01-01 00:00:00.000001', '1970-01-01 00:00:00.000001+00', '1970-01-01'),
            (4, '2024-03-31 02:30:00.123456', '2024-03-31 02:30:00.123456+02', '2024-03-31'),
            (5, '2024-10-27 02:30:00.654321', '2024-10-27 02:30:00.654321+01', '2024-10-27'),
            (6, '2024-10-27 02:30:00.654321', '2024-10-27 02:30:00.654321+02', '2024-10-27'),
            (7, '2021-03-14 02:30:00', '2021-03-14 02:30:00-05', '2021-03-14'),
            (8, '2023-10-15 00:00:00.5', '2023-10-15 00:30:00-03', '2023-10-15'),
            (9, '2105-06-30 23:59:59.999999', '2105-06-30 23:59:59.999999+14', '2105-06-30'),
            (10, '2299-12-31 23:59:59.999999', '2299-12-31 12:00:00-11', '2299-12-31')
            """;

    @Test
    void keeps_every_microsecond_and_every_wall_clock_value_in_any_jvm_zone() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("times.yaml",
                LoaderFixture.templatedRoute("sync-times", "table", "times", "createdColumn", "created", "updatedColumn", "changed"));
        loader.pg("CREATE TABLE times (id int PRIMARY KEY, ts timestamp NOT NULL, tstz timestamptz, d date,"
                        + " created timestamp NOT NULL DEFAULT '2024-01-01 00:00:00', changed timestamptz)",
                "INSERT INTO times (id, ts, tstz, d) VALUES " + VALUES);
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-times");
        loader.pg("UPDATE times SET changed = '2024-10-27 01:30:00.000001+00' WHERE id = 5");
        SyncStatus.Outcome update = loader.cycle("sync-times");

        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(10, outcome.rowsCreated(), TimeZone.getDefault().getID());
        assertEquals(1, update.rowsUpdated(), update.message());
        assertEquals(loader.pgRows("SELECT id, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US'),"
                        + " to_char(tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), d::text,"
                        + " coalesce(to_char(changed AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '-') FROM times ORDER BY id"),
                loader.chRows("SELECT id, toString(ts), toString(tstz), toString(d), ifNull(toString(changed), '-')"
                        + " FROM times FINAL ORDER BY id"),
                "JVM zone " + TimeZone.getDefault().getID());
    }

    @Test
    void text_forms_with_a_time_zone_arrive_in_utc_whatever_the_jvm_zone() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("spans.yaml", LoaderFixture.templatedRoute("sync-spans", "table", "spans"));
        loader.pg("CREATE TABLE spans (id int PRIMARY KEY, span tstzrange, moments timestamptz[],"
                        + " created_at timestamp NOT NULL DEFAULT '2024-01-01', updated_at timestamp)",
                "INSERT INTO spans (id, span, moments) VALUES (1, tstzrange('2024-06-01 12:00+02', '2024-06-02 00:00+00'),"
                        + " ARRAY['2024-06-01 12:00:00.5+05:30'::timestamptz])");
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-spans");

        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(List.of("[\"2024-06-01 10:00:00+00\",\"2024-06-02 00:00:00+00\") | {\"2024-06-01 06:30:00.5+00\"}"),
                loader.chRows("SELECT span, moments FROM spans FINAL"), "JVM zone " + TimeZone.getDefault().getID());
    }

    @Test
    void a_date_clickhouse_cannot_hold_stops_the_table_with_the_column_named() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("old.yaml", LoaderFixture.templatedRoute("sync-old", "table", "old"));
        loader.pg("CREATE TABLE old (id int PRIMARY KEY, born date, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO old VALUES (1, '1850-05-01', '2024-01-01', NULL)");
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-old");

        assertTrue(!outcome.succeeded() && outcome.message().contains("column born") && outcome.message().contains("1850-05-01"),
                outcome.message());
        assertEquals(0, loader.chLong("SELECT count() FROM old"), "nothing half-written");
    }
}
