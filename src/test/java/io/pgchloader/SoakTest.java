package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.postgres.WriteHorizon;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderRuns;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.support.RowComparison;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A randomized soak: writers change two tables concurrently while the loader, on a one-second schedule,
 * is killed with SIGKILL at random moments and started again, over and over. At the end PostgreSQL and
 * ClickHouse ({@code FINAL}) must agree on every column of every row: nothing lost, nothing duplicated,
 * no row left at an older version.
 *
 * <p>The writers (each a thread with a connection of its own) mix what breaks timestamp watermarks:
 * <ul>
 *   <li>short transactions inserting and updating a few rows;</li>
 *   <li>long transactions, held open 2–8 s while the others commit and the loader cycles, inserting and
 *   updating rows; their timestamps are the transaction's start ({@code DEFAULT localtimestamp}/{@code now()},
 *   {@code updated_at = localtimestamp}), so they commit rows older than rows already synced;</li>
 *   <li>ties: one INSERT of 6,000+ rows sharing one timestamp, one UPDATE of thousands of rows;</li>
 *   <li>the same hundred rows updated again and again; rows whose updated_at goes from NULL to a value;</li>
 *   <li>rows updated by a transaction that started before they were inserted (updated_at &lt; created_at);</li>
 *   <li>hard deletes of random rows, and rows deleted and inserted again under the same id in one
 *   transaction; the loaders reconcile every few seconds ({@code reconcileCron}), so reconciliations are
 *   killed halfway too, and tombstones race writers that bring keys back;</li>
 *   <li>lock waits, deadlocks and rollbacks, which happen by themselves with this mix.</li>
 * </ul>
 * One table has {@code timestamp} columns (wall-clock time of the writers' zone), the other
 * {@code timestamptz}.
 *
 * <p>The loader runs as a process of its own (batches of 500 rows, so a cycle with work takes a while).
 * Each run lives 0.5–4 s, counted from the process start in one run of four (so some die while the JVM
 * or Camel starts), otherwise from its first PostgreSQL session, i.e. the start of its first cycle. In
 * four runs of ten the kill then waits (up to 3 s more) until a stream is being read or a batch
 * inserted, since at the writers' pace the loader spends most of its time between cycles. Then it is
 * killed and started again at once. What it was doing at each kill is counted and printed.
 *
 * <p>At the end the writers stop (an open transaction is committed first) and {@code --once} runs, then
 * {@code --repair} for the deletes the last reconciliation did not see. One
 * run is enough once no transaction is open: its horizon is then "now", so every committed row is
 * below it. A second run would be needed only if a transaction had been open when the first read its
 * horizon (rows of that transaction, and of any that began after it, wait for the next cycle by
 * design); the test waits until no transaction is open, so it expects one run, allows a second, and
 * reports how many it took. Differences that remain after that are real.
 *
 * <p>Size: {@code -Dsoak.seconds} (writing and killing, default 85), {@code -Dsoak.kills} (at least
 * that many kills, default 20), {@code -Dsoak.writers} (default 4), {@code -Dsoak.seed} (replay the
 * random choices; the timing still varies). It prints one line:
 * {@code SOAK: cycles=… rows=… updates=… kills=… lost=0 duplicates=0 stale=0 seconds=…}.
 */
class SoakTest extends LoaderTestBase {

    static final int SECONDS = Integer.getInteger("soak.seconds", 85);
    static final int KILLS = Integer.getInteger("soak.kills", 20);
    static final int WRITERS = Math.max(3, Integer.getInteger("soak.writers", 4));
    static final int SEED_ROWS = 5_000;
    static final int HOT_ROWS = 100;
    static final Duration ONCE_LIMIT = Duration.ofMinutes(5);

    /** The two tables: one with timestamp columns (written with localtimestamp), one with timestamptz (now()). */
    enum Table {
        LOCAL("soak_local", "timestamp", "localtimestamp", "%s"),
        TZ("soak_tz", "timestamptz", "now()", "%s AT TIME ZONE 'UTC'");

        final String name;
        final String type;
        final String now;
        final String utc;

        Table(String name, String type, String now, String utc) {
            this.name = name;
            this.type = type;
            this.now = now;
            this.utc = utc;
        }

        String pgRows() {
            return "SELECT id, writer::text, revision::text, coalesce(payload, '<null>'), coalesce(amount::text, '<null>'),"
                    + " to_char(" + utc.formatted("created_at") + ", 'YYYY-MM-DD HH24:MI:SS.US'),"
                    + " coalesce(to_char(" + utc.formatted("updated_at") + ", 'YYYY-MM-DD HH24:MI:SS.US'), '<null>')"
                    + " FROM " + name;
        }

        String chRows() {
            return "SELECT id, toString(writer), toString(revision), ifNull(payload, '<null>'),"
                    + " ifNull(toDecimalString(amount, 2), '<null>'), toString(created_at), ifNull(toString(updated_at), '<null>')"
                    + " FROM " + name + " FINAL";
        }
    }

    /** What every update sets, then {@code updated_at = } the table's now. */
    static final String SET = " SET revision = revision + 1, writer = ?, payload = ?,"
            + " amount = CASE WHEN amount IS NULL THEN 1.5 WHEN revision % 5 = 4 THEN NULL ELSE amount + 0.25 END,"
            + " updated_at = ";

    final long seed = Long.getLong("soak.seed", System.nanoTime());
    final Random random = new Random(seed);
    final AtomicBoolean stopWriting = new AtomicBoolean();
    final AtomicLong nextId = new AtomicLong(SEED_ROWS + 1);
    final List<Writer> writers = new ArrayList<>();
    /** At most this many writers in a long transaction at once, so the others keep committing. */
    final Semaphore longSlots = new Semaphore(Math.max(1, WRITERS - 2));
    final List<Thread> threads = new ArrayList<>();
    LoaderRuns runs;

    @AfterEach
    void stopEverything() throws Exception {
        stopWriting.set(true);
        for (Thread t : threads) {
            t.join(30_000);
        }
        if (runs != null) {
            runs.close();
        }
    }

    @Test
    void survives_kill_9_at_random_moments_under_concurrent_writers() throws Exception {
        // a guard against a hang; the phases below end by themselves long before
        assertTimeoutPreemptively(Duration.ofSeconds(SECONDS * 5L + 900), this::soak);
    }

    private void soak() throws Exception {
        long started = System.nanoTime();
        System.out.println("SOAK: seed " + seed + ", " + SECONDS + " s, at least " + KILLS + " kills, " + WRITERS + " writers");
        loader = new LoaderFixture(tmp).withRoutes("soak.yaml",
                LoaderFixture.templatedRoute("sync-soak-local", "table", Table.LOCAL.name, "cron", "0/1 * * * * ?",
                        "batchSize", "500", "insertRows", "1000", "reconcileCron", "0/3 * * * * ?")
                        + LoaderFixture.templatedRoute("sync-soak-tz", "table", Table.TZ.name, "cron", "0/1 * * * * ?",
                        "batchSize", "500", "insertRows", "1000", "reconcileCron", "0/3 * * * * ?"));
        for (Table t : Table.values()) {
            loader.pg("CREATE TABLE " + t.name + " (id bigint PRIMARY KEY, writer integer NOT NULL,"
                            + " revision integer NOT NULL DEFAULT 0, payload text, amount numeric(12, 2),"
                            + " created_at " + t.type + " NOT NULL DEFAULT " + t.now + ", updated_at " + t.type + ")",
                    "CREATE INDEX ON " + t.name + " (created_at)",
                    "CREATE INDEX ON " + t.name + " (updated_at)",
                    "INSERT INTO " + t.name + " (id, writer, payload, amount, created_at)"
                            + " SELECT g, 0, 'seed ' || g, g * 0.5, " + t.now + " - interval '1 hour' + g * interval '1 millisecond'"
                            + " FROM generate_series(1, " + SEED_ROWS + ") g");
        }
        Map<String, String> env = loader.environment();
        env.put("RETRY_INITIAL_DELAY_MS", "200");
        env.put("RETRY_MAX_DELAY_MS", "1000");
        runs = new LoaderRuns(tmp.resolve("runs"), env);

        for (int i = 1; i <= WRITERS; i++) {
            Writer w = new Writer(i, new Random(seed + i));
            writers.add(w);
            Thread t = new Thread(w, "soak-writer-" + i);
            threads.add(t);
            t.start();
        }

        // kill, start again, kill, … for the time given and at least the kills asked for
        long deadline = started + Duration.ofSeconds(SECONDS).toNanos();
        int fromStart = 0;
        Map<String, Integer> moments = new TreeMap<>();
        while (System.nanoTime() < deadline || runs.kills() < KILLS) {
            String before = loader.pgRows("SELECT now()::text").get(0);
            runs.start();
            int mode = random.nextInt(20);
            if (mode < 5) {
                fromStart++;
            } else {
                awaitFirstSession(before);
            }
            Thread.sleep(500 + random.nextInt(3_501));
            String moment = moment(before);
            if (mode >= 12) {
                // then into the next cycle's work: wait (a little) for a stream or an insert in flight
                long until = System.nanoTime() + Duration.ofSeconds(3).toNanos();
                while (!(moment.equals("inserting") || moment.equals("reading")) && System.nanoTime() < until) {
                    moment = moment(before);
                }
            }
            runs.kill();
            moments.merge(moment, 1, Integer::sum);
            for (Writer w : writers) {
                w.assertHealthy();
            }
        }
        long killsDone = runs.kills();

        // the writers finish: an open transaction commits first
        stopWriting.set(true);
        for (Thread t : threads) {
            t.join(60_000);
            assertFalse(t.isAlive(), t.getName() + " did not stop");
        }
        for (Writer w : writers) {
            w.assertHealthy();
        }
        awaitNoOpenTransaction();

        // --once, then the comparison; a second run only if the first left differences (see class comment)
        int onceRuns = 0;
        List<RowComparison> comparisons;
        List<String> onceNotes = new ArrayList<>();
        do {
            onceRuns++;
            LoaderProcess once = runs.start("--once");
            int exit = once.awaitExit(ONCE_LIMIT);
            onceNotes.add("once #" + onceRuns + ": exit " + exit + "\n" + once.output());
            LoaderProcess repair = runs.start("--repair");
            int repaired = repair.awaitExit(ONCE_LIMIT);
            onceNotes.add("repair #" + onceRuns + ": exit " + repaired + "\n" + repair.output());
            exit = Math.max(exit, repaired);
            comparisons = new ArrayList<>();
            for (Table t : Table.values()) {
                comparisons.add(RowComparison.of(loader, t.pgRows(), t.chRows()));
            }
            if (exit == 0 && comparisons.stream().allMatch(RowComparison::matches)) {
                break;
            }
            System.out.println("SOAK: once #" + onceRuns + " exit " + exit + ": "
                    + comparisons.stream().map(RowComparison::report).toList());
        } while (onceRuns < 2);

        long lost = 0;
        long duplicates = 0;
        long stale = 0;
        long phantom = 0;
        long rows = 0;
        for (RowComparison c : comparisons) {
            lost += c.lost().size();
            duplicates += c.duplicates().size();
            stale += c.stale().size();
            phantom += c.phantom().size();
            rows += c.pgRows();
        }
        Totals totals = new Totals(writers);
        long seconds = Math.round((System.nanoTime() - started) / 1e9);
        System.out.printf("SOAK: cycles=%d rows=%d updates=%d deletes=%d kills=%d lost=%d duplicates=%d stale=%d resurrected=%d seconds=%d%n",
                runs.cycles(), rows, totals.updates, totals.deleted, killsDone, lost, duplicates, stale, phantom, seconds);
        System.out.println("SOAK: kills by what the loader was doing just before: " + moments);
        System.out.printf("SOAK: reconciliations that ended: %d, rows deleted and inserted again: %d%n",
                runs.count(LoaderRuns.RECONCILED_LINE), totals.reinserted);
        System.out.printf("SOAK: details: phantom=%d onceRuns=%d failedCycles=%d retries=%d killsFromProcessStart=%d"
                        + " transactions=%d rolledBack=%d (deadlocks %d, lock timeouts %d) longTransactions=%d"
                        + " tieInserts=%d bigUpdates=%d (largest %d rows) insertedRows=%d writers=%d seed=%d%n",
                phantom, onceRuns, runs.count(LoaderRuns.FAILED_LINE), runs.count(LoaderRuns.RETRY_LINE), fromStart,
                totals.transactions, totals.rolledBack, totals.deadlocks, totals.lockTimeouts, totals.longTransactions,
                totals.tieInserts, totals.bigUpdates, totals.biggestUpdate, totals.inserted, WRITERS, seed);

        String evidence = comparisons.stream().map(RowComparison::report).reduce("", (a, b) -> a + "\n" + b)
                + "\nseed " + seed + "\n" + String.join("\n", onceNotes) + "\nloader runs:\n" + runs.tail(15);
        assertEquals(0, lost, "rows lost" + evidence);
        assertEquals(0, duplicates, "rows duplicated under FINAL" + evidence);
        assertEquals(0, stale, "rows at an older version" + evidence);
        assertEquals(0, phantom, "rows ClickHouse has and PostgreSQL has not" + evidence);
        assertTrue(comparisons.stream().allMatch(RowComparison::matches), evidence);
        assertTrue(onceNotes.get(onceNotes.size() - 2).startsWith("once #" + onceRuns + ": exit 0"), evidence);
        assertTrue(onceNotes.get(onceNotes.size() - 1).startsWith("repair #" + onceRuns + ": exit 0"), evidence);
        assertTrue(killsDone >= KILLS, "killed " + killsDone + " times");
        assertTrue(totals.deleted > 0 && totals.reinserted > 0, "deletes ran: " + totals.deleted + ", inserted again: " + totals.reinserted);
        assertTrue(totals.longTransactions > 0 && totals.tieInserts > 0 && totals.bigUpdates > 0,
                "the mix ran: " + totals.longTransactions + " long transactions, " + totals.tieInserts + " tie inserts, "
                        + totals.bigUpdates + " big updates");
    }

    /**
     * What the current run is doing, as far as the databases show it a moment before the kill: not yet
     * cycling (no session since it started), inserting a batch into ClickHouse, reading a stream from
     * PostgreSQL (a cursor open), or between the steps of a cycle or between cycles.
     */
    private String moment(String before) throws SQLException {
        long sessions = loader.pgLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                + " AND application_name = '" + WriteHorizon.LOADER_APPLICATION_NAME + "' AND backend_start > '" + before + "'");
        if (sessions == 0) {
            return "starting";
        }
        if (loader.chLong("SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO%" + loader.database + "%'") > 0) {
            return "inserting";
        }
        long streaming = loader.pgLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                + " AND application_name = '" + WriteHorizon.LOADER_APPLICATION_NAME + "' AND backend_start > '" + before + "'"
                + " AND (state = 'active' OR state LIKE 'idle in transaction%')");
        return streaming > 0 ? "reading" : "between";
    }

    /** Waits (a while) until the current run opened its first PostgreSQL session: its first cycle has begun. */
    private void awaitFirstSession(String before) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (loader.pgLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    + " AND application_name = '" + WriteHorizon.LOADER_APPLICATION_NAME + "' AND backend_start > '" + before + "'") > 0) {
                return;
            }
            runs.assertAlive();
            Thread.sleep(20);
        }
    }

    /** Waits until no session but the loader's own has a transaction open in the database. */
    private void awaitNoOpenTransaction() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                + " AND xact_start IS NOT NULL AND backend_type = 'client backend'"
                + " AND coalesce(application_name, '') <> '" + WriteHorizon.LOADER_APPLICATION_NAME + "'";
        while (loader.pgLong(sql) > 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("transactions still open: " + loader.pgRows(
                        "SELECT pid, application_name, state, xact_start, query FROM pg_stat_activity"
                                + " WHERE datname = current_database() AND xact_start IS NOT NULL"));
            }
            Thread.sleep(50);
        }
    }

    /** Sums of the writers' counters (committed work only). */
    static final class Totals {
        long transactions;
        long rolledBack;
        long deadlocks;
        long lockTimeouts;
        long inserted;
        long updates;
        long longTransactions;
        long tieInserts;
        long bigUpdates;
        long biggestUpdate;
        long deleted;
        long reinserted;

        Totals(List<Writer> writers) {
            for (Writer w : writers) {
                deleted += w.deleted;
                reinserted += w.reinserted;
                transactions += w.committed;
                rolledBack += w.rolledBack;
                deadlocks += w.deadlocks;
                lockTimeouts += w.lockTimeouts;
                inserted += w.inserted;
                updates += w.updates;
                longTransactions += w.longTransactions;
                tieInserts += w.tieInserts;
                bigUpdates += w.bigUpdates;
                biggestUpdate = Math.max(biggestUpdate, w.biggestUpdate);
            }
        }
    }

    /** One writer: its own connection, autocommit off, transactions of every kind in random order. */
    final class Writer implements Runnable {

        final int number;
        final Random r;
        volatile Throwable failure;
        // committed work; written by the writer thread, read after it ended (or for a rough progress line)
        volatile long committed;
        volatile long rolledBack;
        volatile long deadlocks;
        volatile long lockTimeouts;
        volatile long inserted;
        volatile long updates;
        volatile long longTransactions;
        volatile long tieInserts;
        volatile long bigUpdates;
        volatile long biggestUpdate;
        volatile long deleted;
        volatile long reinserted;
        // this transaction's work, counted once it commits
        long txDeleted;
        long txReinserted;
        long txInserted;
        long txUpdates;
        long txTies;
        long txBigUpdates;
        long txLong;
        Connection c;

        Writer(int number, Random r) {
            this.number = number;
            this.r = r;
            // the first of each early, so that even a short soak has them all
            long now = System.nanoTime();
            nextLong = now + millis(500, 4_000);
            nextTie = now + millis(500, 5_000);
            nextBigUpdate = now + millis(500, 5_000);
        }

        void assertHealthy() {
            if (failure != null) {
                throw new AssertionError("writer " + number + " failed", failure);
            }
        }

        @Override
        public void run() {
            try {
                Properties p = new Properties();
                p.setProperty("user", "postgres");
                p.setProperty("password", "");
                p.setProperty("ApplicationName", "soak-writer-" + number);
                c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:"
                        + io.pgchloader.support.TestDatabases.servers().postgresPort() + "/" + loader.database, p);
                try (Statement s = c.createStatement()) {
                    s.execute("SET lock_timeout = '3s'");
                }
                c.setAutoCommit(false);
                while (!stopWriting.get()) {
                    txInserted = txUpdates = txTies = txBigUpdates = txLong = txDeleted = txReinserted = 0;
                    try {
                        transaction();
                        c.commit();
                        committed++;
                        inserted += txInserted;
                        updates += txUpdates;
                        tieInserts += txTies;
                        bigUpdates += txBigUpdates;
                        longTransactions += txLong;
                        deleted += txDeleted;
                        reinserted += txReinserted;
                    } catch (SQLException e) {
                        c.rollback();
                        rolledBack++;
                        if ("40P01".equals(e.getSQLState())) {
                            deadlocks++;
                        } else if ("55P03".equals(e.getSQLState())) {
                            lockTimeouts++;
                        } else if (!"40001".equals(e.getSQLState())) {
                            throw e;
                        }
                    }
                    Thread.sleep(5 + r.nextInt(40));
                }
            } catch (Throwable t) {
                failure = t;
            } finally {
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (SQLException ignored) {
                    // closing after a failure
                }
            }
        }

        private Table table() {
            return r.nextBoolean() ? Table.LOCAL : Table.TZ;
        }

        // when this writer next runs each kind of heavy transaction (System.nanoTime())
        long nextLong;
        long nextTie;
        long nextBigUpdate;

        private long millis(int min, int max) {
            return Duration.ofMillis(min + r.nextInt(max - min + 1)).toNanos();
        }

        private void transaction() throws SQLException, InterruptedException {
            long now = System.nanoTime();
            if (now > nextLong && longSlots.tryAcquire()) {
                try {
                    longTransaction();
                } finally {
                    longSlots.release();
                    nextLong = System.nanoTime() + millis(2_000, 8_000);
                }
                return;
            }
            if (now > nextTie) {
                nextTie = now + millis(8_000, 20_000);
                insert(table(), 6_000 + r.nextInt(2_001)); // one statement, one timestamp
                txTies++;
                return;
            }
            if (now > nextBigUpdate) {
                nextBigUpdate = now + millis(8_000, 20_000);
                updateRange(table(), 2_000 + r.nextInt(3_001)); // thousands of rows, one statement
                txBigUpdates++;
                return;
            }
            int dice = r.nextInt(100);
            if (dice < 40) {
                insert(table(), 1 + r.nextInt(50));
            } else if (dice < 70) {
                updateRandom(table(), 1 + r.nextInt(30));
            } else if (dice < 82) {
                updateHot(table(), 1 + r.nextInt(10));
            } else if (dice < 88) {
                updateNeverUpdated(table(), 50 + r.nextInt(450));
            } else if (dice < 92) {
                deleteRandom(table(), 1 + r.nextInt(10), false);
            } else if (dice < 95) {
                deleteRandom(table(), 1 + r.nextInt(3), true);
            } else {
                insert(table(), 1 + r.nextInt(20));
                updateRandom(table(), 1 + r.nextInt(20));
                updateHot(table(), 1 + r.nextInt(3));
            }
        }

        /**
         * Open for 2–8 s while the others commit: inserts and updates, every timestamp the transaction's
         * start. Updates rows inserted meanwhile by others too (their updated_at ends up before their
         * created_at).
         */
        private void longTransaction() throws SQLException, InterruptedException {
            long end = System.nanoTime() + Duration.ofMillis(2_000 + r.nextInt(6_001)).toNanos();
            insert(table(), 1 + r.nextInt(200));
            while (System.nanoTime() < end && !stopWriting.get()) {
                Thread.sleep(200 + r.nextInt(1_000));
                int dice = r.nextInt(10);
                if (dice < 4) {
                    insert(table(), 1 + r.nextInt(300));
                } else if (dice < 8) {
                    updateRandom(table(), 1 + r.nextInt(50));
                } else if (dice < 9) {
                    updateRecent(table(), 1 + r.nextInt(50));
                } else {
                    updateHot(table(), 1 + r.nextInt(2));
                }
            }
            // sometimes the commit comes after the writers were told to stop: fine, the once run waits for it
            txLong++;
        }

        private void insert(Table t, int rows) throws SQLException {
            long from = nextId.getAndAdd(rows);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + t.name + " (id, writer, payload, amount)"
                    + " SELECT g, ?, 'w' || ? || ' ' || md5(g::text), CASE WHEN g % 7 = 0 THEN NULL ELSE (g % 100000) * 0.01 END"
                    + " FROM generate_series(?::bigint, ?::bigint) g")) {
                ps.setInt(1, number);
                ps.setInt(2, number);
                ps.setLong(3, from);
                ps.setLong(4, from + rows - 1);
                txInserted += ps.executeUpdate();
            }
        }

        private void update(Table t, String where, Object... parameters) throws SQLException {
            try (PreparedStatement ps = c.prepareStatement("UPDATE " + t.name + SET + t.now + " WHERE " + where)) {
                ps.setInt(1, number);
                ps.setString(2, "w" + number + " r" + r.nextInt(1_000_000));
                for (int i = 0; i < parameters.length; i++) {
                    ps.setObject(3 + i, parameters[i]);
                }
                txUpdates += ps.executeUpdate();
            }
        }

        private void updateIds(Table t, List<Long> ids) throws SQLException {
            Array array = c.createArrayOf("bigint", ids.stream().sorted().toArray());
            update(t, "id = ANY(?)", array);
        }

        /**
         * Random rows deleted (some ids do not exist); with {@code again}, inserted again under the same ids
         * in the same transaction, stamped with its start like any insert: newer than their tombstones must be.
         */
        private void deleteRandom(Table t, int rows, boolean again) throws SQLException {
            long max = nextId.get();
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < rows; i++) {
                // not the hot rows: those are updated all the time, keep them
                ids.add(HOT_ROWS + 1 + (long) (r.nextDouble() * (max - HOT_ROWS - 2)));
            }
            Array array = c.createArrayOf("bigint", ids.stream().sorted().distinct().toArray());
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + t.name + " WHERE id = ANY(?) RETURNING id")) {
                ps.setArray(1, array);
                List<Long> gone = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        gone.add(rs.getLong(1));
                    }
                }
                txDeleted += gone.size();
                if (again && !gone.isEmpty()) {
                    try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + t.name + " (id, writer, payload, amount)"
                            + " SELECT g, ?, 'again w' || ? || ' ' || g, 2.5 FROM unnest(?::bigint[]) g")) {
                        insert.setInt(1, number);
                        insert.setInt(2, number);
                        insert.setArray(3, c.createArrayOf("bigint", gone.toArray()));
                        txReinserted += insert.executeUpdate();
                    }
                }
            }
        }

        /** Random rows anywhere; some ids do not exist (rolled back, or not yet committed). */
        private void updateRandom(Table t, int rows) throws SQLException {
            long max = nextId.get();
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < rows; i++) {
                ids.add(1 + (long) (r.nextDouble() * (max - 1)));
            }
            updateIds(t, ids);
        }

        /** Rows among the latest ids: likely inserted by others after this transaction began. */
        private void updateRecent(Table t, int rows) throws SQLException {
            long max = nextId.get();
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < rows; i++) {
                ids.add(Math.max(1, max - 1 - r.nextInt(3_000)));
            }
            updateIds(t, ids);
        }

        /** The same hundred rows, again and again. */
        private void updateHot(Table t, int rows) throws SQLException {
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < rows; i++) {
                ids.add(1L + r.nextInt(HOT_ROWS));
            }
            updateIds(t, ids);
        }

        /** Rows never updated so far: updated_at goes from NULL to a value. */
        private void updateNeverUpdated(Table t, int rows) throws SQLException {
            long from = 1 + (long) (r.nextDouble() * nextId.get());
            update(t, "id IN (SELECT id FROM " + t.name + " WHERE updated_at IS NULL AND id >= ? ORDER BY id LIMIT ?)",
                    from, rows);
        }

        /** Thousands of consecutive rows in one statement: one updated_at for all of them. */
        private void updateRange(Table t, int rows) throws SQLException {
            long from = 1 + (long) (r.nextDouble() * Math.max(1, nextId.get() - 3L * rows));
            long before = txUpdates;
            update(t, "id IN (SELECT id FROM " + t.name + " WHERE id >= ? ORDER BY id LIMIT ?)", from, rows);
            biggestUpdate = Math.max(biggestUpdate, txUpdates - before);
        }
    }
}
