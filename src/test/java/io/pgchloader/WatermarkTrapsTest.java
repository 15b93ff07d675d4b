package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ways a timestamp watermark loses rows, each played against the real databases: late commits,
 * ties on the watermark, repeated updates. The seed's rule ({@code > max(timestamp)}) is played too, to
 * show the row it loses and the loader keeps.
 */
class WatermarkTrapsTest extends LoaderTestBase {


    private void eventsTable(String timestampType, Map<String, String> settings) throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("events.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events"));
        String now = timestampType.equals("timestamptz") ? "now()" : "localtimestamp";
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, payload text NOT NULL,"
                + " created_at " + timestampType + " NOT NULL DEFAULT " + now + ", updated_at " + timestampType + ")");
        loader.start(settings);
    }

    private SyncStatus.Outcome cycle() {
        return loader.succeedingCycle("sync-events");
    }

    private void assertSameRows() throws SQLException {
        assertEquals(loader.pgRows("SELECT id, payload FROM events ORDER BY id"),
                loader.chRows("SELECT id, payload FROM events FINAL ORDER BY id"));
        assertEquals(0, loader.chLong("SELECT count() FROM (SELECT id FROM events FINAL GROUP BY id HAVING count() > 1)"));
    }

    @Test
    void a_watermark_read_above_the_last_one_reads_the_whole_target_again_when_clickhouse_lost_the_rows_there()
            throws Exception {
        eventsTable("timestamp", Map.of());
        loader.pg("INSERT INTO events (id, payload, created_at) SELECT g, 'row ' || g,"
                        + " localtimestamp - make_interval(secs => 100 - g) FROM generate_series(1, 100) g",
                "UPDATE events SET payload = 'changed', updated_at = localtimestamp - interval '50 seconds' WHERE id <= 10");
        cycle();
        assertEquals(0, cycle().rowsCreated(), "an idle cycle, its watermark read above the first one's");
        assertTrue(loader.chLong("SELECT count() FROM system.data_skipping_indices WHERE database = currentDatabase()"
                + " AND table = 'events' AND name = 'pgch_version' AND type = 'minmax' AND expr = '_version'") == 1);
        assertTrue(loader.chLong("SELECT count() FROM system.data_skipping_indices WHERE database = currentDatabase()"
                + " AND table = 'events' AND name = 'pgch_created' AND type = 'minmax' AND expr = 'created_at'") == 1);

        // ClickHouse loses the newest rows of both streams (a restored backup, a hand-made DELETE)
        loader.ch("ALTER TABLE events DELETE WHERE id > 90 OR id <= 10 SETTINGS mutations_sync = 2");
        SyncStatus.Outcome after = cycle();
        assertSameRows();
        assertEquals(10, after.rowsCreated(), "the ten lost created rows, from the watermark ClickHouse holds now: " + after);
        assertEquals(10, after.rowsUpdated(), "the ten lost updated rows: " + after);
        assertEquals(0, cycle().rowsCreated());
    }

    @Test
    void an_idle_cycle_reads_the_newest_granules_though_old_rows_were_updated_since_the_last_insert() throws Exception {
        eventsTable("timestamp", Map.of());
        // 100,000 rows created a day ago in key order; every tenth updated after the last insert, scattered over
        // every granule of the target: by _version alone, the created mark's queries would read every granule
        loader.pg("INSERT INTO events (id, payload, created_at) SELECT g, 'row ' || g,"
                        + " localtimestamp - interval '1 day' + make_interval(secs => g * 0.1) FROM generate_series(1, 100000) g",
                "UPDATE events SET payload = 'changed', updated_at = localtimestamp - interval '1 hour'"
                        + " + make_interval(secs => id * 0.01) WHERE id % 10 = 0");
        cycle();
        loader.ch("OPTIMIZE TABLE events FINAL");
        assertEquals(0, cycle().rowsCreated(), "the first cycle after the backfill");

        long before = selectedRows();
        SyncStatus.Outcome idle = cycle();
        long read = selectedRows() - before;
        assertEquals(0, idle.rowsCreated() + idle.rowsUpdated());
        assertTrue(read < 50_000, "an idle cycle read " + read + " rows of a 100,000-row target: the watermark query"
                + " must skip the granules that hold nothing at or above the last watermarks");
        assertSameRows();
    }

    /** Rows ClickHouse has read from tables so far, every query of the server counted. */
    private long selectedRows() throws SQLException {
        return loader.chLong("SELECT value FROM system.events WHERE event = 'SelectedRows'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"timestamp", "timestamptz"})
    void never_loses_a_row_committed_late(String timestampType) throws Exception {
        eventsTable(timestampType, Map.of());
        String now = timestampType.equals("timestamptz") ? "now()" : "localtimestamp";
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'early' FROM generate_series(1, 10) g");
        loader.ch("CREATE TABLE events_seed (id Int64, payload String, created_at DateTime64(6, 'UTC'),"
                + " updated_at Nullable(DateTime64(6, 'UTC'))) ENGINE = MergeTree ORDER BY id");

        try (Connection late = loader.postgres()) {
            late.setAutoCommit(false);
            try (Statement s = late.createStatement()) {
                // stamped with the transaction's start, committed only after other rows went by
                s.execute("INSERT INTO events (id, payload) VALUES (1000, 'late insert')");
                s.execute("UPDATE events SET payload = 'late update', updated_at = " + now + " WHERE id = 1");
            }
            for (int round = 1; round <= 3; round++) {
                Thread.sleep(20);
                loader.pg("INSERT INTO events (id, payload) SELECT 100 * " + round + " + g, 'meanwhile' FROM generate_series(1, 20) g",
                        "UPDATE events SET payload = 'meanwhile', updated_at = " + now + " WHERE id = " + (round + 1));
                cycle();
                seedStyleSync(timestampType);
            }
            assertEquals(List.of("early"), loader.chRows("SELECT payload FROM events FINAL WHERE id = 1"),
                    "the open transaction's update is not visible yet");
            late.commit();
        }
        cycle();
        seedStyleSync(timestampType);

        assertSameRows();
        assertEquals(List.of("late update"), loader.chRows("SELECT payload FROM events FINAL WHERE id = 1"));
        assertEquals(List.of("late insert"), loader.chRows("SELECT payload FROM events FINAL WHERE id = 1000"));
        // the seed's strict "> max(timestamp)" never sees either late row
        assertEquals(List.of(), loader.chRows("SELECT payload FROM events_seed WHERE id = 1000"));
        assertEquals(List.of(), loader.chRows("SELECT payload FROM events_seed WHERE id = 1 AND payload = 'late update'"));
    }

    /**
     * The seed's algorithm, for comparison: take max(coalesce(updated, created)) in ClickHouse and copy
     * the rows strictly after it.
     */
    private void seedStyleSync(String timestampType) throws SQLException {
        String max;
        try (Connection ch = loader.clickHouse(); Statement s = ch.createStatement();
             ResultSet rs = s.executeQuery("SELECT toString(max(coalesce(updated_at, created_at))) FROM events_seed"
                     + " HAVING count() > 0")) {
            max = rs.next() ? rs.getString(1) : null;
        }
        try (Connection pg = loader.postgres(); Connection ch = loader.clickHouse();
             PreparedStatement select = pg.prepareStatement("SELECT id, payload, created_at, updated_at FROM events"
                     + (max == null ? "" : " WHERE coalesce(updated_at, created_at) > ?"));
             PreparedStatement insert = ch.prepareStatement("INSERT INTO events_seed VALUES (?, ?, ?, ?)")) {
            if (max != null) {
                LocalDateTime mark = LocalDateTime.parse(max.replace(' ', 'T'));
                select.setObject(1, timestampType.equals("timestamptz") ? mark.atOffset(ZoneOffset.UTC) : mark);
            }
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    insert.setLong(1, rs.getLong(1));
                    insert.setString(2, rs.getString(2));
                    insert.setObject(3, instant(rs, 3, timestampType));
                    Object updated = instant(rs, 4, timestampType);
                    if (updated == null) {
                        insert.setNull(4, Types.OTHER);
                    } else {
                        insert.setObject(4, updated);
                    }
                    insert.addBatch();
                }
            }
            insert.executeBatch();
        }
    }

    private static Object instant(ResultSet rs, int column, String timestampType) throws SQLException {
        if (timestampType.equals("timestamptz")) {
            OffsetDateTime v = rs.getObject(column, OffsetDateTime.class);
            return v == null ? null : v.toInstant();
        }
        LocalDateTime v = rs.getObject(column, LocalDateTime.class);
        return v == null ? null : v.toInstant(ZoneOffset.UTC);
    }

    @Test
    void never_loses_rows_tied_on_the_watermark() throws Exception {
        eventsTable("timestamp", Map.of());
        // one statement, 12,000 rows, one timestamp: more than two batches share it
        loader.pg("INSERT INTO events (id, payload, created_at) SELECT g, 'tie', timestamp '2024-05-05 12:00:00.123456'"
                + " FROM generate_series(1, 12000) g");
        assertEquals(3, cycle().batches());
        // later, more rows with exactly the timestamp the created watermark holds
        loader.pg("INSERT INTO events (id, payload, created_at) SELECT g, 'same instant, later', timestamp '2024-05-05 12:00:00.123456'"
                + " FROM generate_series(12001, 12500) g");
        assertEquals(500, cycle().rowsCreated());

        // the same on the updated column
        loader.pg("UPDATE events SET payload = 'updated', updated_at = timestamp '2024-06-01 00:00:00' WHERE id <= 12000");
        assertEquals(12_000, cycle().rowsUpdated());
        loader.pg("UPDATE events SET payload = 'updated later, same instant', updated_at = timestamp '2024-06-01 00:00:00'"
                + " WHERE id > 12000");
        cycle();

        assertSameRows();
        assertEquals(12_500, loader.chLong("SELECT count() FROM events FINAL"));
        assertEquals(500, loader.chLong("SELECT count() FROM events FINAL WHERE payload = 'updated later, same instant'"));
    }

    @Test
    void keeps_only_the_latest_version_of_a_row_updated_again_and_again() throws Exception {
        eventsTable("timestamptz", Map.of());
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'v0' FROM generate_series(1, 100) g");
        cycle();

        for (int version = 1; version <= 5; version++) {
            loader.pg("UPDATE events SET payload = 'v" + version + "', updated_at = clock_timestamp() WHERE id = 7");
        }
        // updated_at goes from NULL to a value
        loader.pg("UPDATE events SET payload = 'first update', updated_at = now() WHERE id = 8");
        cycle();
        loader.pg("UPDATE events SET payload = 'v6', updated_at = clock_timestamp() WHERE id = 7");
        cycle();
        cycle();

        assertEquals(List.of("v6"), loader.chRows("SELECT payload FROM events FINAL WHERE id = 7"));
        assertEquals(List.of("first update"), loader.chRows("SELECT payload FROM events FINAL WHERE id = 8"));
        assertSameRows();
    }

    /** Every copy ClickHouse holds, before FINAL: a row sent again would show here. */
    private long copies() throws SQLException {
        return loader.chLong("SELECT count() FROM events");
    }

    private static void assertSendsNothing(SyncStatus.Outcome idle) {
        assertEquals(0, idle.rowsCreated(), idle.message());
        assertEquals(0, idle.rowsUpdated(), idle.message());
        // every row read from PostgreSQL goes into a batch: none means none was read
        assertEquals(0, idle.batches(), idle.message());
        assertTrue(idle.message().contains("(0 read again)"), idle.message());
    }

    @ParameterizedTest
    @ValueSource(strings = {"timestamp", "timestamptz"})
    void an_idle_cycle_after_a_ten_thousand_row_tie_sends_nothing(String timestampType) throws Exception {
        eventsTable(timestampType, Map.of());
        String now = timestampType.equals("timestamptz") ? "now()" : "localtimestamp";
        loader.pg("INSERT INTO events (id, payload) VALUES (0, 'before')");
        cycle();
        // one statement, one timestamp: the created watermark sits on 10,000 rows
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'tie' FROM generate_series(1, 10000) g");
        assertEquals(10_000, cycle().rowsCreated());
        long copies = copies();

        assertSendsNothing(cycle());
        assertSendsNothing(cycle());
        assertEquals(copies, copies(), "no row was sent again");

        // the same on the updated watermark
        loader.pg("UPDATE events SET payload = 'updated', updated_at = " + now + " WHERE id > 0");
        assertEquals(10_000, cycle().rowsUpdated());
        copies = copies();

        assertSendsNothing(cycle());
        assertEquals(copies, copies(), "no row was sent again");
        assertSameRows();
    }

    @Test
    void rows_stamped_with_the_watermark_and_committed_late_still_arrive() throws Exception {
        eventsTable("timestamp", Map.of());
        loader.pg("INSERT INTO events (id, payload, created_at) SELECT g, 'tie', timestamp '2024-05-05 12:00:00.123456'"
                + " FROM generate_series(1, 10000) g");
        cycle();
        loader.pg("UPDATE events SET payload = 'updated', updated_at = timestamp '2024-06-01 00:00:00' WHERE id <= 5000");
        cycle();

        try (Connection late = loader.postgres()) {
            late.setAutoCommit(false);
            try (Statement s = late.createStatement()) {
                // exactly the watermarks' timestamps, committed only after cycles have passed them
                s.execute("INSERT INTO events (id, payload, created_at) SELECT g, 'late tie', timestamp '2024-05-05 12:00:00.123456'"
                        + " FROM generate_series(20001, 20003) g");
                s.execute("UPDATE events SET payload = 'late update', updated_at = timestamp '2024-06-01 00:00:00'"
                        + " WHERE id IN (7000, 8000)");
            }
            assertSendsNothing(cycle());
            late.commit();
        }
        SyncStatus.Outcome after = cycle();

        assertEquals(3, after.rowsCreated(), after.message());
        assertEquals(2, after.rowsUpdated(), after.message());
        assertTrue(after.message().contains("(0 read again)"), "only the late rows were read: " + after.message());
        assertSameRows();
        assertEquals(List.of("late update", "late update"),
                loader.chRows("SELECT payload FROM events FINAL WHERE id IN (7000, 8000)"));
        assertSendsNothing(cycle());
    }

    @Test
    void sends_again_only_the_tied_rows_clickhouse_lacks() throws Exception {
        eventsTable("timestamptz", Map.of());
        loader.pg("INSERT INTO events (id, payload) VALUES (0, 'before')");
        cycle();
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'tie' FROM generate_series(1, 12000) g");
        cycle();
        // as if a cycle had died halfway through the tie: ClickHouse holds only a part of it
        loader.ch("DELETE FROM events WHERE id > 8000");

        SyncStatus.Outcome resumed = cycle();

        assertEquals(4_000, resumed.rowsCreated(), resumed.message());
        assertTrue(resumed.message().contains("(0 read again)"), resumed.message());
        assertEquals(12_001, copies(), "the rows ClickHouse held were not sent again");
        assertSameRows();
        assertSendsNothing(cycle());

        // far more missing than a query can list: the tie is read again whole, once
        loader.ch("DELETE FROM events WHERE id > 100");
        SyncStatus.Outcome whole = cycle();
        assertEquals(11_900, whole.rowsCreated(), whole.message());
        assertTrue(whole.message().contains("(100 read again)"), whole.message());
        assertSameRows();
        assertSendsNothing(cycle());
    }

    /** The keys are compared by their text in both databases: every key type must render alike there. */
    @Test
    void an_idle_cycle_sends_nothing_whatever_the_key_type() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-tags", "table", "tags")
                        + LoaderFixture.templatedRoute("sync-devices", "table", "devices")
                        + LoaderFixture.templatedRoute("sync-lines", "table", "lines")
                        + LoaderFixture.templatedRoute("sync-prices", "table", "prices")
                        + LoaderFixture.templatedRoute("sync-days", "table", "days")
                        + LoaderFixture.templatedRoute("sync-moments", "table", "moments")
                        + LoaderFixture.templatedRoute("sync-flags", "table", "flags"));
        String columns = " created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz";
        loader.pg(
                // text: non-Latin letters, emoji, quotes, backslashes, separators, trailing spaces, empty
                "CREATE TABLE tags (name text PRIMARY KEY," + columns + ")",
                "INSERT INTO tags (name) VALUES (''), ('a'), ('a '), ('Ünïcødé 😀'), ('it''s'), ('back\\slash'),"
                        + " ('tab\tand' || chr(31) || 'us'), ('日本語'), ('?'), ('$1'), ('Z'), ('_')",
                "INSERT INTO tags (name) SELECT 'tag-' || g FROM generate_series(1, 300) g",
                "CREATE TABLE devices (id uuid PRIMARY KEY," + columns + ")",
                "INSERT INTO devices (id) SELECT md5(g::text)::uuid FROM generate_series(1, 400) g",
                // composite, with char(n) whose padding the loader keeps
                "CREATE TABLE lines (order_no int, code char(4), qty int," + columns + ", PRIMARY KEY (order_no, code))",
                "INSERT INTO lines (order_no, code, qty) SELECT g / 3, chr(65 + g % 3) || 'x', g FROM generate_series(0, 299) g",
                "CREATE TABLE prices (price numeric(10,3) PRIMARY KEY," + columns + ")",
                "INSERT INTO prices (price) VALUES (0), (1.5), (-2.25), (100), (0.001), (1.10)",
                "CREATE TABLE days (day date PRIMARY KEY," + columns + ")",
                "INSERT INTO days (day) SELECT d::date FROM generate_series(date '1999-12-25', date '2000-01-10', interval '1 day') d",
                "CREATE TABLE moments (at timestamp PRIMARY KEY," + columns + ")",
                "INSERT INTO moments (at) SELECT timestamp '2024-10-27 02:30:00.000001' + g * interval '1.5 second'"
                        + " FROM generate_series(1, 50) g",
                "CREATE TABLE flags (flag boolean, n bigint, label text," + columns + ", PRIMARY KEY (flag, n, label))",
                "INSERT INTO flags (flag, n, label) SELECT g % 2 = 0, -g, 'l' || g FROM generate_series(1, 40) g");
        List<String> tables = List.of("tags", "devices", "lines", "prices", "days", "moments", "flags");
        for (String table : tables) {
            // a part of each table updated by one statement: the updated watermark sits on a tie too
            loader.pg("UPDATE " + table + " SET updated_at = now() WHERE ctid IN (SELECT ctid FROM " + table + " LIMIT 3)");
        }
        loader.start();
        for (String table : tables) {
            loader.succeedingCycle("sync-" + table);
        }

        for (String table : tables) {
            SyncStatus.Outcome idle = loader.succeedingCycle("sync-" + table);
            assertSendsNothing(idle);
        }
    }
}
