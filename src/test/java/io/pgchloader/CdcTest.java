package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgchloader.support.Http;
import io.pgchloader.support.ListeningPorts;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.TcpProxy;
import io.pgchloader.support.TestDatabases;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CDC mode against a real PostgreSQL 17 started with {@code wal_level=logical} (one of this test's own:
 * the shared test server keeps its default, so no other test pays for logical WAL) and the real embedded
 * ClickHouse, the loader run as a user runs it, in a JVM of its own.
 */
class CdcTest {

    private static final Duration RUN_LIMIT = Duration.ofSeconds(90);
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static EmbeddedPostgres logical;

    @TempDir
    Path tmp;

    private String database;
    private String slot;
    private final List<LoaderProcess> processes = new ArrayList<>();
    /** Connections a test holds a transaction open on: ended after it, whatever it did, so none outlives it. */
    private final List<Connection> held = new ArrayList<>();

    static synchronized EmbeddedPostgres logicalPostgres() {
        if (logical == null) {
            try {
                logical = EmbeddedPostgres.builder()
                        .setServerConfig("wal_level", "logical")
                        .setServerConfig("max_replication_slots", "20")
                        .setServerConfig("max_wal_senders", "20")
                        .start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    logical.close();
                } catch (IOException ignored) {
                    // the JVM is ending
                }
            }));
        }
        return logical;
    }

    @AfterEach
    void stopLoaders() throws Exception {
        for (LoaderProcess p : processes) {
            p.close();
        }
        for (Connection c : held) {
            c.close();
        }
        if (slot != null) {
            // a slot pins WAL on the test server: drop it (what docs/cdc.md tells a user retiring a loader)
            try (Connection c = pgAdmin("postgres"); Statement s = c.createStatement()) {
                s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot + "' AND NOT active");
            }
        }
    }

    private void freshDatabases() throws Exception {
        database = "cdc_" + ProcessHandle.current().pid() + "_" + SEQUENCE.incrementAndGet();
        slot = database;
        try (Connection c = pgAdmin("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
        }
        try (Connection c = TestDatabases.clickHouse("default"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
        }
    }

    private static Connection pgAdmin(String db) throws SQLException {
        Connection c = logicalPostgres().getDatabase("postgres", db).getConnection();
        c.setAutoCommit(true);
        return c;
    }

    private Map<String, String> environment(String... overrides) {
        Map<String, String> env = TestDatabases.servers().settings(database, database);
        env.put("POSTGRES_PORT", Integer.toString(logicalPostgres().getPort()));
        env.put("ROUTES_DIR", tmp.resolve("routes").toString());
        env.put("HTTP_PORT", "0");
        env.put("CDC_SLOT", slot);
        env.put("CDC_PUBLICATION", "pub_" + database);
        for (int i = 0; i < overrides.length; i += 2) {
            env.put(overrides[i], overrides[i + 1]);
        }
        return env;
    }

    private void routes(String... tables) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("routes"));
        Files.copy(Path.of("routes", "pg-cdc-to-clickhouse.yaml"), dir.resolve("pg-cdc-to-clickhouse.yaml"),
                StandardCopyOption.REPLACE_EXISTING);
        StringBuilder yaml = new StringBuilder();
        for (String table : tables) {
            yaml.append("- templatedRoute:\n    routeTemplateRef: pg-cdc-to-clickhouse\n    routeId: cdc-").append(table)
                    .append("\n    parameters:\n      - name: table\n        value: ").append(table).append("\n");
        }
        Files.writeString(dir.resolve("tables.yaml"), yaml.toString());
    }

    private LoaderProcess start(Map<String, String> env, String... args) throws IOException {
        LoaderProcess p = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), env, args);
        processes.add(p);
        return p;
    }

    private String once(Map<String, String> env) throws Exception {
        LoaderProcess p = start(env, "--once");
        int exit = p.awaitExit(RUN_LIMIT);
        assertEquals(0, exit, p.output());
        assertEquals(List.of(), p.errorLines(), p.output());
        return p.output();
    }

    private void pg(String... statements) throws SQLException {
        try (Connection c = pgAdmin(database); Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }

    /** The table most tests use: {@code items (id, v, note)}, REPLICA IDENTITY FULL (its varchar could be TOASTed), rows 1..n. */
    private void items(int rows) throws SQLException {
        pg("CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, note varchar(20))",
                "ALTER TABLE items REPLICA IDENTITY FULL",
                "INSERT INTO items SELECT g, g, 'seed' FROM generate_series(1, " + rows + ") g");
    }

    private List<String> pgRows(String sql) throws SQLException {
        try (Connection c = pgAdmin(database); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        }
    }

    private List<String> chRows(String sql) throws SQLException {
        try (Connection c = TestDatabases.clickHouse(database); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        }
    }

    /** Every row of items, PostgreSQL against ClickHouse FINAL, and every key once. */
    private void assertItemsEqual() throws SQLException {
        List<String> pg = pgRows("SELECT id || ' ' || v || ' ' || coalesce(note, 'NULL') FROM items ORDER BY id");
        List<String> ch = chRows("SELECT concat(toString(id), ' ', toString(v), ' ', ifNull(note, 'NULL')) FROM items FINAL ORDER BY id");
        assertEquals(pg.size(), ch.size(), "row count");
        assertEquals(pg, ch);
        assertEquals(List.of(Integer.toString(ch.size())), chRows("SELECT toString(uniqExact(id)) FROM items FINAL"));
    }

    /** Waits until {@link #assertItemsEqual} holds: what a stream running on its own reaches. */
    private void awaitItemsEqual(String what) throws Exception {
        await(what, RUN_LIMIT, () -> {
            try {
                assertItemsEqual();
                return true;
            } catch (AssertionError e) {
                return false;
            }
        });
    }

    /** Inserts, updates and deletes items until stopped, one small transaction after another. */
    private Thread writer(AtomicBoolean stop, AtomicLong transactions, int firstNewId) {
        Thread t = new Thread(() -> {
            Random random = new Random(42);
            int next = firstNewId;
            try (Connection c = pgAdmin(database); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                while (!stop.get()) {
                    int id = 1 + random.nextInt(next - 1);
                    switch (random.nextInt(4)) {
                        case 0 -> s.execute("INSERT INTO items VALUES (" + next++ + ", 0, 'new')");
                        case 1 -> s.execute("UPDATE items SET v = v + 1, note = 'updated' WHERE id = " + id);
                        case 2 -> s.execute("DELETE FROM items WHERE id = " + id);
                        default -> {
                            // several changes in one transaction, one of them undone by the next
                            s.execute("UPDATE items SET v = v + 10 WHERE id = " + id);
                            s.execute("INSERT INTO items VALUES (" + next++ + ", 1, NULL)");
                            s.execute("UPDATE items SET v = v + 100 WHERE id = " + (next - 1));
                        }
                    }
                    c.commit();
                    transactions.incrementAndGet();
                }
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }, "writer");
        t.start();
        return t;
    }

    @Test
    void a_snapshot_and_the_stream_meet_without_losing_or_repeating_a_change() throws Exception {
        freshDatabases();
        routes("items");
        items(20000);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong transactions = new AtomicLong();
        Thread writing = writer(stop, transactions, 20001);
        try {
            // the slot is created, and the table loaded under its snapshot, while the writer commits
            String first = once(environment());
            assertTrue(first.contains("Created replication slot " + slot), first);
            assertTrue(first.contains("public.items: snapshot loaded, "), first);
            long before = transactions.get();
            Thread.sleep(1500);
            assertTrue(transactions.get() > before + 10, "the writer kept committing");
            once(environment());
        } finally {
            stop.set(true);
            writing.join();
        }
        String last = once(environment());
        assertFalse(last.contains("snapshot loaded"), "a loaded table is not loaded again:\n" + last);
        assertItemsEqual();
        // no change applied twice: ClickHouse received every (key, version) once (replays would repeat one)
        assertEquals(chRows("SELECT toString(count()) FROM (SELECT id, _version FROM items GROUP BY id, _version)"),
                chRows("SELECT toString(count()) FROM items"));
        // the snapshot's rows sit below every change, the changes above it
        assertEquals(List.of("1"), chRows("SELECT toString(count(DISTINCT _version)) FROM items WHERE bitShiftRight(_version, 64) > 0"
                + " AND bitAnd(_version, 18446744073709551615) = 0"));
        // the slot is confirmed up to where it was read: nothing pinned behind the applied changes
        List<String> lag = pgRows("SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::text FROM pg_replication_slots"
                + " WHERE slot_name = '" + slot + "'");
        assertTrue(Long.parseLong(lag.get(0)) < 1_000_000, "confirmed close to the WAL's end: " + lag);
    }

    @Test
    void a_row_deleted_and_inserted_again_in_one_transaction_is_present() throws Exception {
        freshDatabases();
        routes("items");
        items(10);
        once(environment());
        assertItemsEqual();
        pg("BEGIN; DELETE FROM items WHERE id = 5; INSERT INTO items VALUES (5, 500, 'again'); COMMIT",
                // inserted and deleted again in one transaction: absent
                "BEGIN; INSERT INTO items VALUES (11, 11, 'brief'); DELETE FROM items WHERE id = 11; COMMIT",
                // a key update: the old key gone, the new one present
                "UPDATE items SET id = 100 WHERE id = 7",
                "DELETE FROM items WHERE id = 3");
        once(environment());
        assertItemsEqual();
        assertEquals(List.of("5 500 again"), chRows("SELECT concat(toString(id), ' ', toString(v), ' ', note) FROM items FINAL WHERE id = 5"));
        assertEquals(List.of("0"), chRows("SELECT toString(count()) FROM items FINAL WHERE id IN (3, 7, 11)"));
        // TRUNCATE tombstones every key; rows inserted after it in the same transaction stay
        pg("BEGIN; TRUNCATE items; INSERT INTO items VALUES (1, 1, 'after'); COMMIT");
        once(environment());
        assertItemsEqual();
        assertEquals(List.of("1 1 after"), chRows("SELECT concat(toString(id), ' ', toString(v), ' ', note) FROM items FINAL"));
    }

    @Test
    void every_type_of_the_contract_arrives_through_the_stream_as_the_watermark_mode_stores_it() throws Exception {
        freshDatabases();
        LoaderFixture.cdcRoutes(tmp.resolve("routes"), "cdc-types", "schema", "Type Lab", "table", "Every Type",
                "targetTable", "every_type");
        for (String statement : TypeContractTest.DDL.split(";\\s*\\n")) {
            if (!statement.isBlank()) {
                pg(statement);
            }
        }
        pg("ALTER TABLE \"Type Lab\".\"Every Type\" REPLICA IDENTITY FULL", TypeContractTest.ROWS);
        // rows 1-4 through the snapshot load (PostgreSQL's binary form), 5-8 and the updates of 1-4 through
        // the slot (pgoutput's text form): both must store what the watermark mode stores
        once(environment());
        pg(TypeContractTest.ROWS, "UPDATE \"Type Lab\".\"Every Type\" SET \"select\" = 8 WHERE id <= 4");
        once(environment());

        String reference = "postgresql('127.0.0.1:" + logicalPostgres().getPort() + "', '" + database
                + "', 'Every Type', 'postgres', '', 'Type Lab')";
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, String> column : TypeContractTest.RENDER.entrySet()) {
            String order = " ORDER BY id, `select`";
            List<String> expected = chRows("SELECT concat(toString(id), ' ', " + column.getValue() + ") FROM " + reference + order);
            List<String> actual = chRows("SELECT concat(toString(id), ' ', " + column.getValue() + ") FROM every_type FINAL" + order);
            if (!expected.equals(actual)) {
                differences.add(column.getKey() + ": reference " + expected + " but loaded " + actual);
            }
        }
        for (Map.Entry<String, String> column : TypeContractTest.PG_TEXT.entrySet()) {
            List<String> expected = pgRows("SELECT id || ' ' || coalesce(" + column.getValue() + ", '\\N')"
                    + " FROM \"Type Lab\".\"Every Type\" ORDER BY id, \"select\"");
            List<String> actual = chRows("SELECT concat(toString(id), ' ', ifNull(toString(" + column.getKey() + "), '\\\\N'))"
                    + " FROM every_type FINAL ORDER BY id, `select`");
            if (!expected.equals(actual)) {
                differences.add(column.getKey() + ": PostgreSQL " + expected + " but loaded " + actual);
            }
        }
        assertEquals(List.of(), differences);
        assertEquals(List.of("8"), chRows("SELECT toString(count()) FROM every_type FINAL"), "the old keys of the updated rows are gone");
        assertEquals(List.of("4"), chRows("SELECT toString(count()) FROM every_type FINAL WHERE `select` = 8"));
    }

    @Test
    void an_update_that_leaves_a_toasted_column_untouched_keeps_its_value() throws Exception {
        freshDatabases();
        routes("docs");
        // random hex does not compress below the 2 kB TOAST threshold: stored out of line
        pg("CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL, n int NOT NULL)",
                "INSERT INTO docs SELECT g, (SELECT string_agg(md5(random()::text || g || i), '') FROM generate_series(1, 300) i), 0"
                        + " FROM generate_series(1, 3) g");
        assertTrue(Long.parseLong(pgRows("SELECT count(*)::text FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid,"
                + " LATERAL (SELECT 1) x WHERE c.relname = 'docs'").get(0)) > 0);
        assertTrue(Integer.parseInt(pgRows("SELECT min(pg_column_size(body))::text FROM docs").get(0)) > 2000, "the body is TOASTed");

        // under the default replica identity the loader says what to run instead of writing NULL or ''
        LoaderProcess refused = start(environment(), "--once");
        assertEquals(2, refused.awaitExit(RUN_LIMIT), refused.output());
        assertTrue(refused.output().contains("ALTER TABLE \"public\".\"docs\" REPLICA IDENTITY FULL;"), refused.output());

        pg("ALTER TABLE docs REPLICA IDENTITY FULL");
        once(environment());
        pg("UPDATE docs SET n = n + 1", "UPDATE docs SET n = n + 1 WHERE id = 2");
        once(environment());
        assertEquals(pgRows("SELECT id || ' ' || n || ' ' || md5(body) FROM docs ORDER BY id"),
                chRows("SELECT concat(toString(id), ' ', toString(n), ' ', lower(hex(MD5(body)))) FROM docs FINAL ORDER BY id"));
        assertEquals(List.of("9600"), chRows("SELECT toString(min(length(body))) FROM docs FINAL"));
    }

    @Test
    void a_role_without_replication_is_told_what_to_grant() throws Exception {
        freshDatabases();
        routes("items");
        pg("CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, note varchar(20))",
                "ALTER TABLE items REPLICA IDENTITY FULL",
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdc_reader') THEN"
                        + " CREATE ROLE cdc_reader LOGIN PASSWORD 'secret-pw'; END IF; END $$",
                "GRANT SELECT ON items TO cdc_reader");
        LoaderProcess p = start(environment("POSTGRES_USER", "cdc_reader", "POSTGRES_PASSWORD", "secret-pw"), "--once");
        assertEquals(2, p.awaitExit(RUN_LIMIT), p.output());
        List<String> errors = p.errorLines();
        assertEquals(1, errors.size(), p.output());
        assertTrue(errors.get(0).contains("ALTER ROLE \"cdc_reader\" REPLICATION;"), errors.get(0));
        assertFalse(p.output().contains("secret-pw"), "the password is never logged");

        // with REPLICATION but without a publication of its own it may not create one: told the statement
        pg("ALTER ROLE cdc_reader REPLICATION", "REVOKE CREATE ON DATABASE " + database + " FROM PUBLIC");
        p = start(environment("POSTGRES_USER", "cdc_reader", "POSTGRES_PASSWORD", "secret-pw"), "--once");
        assertEquals(2, p.awaitExit(RUN_LIMIT), p.output());
        assertTrue(p.output().contains("CREATE PUBLICATION \"pub_" + database + "\" FOR TABLE \"public\".\"items\";"), p.output());

        // a server without logical decoding: the setting to change
        Map<String, String> plain = environment();
        plain.put("POSTGRES_PORT", Integer.toString(TestDatabases.servers().postgresPort()));
        plain.put("POSTGRES_DB", "postgres");
        p = start(plain, "--once");
        assertEquals(2, p.awaitExit(RUN_LIMIT), p.output());
        assertTrue(p.output().contains("ALTER SYSTEM SET wal_level = logical;"), p.output());

        // a generated column, whose values pgoutput does not send: refused, not synced without them
        pg("CREATE TABLE gen (id int PRIMARY KEY, v int NOT NULL, twice int GENERATED ALWAYS AS (v * 2) STORED)");
        routes("gen");
        p = start(environment(), "--once");
        assertEquals(2, p.awaitExit(RUN_LIMIT), p.output());
        assertTrue(p.output().contains("public.gen has generated column(s) twice"), p.output());
        assertTrue(p.output().contains("pg-to-clickhouse"), p.output());

        // a routes dir with an older copy of the CDC template, without the route the stream writes through
        routes("items");
        Path template = tmp.resolve("routes/pg-cdc-to-clickhouse.yaml");
        String yaml = Files.readString(template);
        Files.writeString(template, yaml.substring(0, yaml.indexOf("- route:\n    id: cdc-apply")));
        p = start(environment(), "--once");
        assertEquals(2, p.awaitExit(RUN_LIMIT), p.output());
        assertTrue(p.output().contains("write through route cdc-apply"), p.output());
    }

    private String confirmedLsn() throws SQLException {
        return pgRows("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '" + slot + "'").get(0);
    }

    @Test
    void a_snapshot_load_killed_halfway_resumes_after_its_last_key_and_loses_nothing() throws Exception {
        freshDatabases();
        routes("items");
        // insertRows and batchSize small: the load is many INSERTs, and a kill leaves part of the table behind
        items(400000);
        AtomicBoolean stop = new AtomicBoolean();
        Thread writing = writer(stop, new AtomicLong(), 400001);
        try {
            // small INSERTs, so the load is killed with part of the table in ClickHouse
            Files.writeString(tmp.resolve("routes/tables.yaml"), Files.readString(tmp.resolve("routes/tables.yaml"))
                    + "      - name: insertRows\n        value: \"5000\"\n      - name: batchSize\n        value: \"1000\"\n");
            LoaderProcess p = start(environment());
            p.awaitOutput("Created replication slot", RUN_LIMIT);
            long held = 0;
            for (int i = 0; i < 200 && held == 0; i++) {
                Thread.sleep(25);
                held = Long.parseLong(chRows("SELECT toString(count()) FROM items").get(0));
            }
            Runtime.getRuntime().exec(new String[] {"kill", "-9", Long.toString(p.pid())}).waitFor();
            p.awaitExit(Duration.ofSeconds(20));
            assertFalse(p.output().contains("snapshot loaded"), "killed before the load ended:\n" + p.output());
            long partial = Long.parseLong(chRows("SELECT toString(count()) FROM items").get(0));
            assertTrue(partial > 0 && partial < 400000, "part of the table was loaded: " + partial);
            String comment = chRows("SELECT comment FROM system.tables WHERE database = '" + database + "' AND name = 'items'").get(0);
            assertTrue(comment.startsWith("pg-ch-loader: cdc snapshot in progress at version "), comment);
            long lastKey = Long.parseLong(chRows("SELECT toString(max(id)) FROM items").get(0));

            String again = once(environment());
            // the slot was not confirmed since: the load goes on after the largest key ClickHouse holds (at
            // least the one read just after the kill), under a fresh snapshot
            Matcher resumed = Pattern.compile("resuming the snapshot load after key \\((\\d+)\\)").matcher(again);
            assertTrue(resumed.find(), again);
            assertTrue(Long.parseLong(resumed.group(1)) >= lastKey && Long.parseLong(resumed.group(1)) < 400000, resumed.group());
            assertTrue(again.contains("public.items: snapshot loaded"), again);
        } finally {
            stop.set(true);
            writing.join();
        }
        once(environment());
        assertItemsEqual();
    }

    @Test
    void a_kill_9_mid_stream_loses_nothing_and_the_replay_duplicates_nothing() throws Exception {
        freshDatabases();
        routes("items");
        items(5000);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong transactions = new AtomicLong();
        Random random = new Random();
        Thread writing = writer(stop, transactions, 5001);
        // small batches: many INSERT-then-confirm steps for a kill to fall between
        Map<String, String> env = environment();
        String confirmedBefore = "0/0";
        try {
            for (int run = 0; run < 4; run++) {
                LoaderProcess p = start(env);
                p.awaitOutput("Streaming 1 CDC table(s)", RUN_LIMIT);
                // at a random moment: between an INSERT and its confirmation, mid-INSERT, or idle
                Thread.sleep(1200 + random.nextInt(2500));
                Runtime.getRuntime().exec(new String[] {"kill", "-9", Long.toString(p.pid())}).waitFor();
                assertEquals(137, p.awaitExit(Duration.ofSeconds(20)), p.output());
                String confirmed = confirmedLsn();
                assertTrue(pgRows("SELECT ('" + confirmed + "'::pg_lsn > '" + confirmedBefore + "'::pg_lsn)::text").get(0).equals("true"),
                        "run " + run + " applied and confirmed changes while the writer ran: " + confirmedBefore + " -> " + confirmed);
                confirmedBefore = confirmed;
            }
            assertTrue(transactions.get() > 100, "the writer committed throughout: " + transactions.get());
        } finally {
            stop.set(true);
            writing.join();
        }
        String last = once(env);
        assertFalse(last.contains("snapshot loaded"), last);
        assertItemsEqual();
    }

    /**
     * The soak: the scheduled loader killed with {@code kill -9} at random moments (while its JVM starts, while it
     * loads, while it streams) and started again, over and over, while writers insert, update, delete, change keys
     * and delete and insert a key again in one transaction. 20 s in the suite; {@code -Dcdc.soak.seconds=300} for
     * a long run.
     */
    @Test
    void random_kill_9s_while_writers_change_keys_and_delete_rows_lose_and_repeat_nothing() throws Exception {
        long seconds = Long.getLong("cdc.soak.seconds", 20);
        long seed = System.nanoTime();
        freshDatabases();
        routes("items");
        items(20000);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong transactions = new AtomicLong();
        AtomicLong keyChanges = new AtomicLong();
        Thread writing = writer(stop, transactions, 20001);
        // keys of the seed only (the other writer's new rows are above them): no lock cycle between the two
        Thread keys = new Thread(() -> {
            Random random = new Random(seed);
            try (Connection c = pgAdmin(database); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                while (!stop.get()) {
                    int id = 1 + random.nextInt(20000);
                    if (random.nextBoolean()) {
                        s.execute("UPDATE items SET id = -id, note = 'key changed' WHERE id = " + id
                                + " AND NOT EXISTS (SELECT 1 FROM items WHERE id = -" + id + ")");
                    } else {
                        s.execute("DELETE FROM items WHERE id = " + id);
                        s.execute("INSERT INTO items VALUES (" + id + ", " + random.nextInt(1000) + ", 'again')");
                    }
                    c.commit();
                    keyChanges.incrementAndGet();
                    Thread.sleep(2);
                }
            } catch (SQLException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, "key-writer");
        keys.start();
        Random random = new Random(seed);
        Map<String, String> env = environment("RETRY_INITIAL_DELAY_MS", "300");
        int kills = 0;
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < end) {
                LoaderProcess p = start(env);
                Thread.sleep(300 + random.nextInt(3500));
                Runtime.getRuntime().exec(new String[] {"kill", "-9", Long.toString(p.pid())}).waitFor();
                p.awaitExit(Duration.ofSeconds(20));
                kills++;
            }
        } finally {
            stop.set(true);
            writing.join();
            keys.join();
        }
        assertTrue(transactions.get() > 100 && keyChanges.get() > 100, "the writers committed throughout (seed " + seed + "): "
                + transactions.get() + ", " + keyChanges.get());
        once(env);
        assertItemsEqual();
        System.out.printf("CDC soak: %d s, %d kills, %d + %d transactions, seed %d: FINAL equal row by row%n", seconds, kills,
                transactions.get(), keyChanges.get(), seed);
    }

    // ---- observability, heartbeats -------------------------------------------------------------------

    private long walBehindConfirmed() throws SQLException {
        return Long.parseLong(pgRows("SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint::text FROM pg_replication_slots"
                + " WHERE slot_name = '" + slot + "'").get(0));
    }

    /** Where the next WAL record goes: past every commit so far, flushed or not (the test server commits asynchronously). */
    private String walLsn() throws SQLException {
        return pgRows("SELECT pg_current_wal_insert_lsn()::text").get(0);
    }

    private boolean lsnBelow(String a, String b) throws SQLException {
        return pgRows("SELECT ('" + a + "'::pg_lsn < '" + b + "'::pg_lsn)::text").get(0).equals("true");
    }

    /** About {@code megabytes} of WAL from a table no CDC route publishes, in transactions of 1 MB. */
    private void writeNoise(int megabytes) throws SQLException {
        for (int i = 0; i < megabytes; i++) {
            pg("INSERT INTO noise SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 4000) g");
        }
    }

    private static void await(String what, Duration limit, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + limit.toSeconds() + " s: " + what);
            }
            Thread.sleep(200);
        }
    }

    private static double metric(int port, String name, String... labels) throws Exception {
        Double value = Http.sample(Http.get(port, "/observe/metrics").body(), name, labels);
        return value == null ? Double.NaN : value;
    }

    @Test
    void a_cdc_table_counts_its_changes_by_kind_and_shows_its_slot_in_metrics_health_and_jmx() throws Exception {
        freshDatabases();
        routes("items");
        items(10);
        int http = Http.freePort();
        int jmxPort = ListeningPorts.free();
        LoaderProcess p = start(environment("HTTP_PORT", Integer.toString(http), "HTTP_HOST", "127.0.0.1",
                "JMX_PORT", Integer.toString(jmxPort), "JMX_HOST", "127.0.0.1", "JMX_USER", "operator", "JMX_PASSWORD", "op-pw",
                "JMX_READONLY_USER", "viewer", "JMX_READONLY_PASSWORD", "viewer-pw"));
        p.awaitOutput("Streaming 1 CDC table(s)", RUN_LIMIT);
        pg("INSERT INTO items VALUES (11, 11, 'a'), (12, 12, 'b'), (13, 13, 'c')",
                "UPDATE items SET v = -v WHERE id IN (1, 2)",
                "DELETE FROM items WHERE id = 3");
        await("the changes counted: " + p.output(), RUN_LIMIT, () -> metric(http, "pgch_cdc_changes_applied_total",
                "route", "cdc-items", "kind", "delete") == 1);
        assertEquals(3, metric(http, "pgch_cdc_changes_applied_total", "route", "cdc-items", "table", "public.items", "kind", "insert"));
        assertEquals(2, metric(http, "pgch_cdc_changes_applied_total", "route", "cdc-items", "kind", "update"));
        assertItemsEqual();
        // the slot's figures are read every 5 s
        await("the slot read", RUN_LIMIT, () -> metric(http, "pgch_cdc_slot_retained_wal_bytes", "slot", slot) >= 0);
        assertTrue(metric(http, "pgch_cdc_lag_seconds", "slot", slot) < 30, "caught up");
        assertTrue(metric(http, "pgch_cdc_lag_bytes", "slot", slot) >= 0);
        assertEquals(0, metric(http, "pgch_cdc_slot_retained_wal_over_limit", "slot", slot));
        assertEquals(Long.parseLong(pgRows("SELECT (confirmed_flush_lsn - '0/0')::bigint::text FROM pg_replication_slots"
                + " WHERE slot_name = '" + slot + "'").get(0)), metric(http, "pgch_cdc_confirmed_lsn", "slot", slot), 1e6,
                "the confirmed position, the slot's own");
        Http.Response ready = Http.get(http, "/observe/health/ready");
        assertEquals(200, ready.status(), ready.body());
        // the shipped alert rules and dashboard use only CDC series the loader exports
        String exported = Http.get(http, "/observe/metrics").body();
        for (Path file : List.of(Path.of("ops", "prometheus-alerts.yml"), Path.of("ops", "grafana-dashboard.json"))) {
            Matcher used = Pattern.compile("\\bpgch_cdc_[a-z_]+").matcher(Files.readString(file));
            int uses = 0;
            while (used.find()) {
                uses++;
                assertTrue(exported.contains("\n" + used.group() + "{"), file + " uses " + used.group()
                        + ", which the loader does not export");
            }
            assertTrue(uses >= 3, file + " covers the CDC tables");
        }

        // the read-only login reads the table's MBean
        ObjectName mbean = new ObjectName("io.pgchloader:context=pg-ch-loader,type=CdcTable,route=\"cdc-items\"");
        try (JMXConnector connector = JmxTest.connect(jmxPort, "viewer", "viewer-pw")) {
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            assertEquals(3L, jmx.getAttribute(mbean, "InsertsApplied"));
            assertEquals(2L, jmx.getAttribute(mbean, "UpdatesApplied"));
            assertEquals(1L, jmx.getAttribute(mbean, "DeletesApplied"));
            assertEquals("public.items", jmx.getAttribute(mbean, "Table"));
            assertEquals(slot, jmx.getAttribute(mbean, "Slot"));
            assertEquals(true, jmx.getAttribute(mbean, "Streaming"));
            assertTrue((Double) jmx.getAttribute(mbean, "LagSeconds") < 30);
            assertTrue((Long) jmx.getAttribute(mbean, "RetainedWalBytes") >= 0);
            assertTrue(((String) jmx.getAttribute(mbean, "ConfirmedLsn")).matches("[0-9A-F]+/[0-9A-F]+"));
            assertFalse("0/0".equals(jmx.getAttribute(mbean, "ConfirmedLsn")));
        }
    }

    @Test
    void a_stream_that_cannot_write_to_clickhouse_confirms_nothing_past_the_change_and_says_so() throws Exception {
        freshDatabases();
        routes("items");
        items(10);
        pg(
                // not published: only its WAL reaches the slot
                "CREATE TABLE noise (id int, pad text)");
        int http = Http.freePort();
        LoaderProcess p = start(environment("HTTP_PORT", Integer.toString(http), "HTTP_HOST", "127.0.0.1",
                "CDC_HEARTBEAT_SECONDS", "1", "CDC_MAX_LAG_SECONDS", "4", "CDC_MAX_RETAINED_WAL_MB", "8",
                "RETRY_INITIAL_DELAY_MS", "300"));
        p.awaitOutput("Streaming 1 CDC table(s)", RUN_LIMIT);
        await("ready", RUN_LIMIT, () -> Http.get(http, "/observe/health/ready").status() == 200);

        // ClickHouse cannot take the change: the stream fails and starts again, heartbeats go on being written
        try (Connection c = TestDatabases.clickHouse(database); Statement s = c.createStatement()) {
            s.execute("RENAME TABLE items TO items_away");
        }
        pg("INSERT INTO items VALUES (11, 11, 'held')");
        String afterChange = walLsn();
        // a heartbeat right behind the change, as the loader's own lands when a change commits just after it was
        // written: it arrives with the change on every replay, and confirming it must wait for the change's INSERT
        pg("SELECT pg_logical_emit_message(false, 'pg_ch_loader', 'heartbeat')");
        writeNoise(24);
        Thread.sleep(3000);
        String confirmed = confirmedLsn();
        assertTrue(lsnBelow(confirmed, afterChange), "the slot is not confirmed past a change ClickHouse lacks: confirmed "
                + confirmed + ", change before " + afterChange + "\n" + p.output());
        assertTrue(p.output().contains("CDC stream failed, starting again from slot " + slot), p.output());
        Http.Response ready = Http.get(http, "/observe/health/ready");
        assertEquals(503, ready.status(), "lag over CDC_MAX_LAG_SECONDS: " + ready.body());
        assertTrue(ready.body().contains("cdc"), ready.body());
        assertTrue(metric(http, "pgch_cdc_lag_seconds", "slot", slot) > 4);
        await("retained WAL over the limit", RUN_LIMIT, () -> metric(http, "pgch_cdc_slot_retained_wal_over_limit", "slot", slot) == 1);
        assertTrue(metric(http, "pgch_cdc_slot_retained_wal_bytes", "slot", slot) > 8 << 20);
        List<String> warnings = p.lines().stream().filter(l -> l.contains("retains") && l.contains("max_slot_wal_keep_size")).toList();
        assertEquals(1, warnings.size(), "one WARN per crossing: " + warnings);
        assertTrue(warnings.get(0).contains(slot) && warnings.get(0).contains("WARN"), warnings.get(0));

        // ClickHouse back: the held change arrives, and the slot moves on past it
        try (Connection c = TestDatabases.clickHouse(database); Statement s = c.createStatement()) {
            s.execute("RENAME TABLE items_away TO items");
        }
        await("the held change in ClickHouse", RUN_LIMIT, () -> chRows("SELECT toString(count()) FROM items FINAL WHERE id = 11").equals(List.of("1")));
        assertItemsEqual();
        await("the slot confirmed past the change", RUN_LIMIT, () -> !lsnBelow(confirmedLsn(), afterChange));
        await("ready again", RUN_LIMIT, () -> Http.get(http, "/observe/health/ready").status() == 200);
    }

    @Test
    void a_loader_pointed_at_an_empty_copy_of_the_table_does_not_wipe_its_target() throws Exception {
        freshDatabases();
        routes("items");
        items(100);
        once(environment());
        assertItemsEqual();

        // the same table, empty, in another database (a staging copy, a wrong POSTGRES_DB): a new slot there
        // loads it under its snapshot, and its sweep would tombstone all 100 keys
        String wrong = database + "_empty";
        try (Connection c = pgAdmin("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + wrong);
        }
        try (Connection c = pgAdmin(wrong); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, note varchar(20))");
            s.execute("ALTER TABLE items REPLICA IDENTITY FULL");
        }
        Map<String, String> env = environment("POSTGRES_DB", wrong, "CDC_SLOT", slot + "_empty");
        try {
            LoaderProcess load = run(env, 0, "--once");
            assertTrue(load.output().contains("snapshot loaded, but nothing deleted: PostgreSQL's public.items shows no rows at"
                    + " all while ClickHouse holds 100"), load.output());
            assertTrue(load.output().contains("run --repair --force --table cdc-items"), load.output());
            assertEquals(List.of("100"), chRows("SELECT toString(count()) FROM items FINAL"), "the target is not wiped");

            // --repair holds the same guard; only --force deletes
            LoaderProcess repair = run(env, 1, "--repair", "--table", "cdc-items");
            assertTrue(repair.output().contains("nothing deleted"), repair.output());
            assertEquals(List.of("100"), chRows("SELECT toString(count()) FROM items FINAL"));
            run(env, 0, "--repair", "--table", "cdc-items", "--force");
            assertEquals(List.of("0"), chRows("SELECT toString(count()) FROM items FINAL"), "forced: PostgreSQL's table is empty");
        } finally {
            try (Connection c = pgAdmin("postgres"); Statement s = c.createStatement()) {
                s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot
                        + "_empty' AND NOT active");
            }
        }
    }

    @Test
    void a_second_loader_on_the_slot_stands_by_and_takes_over_after_a_kill_9() throws Exception {
        freshDatabases();
        routes("items");
        items(1000);
        Map<String, String> env = environment("RETRY_INITIAL_DELAY_MS", "300");
        LoaderProcess first = start(env);
        first.awaitOutput("Streaming 1 CDC table(s)", RUN_LIMIT);
        int http = Http.freePort();
        Map<String, String> standbyEnv = new HashMap<>(env);
        standbyEnv.put("HTTP_PORT", Integer.toString(http));
        standbyEnv.put("HTTP_HOST", "127.0.0.1");
        standbyEnv.put("CDC_MAX_LAG_SECONDS", "2");
        LoaderProcess second = start(standbyEnv);
        second.awaitOutput("is read by another loader", RUN_LIMIT);
        // longer than its lag limit without confirming anything: still ready to take over, as a watermark standby is
        Thread.sleep(3000);
        Http.Response standby = Http.get(http, "/observe/health/ready");
        assertEquals(200, standby.status(), standby.body());

        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong transactions = new AtomicLong();
        Thread writing = writer(stop, transactions, 1001);
        Thread.sleep(2000);
        ProcessHandle.of(first.pid()).ifPresent(ProcessHandle::destroyForcibly);
        first.awaitExit(RUN_LIMIT);
        second.awaitOutput("Streaming 1 CDC table(s)", RUN_LIMIT);
        long atTakeover = transactions.get();
        Thread.sleep(2000);
        stop.set(true);
        writing.join();
        assertTrue(atTakeover > 10 && transactions.get() > atTakeover, "the writer committed before and after the takeover: "
                + atTakeover + ", " + transactions.get());
        awaitItemsEqual("ClickHouse equal to PostgreSQL after the takeover");
        assertEquals(1, second.lines().stream().filter(l -> l.contains("is read by another loader")).count(),
                "standing by is said once, not at every try:\n" + second.output());
        assertEquals(List.of(), second.errorLines(), second.output());
        assertFalse(second.output().contains("CDC stream failed"), second.output());
    }

    @Test
    void a_target_changed_behind_the_loaders_back_stops_only_its_table() throws Exception {
        freshDatabases();
        routes("items", "others");
        items(100);
        pg("CREATE TABLE others (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO others VALUES (1, 1)");
        Map<String, String> env = environment();
        LoaderProcess p = start(env);
        p.awaitOutput("Streaming 2 CDC table(s)", RUN_LIMIT);
        // someone drops a column of the target: ClickHouse refuses every INSERT of items from now on
        ch("ALTER TABLE items DROP COLUMN note");
        pg("UPDATE items SET note = 'refused' WHERE id = 1", "INSERT INTO others VALUES (2, 2)");
        String refusedAt = walLsn();
        p.awaitOutput("public.items: CDC stopped for this table, the other tables go on: ClickHouse refuses its rows", RUN_LIMIT);
        await("others streams on", RUN_LIMIT, () -> chRows("SELECT toString(count()) FROM others FINAL").equals(List.of("2")));
        await("the slot moves past the refused change", RUN_LIMIT, () -> lsnBelow(refusedAt, confirmedLsn()));
        assertTrue(p.isAlive(), p.output());
        p.close();

        pg("UPDATE items SET note = 'while stopped' WHERE id = 2");
        ch("ALTER TABLE items ADD COLUMN note Nullable(String) AFTER v");
        String fixed = once(env);
        assertTrue(fixed.contains("public.items: snapshot loaded"), fixed);
        assertItemsEqual();
    }

    @Test
    void a_table_added_while_a_transaction_writes_it_loses_nothing_of_that_transaction() throws Exception {
        freshDatabases();
        routes("others");
        items(1000);
        pg("CREATE TABLE others (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO others VALUES (1, 1)");
        Map<String, String> env = environment();
        once(env);
        // a transaction changes items before items joins the publication, and commits after the load began
        Connection writing = pgAdmin(database);
        held.add(writing);
        writing.setAutoCommit(false);
        try (Statement s = writing.createStatement()) {
            s.execute("INSERT INTO items VALUES (1001, 1, 'before publication')");
            s.execute("UPDATE items SET note = 'changed before' WHERE id = 1");
        }
        routes("others", "items");
        LoaderProcess p = start(env);
        p.awaitOutput("Added public.items to publication", RUN_LIMIT);
        Thread.sleep(1500);
        assertFalse(p.output().contains("public.items: snapshot loaded"), "the load waits for that transaction:\n" + p.output());
        try (Statement s = writing.createStatement()) {
            s.execute("UPDATE items SET note = 'changed after' WHERE id = 2");
        }
        writing.commit();
        p.awaitOutput("public.items: snapshot loaded", RUN_LIMIT);
        awaitItemsEqual("items equal to PostgreSQL");
        assertEquals(List.of("before publication"), chRows("SELECT note FROM items FINAL WHERE id = 1001"));
    }

    @Test
    void two_loaders_started_at_the_same_moment_share_one_slot() throws Exception {
        freshDatabases();
        routes("items");
        items(20000);
        pg("CREATE TABLE pin (x int)");
        // a transaction open while both start holds the slot's creation (PostgreSQL waits for the transactions
        // running then): the first creates it, the second finds it being created, or is refused creating it too
        Map<String, String> env = environment("RETRY_INITIAL_DELAY_MS", "300");
        LoaderProcess a;
        LoaderProcess b;
        try (Connection pin = pgAdmin(database)) {
            pin.setAutoCommit(false);
            try (Statement s = pin.createStatement()) {
                s.execute("INSERT INTO pin VALUES (1)");
            }
            // each in a directory of its own: one output each
            a = LoaderProcess.start(Files.createDirectories(tmp.resolve("work-a")), env);
            processes.add(a);
            b = LoaderProcess.start(Files.createDirectories(tmp.resolve("work-b")), env);
            processes.add(b);
            await("both at the slot", RUN_LIMIT, () -> (a.output() + b.output()).contains("is being created by another session")
                    || (a.output() + b.output()).contains("was created by another loader a moment ago"));
            pin.commit();
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong transactions = new AtomicLong();
        Thread writing = writer(stop, transactions, 20001);
        try {
            try {
                await("one streams, the other stands by", RUN_LIMIT,
                        () -> (a.output().contains("Streaming 1 CDC table(s)") && b.output().contains("is read by another loader"))
                                || (b.output().contains("Streaming 1 CDC table(s)") && a.output().contains("is read by another loader")));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n" + a.output() + "\n----\n" + b.output(), e);
            }
            Thread.sleep(1500);
        } finally {
            stop.set(true);
            writing.join();
        }
        awaitItemsEqual("ClickHouse equal to PostgreSQL");
        String both = a.output() + b.output();
        assertEquals(1, (a.output() + "\n" + b.output()).lines().filter(l -> l.contains("Created replication slot")).count(), both);
        assertEquals(List.of(), a.errorLines(), a.output());
        assertEquals(List.of(), b.errorLines(), b.output());
        assertTrue(a.isAlive() && b.isAlive(), both);
    }

    @Test
    void an_idle_table_does_not_pin_wal() throws Exception {
        freshDatabases();
        routes("items");
        items(10);
        pg("CREATE TABLE noise (id int, pad text)");
        int http = Http.freePort();
        LoaderProcess p = start(environment("CDC_HEARTBEAT_SECONDS", "1", "HTTP_PORT", Integer.toString(http), "HTTP_HOST", "127.0.0.1"));
        p.awaitOutput("Streaming 1 CDC table(s)", RUN_LIMIT);
        String start = walLsn();
        long idleSince = System.nanoTime();
        long worst = 0;
        // another table written heavily, the CDC table not at all
        for (int round = 0; round < 8; round++) {
            writeNoise(8);
            Thread.sleep(1500);
            worst = Math.max(worst, walBehindConfirmed());
        }
        long written = Long.parseLong(pgRows("SELECT (pg_current_wal_lsn() - '" + start + "'::pg_lsn)::bigint::text").get(0));
        assertTrue(written > 50 << 20, "the other table wrote WAL: " + written);
        assertTrue(worst < 16 << 20, "retained WAL behind the confirmed position stayed bounded: worst " + worst + " of "
                + written + " bytes written\n" + p.output());
        await("confirmed close to the WAL's end once writes stop", Duration.ofSeconds(20), () -> walBehindConfirmed() < 1 << 20);
        // PostgreSQL's keepalives alone let the slot move on too; what only the heartbeats give is a lag that
        // says "caught up" on a table nobody writes (without them it would be the whole idle time)
        Thread.sleep(Math.max(0, TimeUnit.SECONDS.toMillis(15) - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - idleSince)));
        double lag = metric(http, "pgch_cdc_lag_seconds", "slot", slot);
        assertTrue(lag < 5, "lag " + lag + " s after " + (System.nanoTime() - idleSince) / 1e9 + " s idle");
        System.out.printf("an_idle_table_does_not_pin_wal: %d MB written, at most %.1f MB behind the confirmed position%n",
                written >> 20, worst / 1048576.0);
    }

    // ---- verify and repair ----------------------------------------------------------------------------

    private LoaderProcess run(Map<String, String> env, int expectedExit, String... args) throws Exception {
        LoaderProcess p = start(env, args);
        assertEquals(expectedExit, p.awaitExit(RUN_LIMIT), p.output());
        return p;
    }

    /** A row written straight into ClickHouse at key {@code id}'s newest version plus one: newer than the stream's, older than any later change. */
    private void chOverride(int id, String columns, String values) throws SQLException {
        String version = chRows("SELECT toString(max(_version) + 1) FROM items WHERE id = " + id).get(0);
        try (Connection c = TestDatabases.clickHouse(database); Statement s = c.createStatement()) {
            s.execute("INSERT INTO items (id, " + columns + ", _version) VALUES (" + id + ", " + values + ", toUInt128('" + version + "'))");
        }
    }

    @Test
    void verify_compares_a_cdc_table_at_a_wal_position_and_repair_mends_it_below_later_changes() throws Exception {
        freshDatabases();
        routes("items");
        items(3000);
        Map<String, String> env = environment();
        once(env);
        LoaderProcess equal = run(env, 0, "--verify");
        assertTrue(equal.output().contains("public.items: OK, 3000 rows equal (CDC) at WAL position"), equal.output());

        // a change the slot holds and no loader applies: not a difference, but nothing to compare against yet
        pg("UPDATE items SET v = 0 WHERE id = 1");
        LoaderProcess behind = run(env, 1, "--verify");
        assertTrue(behind.output().contains("public.items: NOT VERIFIED, ClickHouse lacks changes the slot " + slot + " holds"),
                behind.output());
        once(env);
        run(env, 0, "--verify");

        // while the scheduled loader streams and a writer commits, the keys changed since the check began are left out
        AtomicBoolean stop = new AtomicBoolean();
        Thread writing = writer(stop, new AtomicLong(), 3001);
        try {
            LoaderProcess streaming = start(env);
            streaming.awaitOutput("Streaming 1 CDC table(s)", RUN_LIMIT);
            Thread.sleep(1000);
            LoaderProcess live = run(env, 0, "--verify");
            assertTrue(live.output().contains("key(s) changed since not compared"), live.output());
            streaming.close();
        } finally {
            stop.set(true);
            writing.join();
        }
        once(env);
        assertItemsEqual();

        // ClickHouse wrong three ways: another value, a key it lost, a key PostgreSQL never had
        List<String> present = pgRows("SELECT id::text FROM items ORDER BY id LIMIT 2");
        int wrong = Integer.parseInt(present.get(0));
        int lost = Integer.parseInt(present.get(1));
        chOverride(wrong, "v, note", "-1, 'wrong'");
        chOverride(lost, "v, _is_deleted", "0, 1");
        try (Connection c = TestDatabases.clickHouse(database); Statement s = c.createStatement()) {
            s.execute("INSERT INTO items (id, v, note, _version) VALUES (999999, 1, 'ghost', toUInt128(1))");
        }
        LoaderProcess different = run(env, 1, "--verify");
        String out = different.output();
        assertTrue(out.contains("public.items: DIFFERENT (CDC)"), out);
        assertTrue(out.contains("1 missing in ClickHouse, 1 only in ClickHouse, 1 with other values"), out);
        assertTrue(out.contains("key " + wrong + ": values differ") && out.contains("key " + lost + ": missing in ClickHouse")
                && out.contains("key 999999: in ClickHouse only"), out);

        LoaderProcess repaired = run(env, 0, "--repair", "--table", "cdc-items");
        assertTrue(repaired.output().contains("public.items: repaired at version ") && repaired.output().contains(
                ": 2 row(s) copied again, 1 tombstoned"), repaired.output());
        assertItemsEqual();
        run(env, 0, "--verify");
        // the copies sit below every later change: the stream's next update of a repaired key wins over the copy
        pg("UPDATE items SET v = 4242, note = 'later' WHERE id = " + wrong, "UPDATE items SET v = 4343 WHERE id = " + lost);
        once(env);
        assertItemsEqual();
        assertEquals(List.of("4242 later"), chRows("SELECT concat(toString(v), ' ', note) FROM items FINAL WHERE id = " + wrong));
    }

    // ---- PostgreSQL out of reach ----------------------------------------------------------------------

    /**
     * PostgreSQL out of reach while streaming: every connection of the loader reset and new ones refused for a
     * few seconds, as when the server restarts (a real restart of the embedded server is not possible here: its
     * binaries refuse to start again by hand as root, which CI is, and pg_ctl refuses root).
     */
    @Test
    void a_postgresql_cut_off_while_streaming_loses_and_repeats_nothing() throws Exception {
        freshDatabases();
        routes("items");
        items(5000);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong transactions = new AtomicLong();
        try (TcpProxy path = new TcpProxy("127.0.0.1", logicalPostgres().getPort())) {
            LoaderProcess p = start(environment("POSTGRES_PORT", Integer.toString(path.port()), "RETRY_INITIAL_DELAY_MS", "500"));
            p.awaitOutput("Streaming 1 CDC table(s)", RUN_LIMIT);
            // the writer reaches PostgreSQL directly: it commits throughout the outage
            Thread writing = writer(stop, transactions, 5001);
            String confirmedBeforeCut;
            try {
                Thread.sleep(2000);
                confirmedBeforeCut = confirmedLsn();
                path.cut();
                long atCut = transactions.get();
                Thread.sleep(4000);
                assertTrue(transactions.get() > atCut + 50, "changes committed while the loader could not reach PostgreSQL");
                path.restore();
                Thread.sleep(2000);
            } finally {
                stop.set(true);
                writing.join();
            }
            await("the stream failed and resumed from the slot: " + p.output(), RUN_LIMIT,
                    () -> p.output().indexOf("Streaming 1 CDC table(s)", p.output().indexOf("CDC stream failed, starting again")) > 0);
            // nothing lost, every key once under FINAL
            await("ClickHouse equal to PostgreSQL", RUN_LIMIT, () -> {
                try {
                    assertItemsEqual();
                    return true;
                } catch (AssertionError notYet) {
                    return false;
                }
            });
            assertTrue(lsnBelow(confirmedBeforeCut, confirmedLsn()), "the slot moved on after the outage");
            assertTrue(p.isAlive(), "the loader kept running through the outage");
            assertEquals(1, p.lines().stream().filter(l -> l.contains("snapshot loaded, ")).count(),
                    "loaded once, at the start; after the outage resumed from the slot");
        }
    }

    // ---- schema changes ------------------------------------------------------------------------------

    private void ch(String sql) throws SQLException {
        try (Connection c = TestDatabases.clickHouse(database); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @Test
    void a_column_added_while_streaming_appears_in_clickhouse() throws Exception {
        freshDatabases();
        routes("items");
        items(1000);
        Map<String, String> env = environment();
        LoaderProcess p = start(env);
        p.awaitOutput("Streaming 1 CDC table(s)", RUN_LIMIT);
        pg("INSERT INTO items VALUES (1001, 1, 'before')",
                "ALTER TABLE items ADD COLUMN extra bigint",
                "INSERT INTO items VALUES (1002, 2, 'after', 5000000000)",
                "UPDATE items SET extra = 7 WHERE id = 1",
                // a wider varchar is still a String: nothing to alter, nothing stops
                "ALTER TABLE items ALTER COLUMN note TYPE varchar(50)",
                "UPDATE items SET note = 'a note longer than twenty' WHERE id = 2");
        String pgShape = "SELECT id || ' ' || v || ' ' || coalesce(note, 'NULL') || ' ' || coalesce(extra::text, 'NULL') FROM items ORDER BY id";
        String chShape = "SELECT concat(toString(id), ' ', toString(v), ' ', ifNull(note, 'NULL'), ' ', ifNull(toString(extra), 'NULL'))"
                + " FROM items FINAL ORDER BY id";
        await("the new column's values in ClickHouse: " + p.output(), RUN_LIMIT, () -> !chRows("SELECT name FROM system.columns"
                + " WHERE database = currentDatabase() AND table = 'items' AND name = 'extra'").isEmpty() && pgRows(pgShape).equals(chRows(chShape)));
        assertTrue(p.output().contains("ADD COLUMN IF NOT EXISTS `extra` Nullable(Int64)"), p.output());
        assertTrue(p.isAlive(), p.output());
        p.close();

        // with the loader down, the WAL holds changes of three shapes; the catalog has only the last
        pg("INSERT INTO items VALUES (1003, 3, 'old shape', 3)",
                "ALTER TABLE items ADD COLUMN later int",
                "INSERT INTO items VALUES (1004, 4, 'with later', 4, 44)",
                "ALTER TABLE items DROP COLUMN note",
                "UPDATE items SET later = 1 WHERE id <= 3");
        once(env);
        assertEquals(pgRows("SELECT id || ' ' || v || ' ' || coalesce(extra::text, 'NULL') || ' ' || coalesce(later::text, 'NULL')"
                        + " FROM items ORDER BY id"),
                chRows("SELECT concat(toString(id), ' ', toString(v), ' ', ifNull(toString(extra), 'NULL'), ' ',"
                        + " ifNull(toString(later), 'NULL')) FROM items FINAL ORDER BY id"));
        // the dropped column keeps what it held, and rows written since hold NULL in it (the watermark mode's rule)
        assertEquals(List.of("with later"), chRows("SELECT ifNull(note, 'NULL') FROM items FINAL WHERE id = 1004"));
        assertEquals(List.of("NULL"), chRows("SELECT ifNull(note, 'NULL') FROM items FINAL WHERE id = 1"));
    }

    @Test
    void a_column_whose_new_type_no_longer_fits_stops_only_its_table() throws Exception {
        freshDatabases();
        routes("items", "others");
        items(1000);
        pg("CREATE TABLE others (id int PRIMARY KEY, v int NOT NULL)",
                "INSERT INTO others SELECT g, g FROM generate_series(1, 100) g");
        int http = Http.freePort();
        Map<String, String> env = environment("HTTP_PORT", Integer.toString(http), "HTTP_HOST", "127.0.0.1", "HEALTH_DETAILS", "full");
        LoaderProcess p = start(env);
        p.awaitOutput("Streaming 2 CDC table(s)", RUN_LIMIT);
        // a transaction open throughout holds the slot's restart_lsn below every change that follows: the reload's
        // version must still sit above what the target holds (a version from restart_lsn would not)
        pg("CREATE TABLE pin (x int)");
        Connection pin = pgAdmin(database);
        held.add(pin);
        pin.setAutoCommit(false);
        try (Statement s = pin.createStatement()) {
            s.execute("INSERT INTO pin VALUES (1)");
        }
        // written while items still fits, then deleted and changed while it is stopped: its reload must undo both
        pg("INSERT INTO items VALUES (1001, 1, 'soon gone')", "UPDATE items SET note = 'kept' WHERE id = 5");
        await("1001 in ClickHouse", RUN_LIMIT, () -> chRows("SELECT toString(count()) FROM items FINAL WHERE id = 1001").equals(List.of("1")));
        pg("ALTER TABLE items ALTER COLUMN v TYPE bigint",
                "UPDATE items SET v = 5000000000 WHERE id = 1",
                "DELETE FROM items WHERE id = 1001",
                "UPDATE items SET note = 'while stopped' WHERE id = 6",
                "INSERT INTO others VALUES (101, 101)");
        String stoppedAt = walLsn();
        p.awaitOutput("public.items: CDC stopped for this table, the other tables go on", RUN_LIMIT);
        assertTrue(p.output().contains("MODIFY COLUMN `v` Int64"), "the line names the fix:\n" + p.output());
        pg("INSERT INTO others VALUES (102, 102)", "DELETE FROM others WHERE id = 1");
        await("others streams on", RUN_LIMIT, () -> chRows("SELECT toString(count()) FROM others FINAL").equals(List.of("101")));
        await("the slot moves past the stop", RUN_LIMIT, () -> lsnBelow(stoppedAt, confirmedLsn()));
        assertEquals(1, metric(http, "pgch_cdc_table_stopped", "route", "cdc-items"));
        assertEquals(0, metric(http, "pgch_cdc_table_stopped", "route", "cdc-others"));
        Http.Response ready = Http.get(http, "/observe/health/ready");
        assertEquals(200, ready.status(), ready.body());
        assertTrue(ready.body().contains("cdc-items stopped"), ready.body());
        assertTrue(p.isAlive(), p.output());

        // a standby started before the fix stops the table at its start and, once it took over, streams the others
        Map<String, String> standbyEnv = new HashMap<>(env);
        standbyEnv.put("HTTP_PORT", "0");
        standbyEnv.put("RETRY_INITIAL_DELAY_MS", "300");
        LoaderProcess unfixed = LoaderProcess.start(Files.createDirectories(tmp.resolve("work-unfixed")), standbyEnv);
        processes.add(unfixed);
        unfixed.awaitOutput("is read by another loader", RUN_LIMIT);
        assertTrue(unfixed.output().contains("public.items: CDC stopped for this table"), unfixed.output());
        p.close();
        unfixed.awaitOutput("Streaming 2 CDC table(s)", RUN_LIMIT);
        pg("INSERT INTO others VALUES (103, 103)");
        await("others streams on through the standby", RUN_LIMIT,
                () -> chRows("SELECT toString(count()) FROM others FINAL WHERE id = 103").equals(List.of("1")));

        // fixed as the line says; a second standby starts, then the table changes while the holder still skips it:
        // only the loader that holds the slot loads the table, so that change is not lost at the takeover
        ch("ALTER TABLE items MODIFY COLUMN v Int64");
        LoaderProcess fixed = LoaderProcess.start(Files.createDirectories(tmp.resolve("work-fixed")), standbyEnv);
        processes.add(fixed);
        fixed.awaitOutput("is read by another loader", RUN_LIMIT);
        pg("UPDATE items SET note = 'after the fix' WHERE id = 9", "DELETE FROM items WHERE id = 10");
        String skipped = walLsn();
        await("the holder confirms past that change", RUN_LIMIT, () -> lsnBelow(skipped, confirmedLsn()));
        unfixed.close();
        fixed.awaitOutput("public.items: snapshot loaded", RUN_LIMIT);
        awaitItemsEqual("items equal to PostgreSQL after the takeover");
        assertEquals(pgRows("SELECT id || ' ' || v FROM others ORDER BY id"),
                chRows("SELECT concat(toString(id), ' ', toString(v)) FROM others FINAL ORDER BY id"));
        assertEquals(1, fixed.lines().stream().filter(l -> l.contains("snapshot loaded")).count(), fixed.output());
        fixed.close();

        // --once with a table that stops: the others applied, exit 1
        pg("ALTER TABLE items ALTER COLUMN v TYPE numeric(30, 0)", "UPDATE items SET v = v + 1 WHERE id = 11",
                "INSERT INTO others VALUES (104, 104)");
        LoaderProcess once = start(env, "--once");
        assertEquals(1, once.awaitExit(RUN_LIMIT), once.output());
        assertTrue(once.output().contains("public.items: CDC stopped for this table"), once.output());
        assertEquals(List.of("1"), chRows("SELECT toString(count()) FROM others FINAL WHERE id = 104"));
    }
}
