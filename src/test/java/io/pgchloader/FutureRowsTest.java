package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.verify.Verifier;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Rows stamped in the future (an application clock ahead, a {@code timestamp} written in another zone)
 * arrive in the next cycle like any other, without moving a watermark past the rows written after them,
 * without being sent again while they stay in the future, and {@code --verify} compares them.
 */
class FutureRowsTest extends LoaderTestBase {

    private String now;

    private void eventsTable(String timestampType) throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("events.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events"));
        now = timestampType.equals("timestamptz") ? "now()" : "localtimestamp";
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, payload text NOT NULL,"
                + " created_at " + timestampType + " NOT NULL DEFAULT " + now + ", updated_at " + timestampType + ")");
    }

    private SyncStatus.Outcome cycle() {
        return loader.succeedingCycle("sync-events");
    }

    private void assertSameRows() throws SQLException {
        assertEquals(loader.pgRows("SELECT id, payload FROM events ORDER BY id"),
                loader.chRows("SELECT id, payload FROM events FINAL ORDER BY id"));
    }

    private String payload(long id) throws SQLException {
        List<String> rows = loader.chRows("SELECT payload FROM events FINAL WHERE id = " + id);
        return rows.isEmpty() ? null : rows.get(0);
    }

    private String targetComment() throws SQLException {
        return loader.chRows("SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = 'events'").get(0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"timestamp", "timestamptz"})
    void ships_a_row_stamped_in_the_future_in_the_next_cycle(String timestampType) throws Exception {
        eventsTable(timestampType);
        loader.start();
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'now' FROM generate_series(1, 10) g");
        cycle();
        loader.pg("INSERT INTO events (id, payload, created_at) VALUES (100, 'created tomorrow', " + now + " + interval '1 day')",
                "UPDATE events SET payload = 'updated tomorrow', updated_at = " + now + " + interval '1 day' WHERE id = 5",
                "INSERT INTO events (id, payload) VALUES (11, 'now')");

        SyncStatus.Outcome next = cycle();

        assertEquals("created tomorrow", payload(100));
        assertEquals("updated tomorrow", payload(5));
        assertEquals(2, next.rowsCreated(), next.message());
        assertEquals(1, next.rowsUpdated(), next.message());
        assertSameRows();

        // rows written afterwards with the present's timestamps arrive: the watermarks stayed at the horizon
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'later' FROM generate_series(12, 20) g",
                "UPDATE events SET payload = 'updated later', updated_at = " + now + " WHERE id = 6");
        SyncStatus.Outcome later = cycle();
        assertEquals(9, later.rowsCreated(), later.message());
        assertEquals(1, later.rowsUpdated(), later.message());
        assertSameRows();

        // while they stay in the future, ClickHouse holds them in that version: nothing is read or sent
        long copies = loader.chLong("SELECT count() FROM events");
        SyncStatus.Outcome idle = cycle();
        assertEquals(0, idle.batches(), idle.message());
        assertEquals(0, idle.rowsCreated() + idle.rowsUpdated(), idle.message());
        assertEquals(copies, loader.chLong("SELECT count() FROM events"));
    }

    @Test
    void a_future_row_changed_again_goes_again_and_only_then() throws Exception {
        eventsTable("timestamptz");
        loader.start();
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'now' FROM generate_series(1, 10) g",
                "UPDATE events SET payload = 'v1', updated_at = now() + interval '2 days' WHERE id = 3");
        cycle();
        assertEquals("v1", payload(3));
        assertEquals(0, cycle().batches());

        loader.pg("UPDATE events SET payload = 'v2', updated_at = now() + interval '3 days' WHERE id = 3");
        SyncStatus.Outcome changed = cycle();

        assertEquals(1, changed.rowsUpdated(), changed.message());
        assertEquals("v2", payload(3));
        assertEquals(0, cycle().batches());
        assertSameRows();
    }

    @Test
    void a_late_commit_still_arrives_after_a_future_row_was_copied() throws Exception {
        eventsTable("timestamptz");
        loader.start();
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'now' FROM generate_series(1, 10) g");
        cycle();
        try (Connection late = loader.postgres()) {
            late.setAutoCommit(false);
            try (Statement s = late.createStatement()) {
                // stamped with the transaction's start, committed after the future row went
                s.execute("INSERT INTO events (id, payload) VALUES (50, 'late insert')");
                s.execute("UPDATE events SET payload = 'late update', updated_at = now() WHERE id = 2");
            }
            Thread.sleep(20);
            loader.pg("INSERT INTO events (id, payload, created_at) VALUES (100, 'tomorrow', now() + interval '1 day')",
                    "UPDATE events SET payload = 'updated tomorrow', updated_at = now() + interval '1 day' WHERE id = 3",
                    "INSERT INTO events (id, payload) VALUES (11, 'meanwhile')");
            cycle();
            assertEquals("tomorrow", payload(100));
            assertEquals("updated tomorrow", payload(3));
            late.commit();
        }
        cycle();

        assertEquals("late insert", payload(50));
        assertEquals("late update", payload(2));
        assertSameRows();
    }

    /**
     * Time passing, played by moving POSTGRES_TIMEZONE ahead: the writers stamp {@code timestamp} columns
     * with UTC's wall clock, one row with a time two hours ahead. A loader that reads the wall clock three
     * hours ahead of UTC then sees that row's time as come, and the rows written after it was copied as
     * due, though their timestamps are below it: taken as the watermark, that row would hide them for good.
     */
    @Test
    void rows_written_after_a_future_row_was_copied_arrive_once_its_time_has_come() throws Exception {
        eventsTable("timestamp");
        String utc = "(now() AT TIME ZONE 'UTC')";
        loader.start(Map.of("POSTGRES_TIMEZONE", "UTC"));
        loader.pg("INSERT INTO events (id, payload, created_at) SELECT g, 'first', " + utc + " FROM generate_series(1, 10) g");
        cycle();
        loader.pg("INSERT INTO events (id, payload, created_at) VALUES (100, 'two hours ahead', " + utc + " + interval '2 hours')",
                "UPDATE events SET payload = 'updated two hours ahead', updated_at = " + utc + " + interval '2 hours' WHERE id = 1");
        cycle();
        assertEquals("two hours ahead", payload(100));
        assertTrue(targetComment().contains("rows stamped in the future"), targetComment());
        loader.pg("INSERT INTO events (id, payload, created_at) SELECT g, 'written after', " + utc + " FROM generate_series(11, 20) g",
                "UPDATE events SET payload = 'updated after', updated_at = " + utc + " WHERE id = 2");
        loader.close();

        loader.start(Map.of("POSTGRES_TIMEZONE", "Etc/GMT-3"));
        SyncStatus.Outcome due = cycle();

        // the ten and the update, and once more the two rows whose time came: the watermarks pass them only now
        assertEquals(11, due.rowsCreated(), due.message());
        assertEquals(2, due.rowsUpdated(), due.message());
        assertEquals("updated after", payload(2));
        assertSameRows();
        // nothing is ahead of the horizon any more: the watermarks are taken from every row again
        assertFalse(targetComment().contains("pg-ch-loader"), targetComment());
        assertEquals(0, cycle().batches());
    }

    /** The limit moves only after a stream's rows are in; a cycle killed before leaves it lower. */
    @Test
    void a_limit_a_killed_cycle_left_behind_reads_more_again_never_less() throws Exception {
        eventsTable("timestamptz");
        loader.start();
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'first' FROM generate_series(1, 10) g",
                "INSERT INTO events (id, payload, created_at) VALUES (100, 'tomorrow', now() + interval '1 day')");
        cycle();
        String older = targetComment();
        assertTrue(older.contains("rows stamped in the future"), older);
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'second' FROM generate_series(11, 20) g");
        cycle();
        assertFalse(targetComment().equals(older), "the limit moved up");
        // as if that cycle had been killed after its INSERTs, before it moved the limit
        loader.ch("ALTER TABLE events MODIFY COMMENT '" + older.replace("'", "\\'") + "'");
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'third' FROM generate_series(21, 30) g");

        SyncStatus.Outcome after = cycle();

        assertEquals(20, after.rowsCreated(), "rows 11 to 20 again, and the new ones: " + after.message());
        assertSameRows();
        assertEquals(0, cycle().batches());
    }

    @Test
    void verify_compares_rows_stamped_in_the_future() throws Exception {
        eventsTable("timestamptz");
        loader.start();
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'now' FROM generate_series(1, 10) g",
                "INSERT INTO events (id, payload, created_at) VALUES (100, 'tomorrow', now() + interval '1 day')",
                "UPDATE events SET payload = 'updated tomorrow', updated_at = now() + interval '1 day' WHERE id = 3");
        cycle();

        Verifier.Report equal = Verifier.of(loader.app()).run();
        assertEquals(0, equal.exitCode(), String.join("\n", equal.lines()));
        assertTrue(String.join("\n", equal.lines()).contains("11 rows equal"), String.join("\n", equal.lines()));
        assertTrue(String.join("\n", equal.lines()).contains("and 2 rows stamped in the future compared"),
                String.join("\n", equal.lines()));

        loader.ch("DELETE FROM events WHERE id = 100");
        Verifier.Report missing = Verifier.of(loader.app()).run();
        assertEquals(1, missing.exitCode(), String.join("\n", missing.lines()));
        assertTrue(String.join("\n", missing.lines()).contains("id 100: missing in ClickHouse"), String.join("\n", missing.lines()));
    }

    /**
     * The price of copying a future row at once: a later change stamped before that time cannot replace
     * it in ClickHouse (the version is the timestamp). It must not go unseen.
     */
    @Test
    void verify_shows_a_change_hidden_behind_a_version_stamped_in_the_future() throws Exception {
        eventsTable("timestamptz");
        loader.start();
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'now' FROM generate_series(1, 10) g",
                "INSERT INTO events (id, payload, created_at) VALUES (100, 'tomorrow', now() + interval '1 day')");
        cycle();
        loader.pg("UPDATE events SET payload = 'corrected', updated_at = now() WHERE id = 100");
        cycle();
        assertEquals("tomorrow", payload(100), "ClickHouse keeps the newer version, the one stamped tomorrow");

        Verifier.Report report = Verifier.of(loader.app()).run();

        String text = String.join("\n", report.lines());
        assertEquals(1, report.exitCode(), text);
        assertTrue(text.contains("id 100: ClickHouse has version"), text);
        assertTrue(text.contains("stamped in the future"), text);
    }
}
