package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The write horizon against writers it cannot see into: sessions with {@code track_activities} off, other
 * roles' sessions without {@code pg_read_all_stats}, and a backend caught between taking its statement's
 * timestamp and publishing its transaction. In each, a row stamped before rows that were already synced
 * commits late, and must still arrive, and no newer version may hide it.
 */
class WriteHorizonTest extends LoaderTestBase {

    private void eventsTable(Map<String, String> settings, String... moreSql) throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("events.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, payload text NOT NULL,"
                + " created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz)");
        loader.pg(moreSql);
        loader.start(settings);
    }

    private SyncStatus.Outcome cycle() {
        return loader.succeedingCycle("sync-events");
    }

    private void assertSameRows() throws SQLException {
        assertEquals(loader.pgRows("SELECT id, payload FROM events ORDER BY id"),
                loader.chRows("SELECT id, payload FROM events FINAL ORDER BY id"));
    }

    private static String[] unprivilegedRoles() {
        return new String[] {
                "DO $$ BEGIN CREATE ROLE writer_role LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
                "DO $$ BEGIN CREATE ROLE loader_role LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
                "GRANT ALL ON events TO writer_role",
                "GRANT SELECT ON events TO loader_role"};
    }

    @Test
    void never_loses_the_late_commit_of_a_session_with_track_activities_off() throws Exception {
        eventsTable(Map.of());
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'early' FROM generate_series(1, 10) g");
        cycle();

        try (Connection late = loader.postgres()) {
            try (Statement s = late.createStatement()) {
                s.execute("SET track_activities = off");
            }
            late.setAutoCommit(false);
            try (Statement s = late.createStatement()) {
                s.execute("INSERT INTO events (id, payload) VALUES (1000, 'late, untracked')");
            }
            Thread.sleep(20);
            loader.pg("INSERT INTO events (id, payload) SELECT g, 'meanwhile' FROM generate_series(11, 30) g");
            cycle();
            assertEquals(10, loader.chLong("SELECT count() FROM events FINAL"),
                    "rows stamped after the untracked transaction began wait for it");
            late.commit();
        }
        cycle();

        assertSameRows();
        assertEquals(31, loader.chLong("SELECT count() FROM events FINAL"));
    }

    @Test
    void remembers_when_a_transaction_began_after_its_session_turns_tracking_off() throws Exception {
        eventsTable(Map.of());
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'early' FROM generate_series(1, 10) g");
        cycle();

        try (Connection late = loader.postgres()) {
            late.setAutoCommit(false);
            try (Statement s = late.createStatement()) {
                s.execute("INSERT INTO events (id, payload) VALUES (1000, 'late')");
            }
            Thread.sleep(20);
            loader.pg("INSERT INTO events (id, payload) SELECT g, 'meanwhile' FROM generate_series(11, 30) g");
            cycle();
            try (Statement s = late.createStatement()) {
                // from now on pg_stat_activity no longer shows when this transaction began
                s.execute("SET track_activities = off");
            }
            cycle();
            assertEquals(10, loader.chLong("SELECT count() FROM events FINAL"), "still held back by the late transaction");
            late.commit();
        }
        cycle();

        assertSameRows();
        assertEquals(31, loader.chLong("SELECT count() FROM events FINAL"));
    }

    @Test
    void without_pg_read_all_stats_never_lets_a_newer_version_hide_an_older_transactions_update() throws Exception {
        eventsTable(Map.of("POSTGRES_USER", "loader_role"), unprivilegedRoles());
        loader.pg("INSERT INTO events (id, payload) VALUES (1, 'v0')");
        cycle();

        try (Connection a = loader.postgresAs("writer_role"); Connection b = loader.postgresAs("writer_role")) {
            a.setAutoCommit(false);
            try (Statement s = a.createStatement()) {
                // A's now() is taken here, before B's
                s.execute("SELECT now()");
            }
            Thread.sleep(20);
            try (Statement s = b.createStatement()) {
                s.execute("UPDATE events SET payload = 'B', updated_at = now() WHERE id = 1");
                s.execute("INSERT INTO events (id, payload) VALUES (2, 'inserted by B')");
            }
            cycle();
            try (Statement s = a.createStatement()) {
                s.execute("UPDATE events SET payload = 'A', updated_at = now() WHERE id IN (1, 2)");
            }
            a.commit();
        }
        cycle();

        // PostgreSQL holds A's values, stamped older than B's: ClickHouse must not keep B's
        assertEquals(List.of("1 | A", "2 | A"), loader.pgRows("SELECT id, payload FROM events ORDER BY id"));
        assertSameRows();
    }

    @Test
    void without_pg_read_all_stats_a_transaction_open_before_the_first_look_holds_rows_back_and_loses_none() throws Exception {
        eventsTable(Map.of("POSTGRES_USER", "loader_role", "SYNC_LOOKBACK_SECONDS", "600"), unprivilegedRoles());

        try (Connection late = loader.postgresAs("writer_role")) {
            late.setAutoCommit(false);
            try (Statement s = late.createStatement()) {
                s.execute("INSERT INTO events (id, payload) VALUES (1000, 'late insert')");
            }
            Thread.sleep(20);
            loader.pg("INSERT INTO events (id, payload) SELECT g, 'meanwhile' FROM generate_series(1, 20) g");
            SyncStatus.Outcome held = cycle();
            assertEquals(0, held.rowsCreated(), "the loader cannot know when that transaction began: it assumes up to the lookback");
            late.commit();
        }
        cycle();

        assertSameRows();
        assertEquals(21, loader.chLong("SELECT count() FROM events FINAL"));
    }

    @Test
    void without_pg_read_all_stats_short_transactions_of_other_roles_do_not_hold_rows_back() throws Exception {
        eventsTable(Map.of("POSTGRES_USER", "loader_role"), unprivilegedRoles());
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'now' FROM generate_series(1, 20) g");

        assertEquals(20, cycle().rowsCreated());
    }

    /**
     * PostgreSQL's issue: a statement's start is its transaction's {@code now()}, taken before the
     * transaction shows in {@code pg_stat_activity} or {@code pg_locks}. A debugger holds the writer's
     * backend right there ({@code StartTransactionCommand}) while a cycle runs.
     */
    @Test
    void never_loses_a_row_whose_transaction_was_not_yet_published() throws Exception {
        eventsTable(Map.of());
        loader.pg("INSERT INTO events (id, payload) SELECT g, 'early' FROM generate_series(1, 10) g");
        cycle();

        try (Connection paused = loader.postgres()) {
            int pid = (int) pid(paused);
            Path go = tmp.resolve("release");
            Process gdb = pauseAtTransactionStart(pid, go);
            try {
                CompletableFuture<Void> insert = CompletableFuture.runAsync(() -> {
                    try (Statement s = paused.createStatement()) {
                        s.execute("INSERT INTO events (id, payload) VALUES (1000, 'stamped before it showed')");
                    } catch (SQLException e) {
                        throw new IllegalStateException(e);
                    }
                });
                awaitStatementWithoutTransaction(pid);
                Thread.sleep(20);
                loader.pg("INSERT INTO events (id, payload) SELECT g, 'meanwhile' FROM generate_series(11, 30) g");
                cycle();
                assertEquals(10, loader.chLong("SELECT count() FROM events FINAL"),
                        "rows stamped after the paused statement began wait for it");
                Files.createFile(go);
                insert.get(60, TimeUnit.SECONDS);
            } finally {
                // let gdb take its breakpoint out and detach: a killed gdb would leave it in the backend
                if (!Files.exists(go)) {
                    Files.createFile(go);
                }
                if (!gdb.waitFor(30, TimeUnit.SECONDS)) {
                    gdb.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
        cycle();

        assertSameRows();
        assertEquals(31, loader.chLong("SELECT count() FROM events FINAL"));
    }

    private static long pid(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement(); var rs = s.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** gdb stops the backend at StartTransactionCommand and lets it go once {@code go} exists. */
    private Process pauseAtTransactionStart(int pid, Path go) throws IOException, InterruptedException {
        Process gdb;
        try {
            gdb = new ProcessBuilder("gdb", "-q", "-batch", "-p", Integer.toString(pid),
                    "-ex", "break StartTransactionCommand", "-ex", "continue",
                    "-ex", "shell while [ ! -e '" + go + "' ]; do sleep 0.05; done", "-ex", "detach")
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("gdb.log").toFile()).start();
        } catch (IOException e) {
            throw new IOException("this test needs gdb (apt-get install gdb; .ci/run installs it): " + e.getMessage(), e);
        }
        // attached and running again: traced, and no longer in the stop that attaching caused
        Pattern state = Pattern.compile("State:\\s+(\\S).*TracerPid:\\s+(\\d+)", Pattern.DOTALL);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Matcher m = state.matcher(Files.readString(Path.of("/proc", Integer.toString(pid), "status")));
            if (m.find() && !m.group(2).equals("0") && !m.group(1).equals("t")) {
                return gdb;
            }
            if (!gdb.isAlive()) {
                fail("gdb could not attach to the backend: " + Files.readString(tmp.resolve("gdb.log")));
            }
            Thread.sleep(20);
        }
        gdb.destroyForcibly();
        fail("gdb did not attach within 30 s: " + Files.readString(tmp.resolve("gdb.log")));
        return null;
    }

    private void awaitStatementWithoutTransaction(int pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (loader.pgLong("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid
                    + " AND state = 'active' AND xact_start IS NULL AND query_start IS NOT NULL") == 1) {
                return;
            }
            Thread.sleep(20);
        }
        fail("the backend never stopped at StartTransactionCommand: " + Files.readString(tmp.resolve("gdb.log")));
    }
}
