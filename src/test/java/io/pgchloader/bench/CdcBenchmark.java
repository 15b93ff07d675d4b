package io.pgchloader.bench;

import io.pgchloader.embedded.EmbeddedDatabases;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.postgresql.replication.LogSequenceNumber;

/**
 * What one large transaction costs the CDC stream: for each {@code insert:N} (or {@code update:N}) given, one
 * transaction inserting N new rows into a CDC table (or updating its first N rows), then the loader's
 * {@code --once} as a user runs it, a JVM of its own with {@code -Xmx256m} and the default JIT, which streams
 * that transaction from the slot, applies it and confirms it. Measured: the time from the loader's
 * "Streaming" line to its exit (PostgreSQL decoding the transaction included) and the changes per second, the
 * CPU time the loader and PostgreSQL's walsender (the backend that decodes the slot) spent meanwhile, the
 * loader's peak resident memory ({@code VmHWM} of {@code /proc/<pid>/status}), and its heap: the largest
 * occupancy before and after any collection ({@code -Xlog:gc}). A bounded stream shows the same memory for
 * 100,000 rows as for 1,000,000. Each run also checks that ClickHouse {@code FINAL} holds every row, and that
 * the slot was confirmed past the transaction.
 *
 * <p>The table: {@code items (id bigint PRIMARY KEY, v int NOT NULL, note varchar(40))}, {@code REPLICA IDENTITY
 * FULL} (its varchar could be TOASTed), so an update carries the old row as well as the new.
 *
 * <p>{@code replay:INSERTS:UPDATES} is the issue's replay instead: that many rows inserted, then as many of them
 * updated, in transactions of 1,000 rows each, all while the loader is down; then one {@code --once} streams
 * them all.
 *
 * <p>Run: {@code mvn -B -q -DskipTests package && java -cp "$PWD/target/test-classes:$PWD/target/classes:$PWD/target/lib/*"
 * io.pgchloader.bench.CdcBenchmark insert:100000 insert:1000000 update:1000000}
 */
public final class CdcBenchmark {

    private static final Pattern APPLIED = Pattern.compile("CDC stream stopped at \\S+ \\((\\d+) changes applied\\)");
    /** A G1 (or any unified-logging) collection line: heap before -> after (committed). */
    private static final Pattern GC = Pattern.compile("(\\d+)M->(\\d+)M\\((\\d+)M\\)");
    private static final Duration LIMIT = Duration.ofMinutes(5);

    private CdcBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("pgch-cdc-bench");
        try (EmbeddedDatabases db = EmbeddedDatabases.start(true)) {
            try (Connection pg = pg(db); Statement s = pg.createStatement()) {
                s.execute("CREATE TABLE items (id bigint PRIMARY KEY, v int NOT NULL, note varchar(40), body text)");
                s.execute("ALTER TABLE items REPLICA IDENTITY FULL");
                System.out.println("PostgreSQL logical_decoding_work_mem: " + single(s, "SHOW logical_decoding_work_mem"));
            }
            try (Connection ch = clickHouse(db, "default"); Statement s = ch.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS cdcbench");
                s.execute("CREATE DATABASE cdcbench");
            }
            Path routes = LoaderFixture.cdcRoutes(work.resolve("routes"), "cdc-items", "table", "items");
            Map<String, String> env = db.settings("postgres", "cdcbench");
            env.put("ROUTES_DIR", routes.toString());
            // creates the slot and loads the empty table: what follows is streamed
            Run first = once(db, work.resolve("setup"), env);
            if (first.exit != 0) {
                throw new IllegalStateException("the first --once failed:\n" + first.output);
            }
            System.out.println("| transaction | changes | streamed, applied and confirmed | changes/s | loader CPU meanwhile"
                    + " | walsender CPU meanwhile | loader peak RSS (VmHWM) | heap after GC, max | heap before GC, max | collections |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|");
            long nextId = 1;
            for (String arg : args) {
                String[] parts = arg.split(":");
                String kind = parts[0];
                int rows = Integer.parseInt(parts[1].replace("_", ""));
                // replay:INSERTS:UPDATES: transactions of 1,000 rows, the updates over the rows just inserted
                int updates = kind.equals("replay") ? Integer.parseInt(parts[2].replace("_", "")) : 0;
                long t = System.nanoTime();
                try (Connection pg = pg(db); Statement s = pg.createStatement()) {
                    if (kind.equals("replay")) {
                        long firstNew = nextId;
                        for (long from = nextId; from < nextId + rows; from += 1000) {
                            s.execute("INSERT INTO items SELECT g, g % 1000, 'note ' || g FROM generate_series(" + from + ", "
                                    + (Math.min(from + 1000, nextId + rows) - 1) + ") g");
                        }
                        nextId += rows;
                        for (long from = firstNew; from < firstNew + updates; from += 1000) {
                            s.execute("UPDATE items SET v = v + 1, note = 'updated ' || id WHERE id BETWEEN " + from + " AND "
                                    + (Math.min(from + 1000, firstNew + updates) - 1));
                        }
                    } else if (kind.equals("insert")) {
                        s.execute("INSERT INTO items SELECT g, g % 1000, 'note ' || g FROM generate_series(" + nextId + ", "
                                + (nextId + rows - 1) + ") g");
                        nextId += rows;
                    } else if (kind.equals("wide")) {
                        // 100 KB per row as pgoutput sends it (stored compressed, so cheap for PostgreSQL)
                        s.execute("INSERT INTO items SELECT g, g % 1000, 'wide ' || g, repeat(md5(g::text), 3200) FROM generate_series("
                                + nextId + ", " + (nextId + rows - 1) + ") g");
                        nextId += rows;
                    } else if (kind.equals("update")) {
                        s.execute("UPDATE items SET v = v + 1, note = 'updated ' || id WHERE id <= " + rows);
                    } else {
                        throw new IllegalArgumentException("insert:N, wide:N, update:N or replay:INSERTS:UPDATES, not " + arg);
                    }
                }
                double written = (System.nanoTime() - t) / 1e9;
                long end = lsn(db, "SELECT pg_current_wal_lsn()::text");
                Run run = once(db, work.resolve(kind + rows), env);
                if (run.exit != 0) {
                    System.out.printf("| %s: --once failed (exit %d), peak RSS %d MB, heap after GC max %d MB: %s |%n", arg, run.exit,
                            run.peakRssKb / 1024, run.heapAfterMb, run.output.lines().filter(l -> l.contains("ERROR")
                                    || l.contains("OutOfMemory")).findFirst().orElse(""));
                    continue;
                }
                Matcher applied = APPLIED.matcher(run.output);
                long changes = applied.find() ? Long.parseLong(applied.group(1)) : -1;
                long inClickHouse = count(db, "SELECT count() FROM items FINAL WHERE " + (kind.equals("update") ? "note LIKE 'updated %'" : "1"));
                long confirmed = lsn(db, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'pg_ch_loader'");
                long expected = kind.equals("update") ? rows : nextId - 1;
                boolean updated = !kind.equals("replay")
                        || count(db, "SELECT count() FROM items FINAL WHERE note LIKE 'updated %'") >= updates;
                if (changes != rows + updates || inClickHouse != expected || !updated || confirmed < end) {
                    throw new IllegalStateException(arg + ": " + changes + " changes applied, " + inClickHouse + " rows in ClickHouse"
                            + " (expected " + expected + "), slot confirmed " + (confirmed < end ? "before" : "past") + " the transaction:\n"
                            + run.output);
                }
                String what = kind.equals("replay")
                        ? String.format("%,d inserted and %,d updated rows, transactions of 1,000", rows, updates)
                        : String.format("one %s of %,d rows%s", kind.equals("update") ? "UPDATE" : "INSERT", rows,
                                kind.equals("wide") ? " of 100 KB" : "");
                System.out.printf("| %s (written in %.1f s) | %,d | %.1f s | %,.0f | %.1f s | %.1f s | %d MB | %d MB | %d MB | %d |%n",
                        what, written, changes, run.streamSeconds,
                        changes / run.streamSeconds, run.loaderCpuSeconds, run.walSenderCpuSeconds, run.peakRssKb / 1024,
                        run.heapAfterMb, run.heapBeforeMb, run.collections);
            }
        }
    }

    /** One {@code --once} of the loader, watched. */
    private record Run(int exit, String output, double streamSeconds, long peakRssKb, long heapBeforeMb, long heapAfterMb,
                       int collections, double loaderCpuSeconds, double walSenderCpuSeconds) {
    }

    private static Run once(EmbeddedDatabases db, Path dir, Map<String, String> env) throws Exception {
        Files.createDirectories(dir);
        Path gcLog = dir.resolve("gc.log");
        // the default JIT, as `java -jar` runs it (the tests' loaders stop at C1 for a quicker start)
        List<String> jvm = List.of("-XX:TieredStopAtLevel=4", "-Xlog:gc:file=" + gcLog);
        long peak = 0;
        long streaming = 0;
        double cpu = 0;
        double cpuAtStreaming = 0;
        Path walSender = null;
        double walSenderCpu = 0;
        double walSenderAtStreaming = 0;
        try (LoaderProcess p = LoaderProcess.start(dir, env, jvm, "--once")) {
            Path status = Path.of("/proc", Long.toString(p.pid()), "status");
            Path stat = Path.of("/proc", Long.toString(p.pid()), "stat");
            long deadline = System.nanoTime() + LIMIT.toNanos();
            while (p.isAlive() && System.nanoTime() < deadline) {
                peak = Math.max(peak, hwm(status));
                cpu = Math.max(cpu, cpuSeconds(stat));
                if (streaming == 0 && p.output().contains("| cdc | Streaming")) {
                    streaming = System.nanoTime();
                    cpuAtStreaming = cpu;
                    // the backend that decodes the slot for this loader (PostgreSQL runs on this machine)
                    walSender = walSender(db);
                    walSenderAtStreaming = walSender == null ? 0 : cpuSeconds(walSender);
                }
                if (walSender != null) {
                    walSenderCpu = Math.max(walSenderCpu, cpuSeconds(walSender));
                }
                Thread.sleep(50);
            }
            int exit = p.awaitExit(Duration.ofSeconds(30));
            long ended = System.nanoTime();
            long before = 0;
            long after = 0;
            int collections = 0;
            for (String line : Files.readAllLines(gcLog)) {
                Matcher m = GC.matcher(line);
                if (m.find()) {
                    collections++;
                    before = Math.max(before, Long.parseLong(m.group(1)));
                    after = Math.max(after, Long.parseLong(m.group(2)));
                }
            }
            return new Run(exit, p.output(), streaming == 0 ? Double.NaN : (ended - streaming) / 1e9, peak, before, after,
                    collections, cpu - cpuAtStreaming, walSender == null ? Double.NaN : walSenderCpu - walSenderAtStreaming);
        }
    }

    private static Path walSender(EmbeddedDatabases db) throws SQLException {
        try (Connection pg = pg(db); Statement s = pg.createStatement();
             ResultSet rs = s.executeQuery("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'pg_ch_loader'")) {
            return rs.next() && rs.getObject(1) != null ? Path.of("/proc", rs.getString(1), "stat") : null;
        }
    }

    /** User and system CPU time of the whole process so far (every thread), or 0 once it is gone. */
    private static double cpuSeconds(Path stat) {
        try {
            String line = Files.readString(stat);
            // after the command name in parentheses: state is field 3, utime 14, stime 15 (clock ticks, 100 per second)
            String[] f = line.substring(line.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** VmHWM in kB, or 0 once the process is gone. */
    private static long hwm(Path status) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException e) {
            // the process just ended
        }
        return 0;
    }

    private static Connection pg(EmbeddedDatabases db) throws SQLException {
        Connection c = db.postgres("postgres").getConnection();
        c.setAutoCommit(true);
        return c;
    }

    private static long lsn(EmbeddedDatabases db, String sql) throws SQLException {
        try (Connection pg = pg(db); Statement s = pg.createStatement()) {
            return LogSequenceNumber.valueOf(single(s, sql)).asLong();
        }
    }

    private static long count(EmbeddedDatabases db, String sql) throws SQLException {
        try (Connection ch = clickHouse(db, "cdcbench"); Statement s = ch.createStatement()) {
            return Long.parseLong(single(s, sql));
        }
    }

    private static String single(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static Connection clickHouse(EmbeddedDatabases db, String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "default");
        p.setProperty("password", db.clickHousePassword());
        return DriverManager.getConnection("jdbc:clickhouse://" + db.clickHouseHost() + ":" + db.clickHousePort() + "/" + database, p);
    }
}
