package io.pgchloader.bench;

import io.pgchloader.embedded.EmbeddedDatabases;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Commit-to-ClickHouse latency of the CDC stream at a steady rate. A writer commits {@code R} inserts per
 * second (every 10 ms one transaction of {@code R / 100} rows, keys ascending), the scheduled loader streams
 * them, and a reader asks ClickHouse every 10 ms for the largest key it holds. One writer commits in key
 * order and the stream applies in commit order, so that key says every transaction up to it arrived; a
 * transaction's latency is the time from its commit returning to the first poll that saw its last key. Both
 * clocks are this JVM's. Printed per rate: p50, p99 and the largest, and the rate the writer reached.
 *
 * <p>Run: {@code mvn -B -q -DskipTests package && java -cp "$PWD/target/test-classes:$PWD/target/classes:$PWD/target/lib/*"
 * io.pgchloader.bench.CdcLatencyBenchmark 1000 10000} (20 s per rate after 5 s of warm-up; {@code --seconds N}).
 */
public final class CdcLatencyBenchmark {

    private CdcLatencyBenchmark() {
    }

    /** One committed transaction: its last key and when its commit returned. */
    private record Commit(long lastKey, long nanos) {
    }

    public static void main(String[] args) throws Exception {
        int seconds = 20;
        List<Integer> rates = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--seconds")) {
                seconds = Integer.parseInt(args[++i]);
            } else {
                rates.add(Integer.parseInt(args[i].replace("_", "")));
            }
        }
        Path work = Files.createTempDirectory("pgch-cdc-latency");
        try (EmbeddedDatabases db = EmbeddedDatabases.start(true)) {
            try (Connection pg = db.postgres("postgres").getConnection(); Statement s = pg.createStatement()) {
                s.execute("CREATE TABLE lat (id bigint PRIMARY KEY, v int NOT NULL)");
            }
            try (Connection ch = clickHouse(db, "default"); Statement s = ch.createStatement()) {
                s.execute("CREATE DATABASE IF NOT EXISTS cdclat");
            }
            Path routes = LoaderFixture.cdcRoutes(work.resolve("routes"), "cdc-lat", "table", "lat");
            Map<String, String> env = db.settings("postgres", "cdclat");
            env.put("ROUTES_DIR", routes.toString());
            env.put("HTTP_PORT", "0");
            AtomicLong nextKey = new AtomicLong(1);
            // the scheduled loader, as a user runs it: its own JVM, -Xmx256m, the default JIT
            try (LoaderProcess loader = LoaderProcess.start(work, env, List.of("-XX:TieredStopAtLevel=4"))) {
                loader.awaitOutput("| cdc | Streaming", Duration.ofMinutes(2));
                run(db, rates.isEmpty() ? 1000 : rates.get(0), 5, nextKey);
                System.out.println("| changes/s asked | reached | transactions | p50 | p99 | largest |");
                System.out.println("|---|---|---|---|---|---|");
                for (int rate : rates) {
                    List<Long> latencies = new ArrayList<>();
                    double reached = run(db, rate, seconds, nextKey, latencies);
                    Collections.sort(latencies);
                    System.out.printf("| %,d | %,.0f | %,d | %.3f s | %.3f s | %.3f s |%n", rate, reached, latencies.size(),
                            percentile(latencies, 0.50), percentile(latencies, 0.99), latencies.get(latencies.size() - 1) / 1e9);
                }
            }
        }
    }

    private static double run(EmbeddedDatabases db, int rate, int seconds, AtomicLong nextKey) throws Exception {
        return run(db, rate, seconds, nextKey, new ArrayList<>());
    }

    /** Writes at {@code rate} for {@code seconds}, waits until ClickHouse holds it all; returns the rate reached. */
    private static double run(EmbeddedDatabases db, int rate, int seconds, AtomicLong nextKey, List<Long> latencies) throws Exception {
        int perTick = Math.max(1, rate / 100);
        ConcurrentLinkedQueue<Commit> commits = new ConcurrentLinkedQueue<>();
        AtomicLong written = new AtomicLong();
        ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor();
        Connection writer = db.postgres("postgres").getConnection();
        writer.setAutoCommit(true);
        Statement insert = writer.createStatement();
        long started = System.nanoTime();
        ticks.scheduleAtFixedRate(() -> {
            long first = nextKey.getAndAdd(perTick);
            try {
                insert.execute("INSERT INTO lat SELECT g, 0 FROM generate_series(" + first + ", " + (first + perTick - 1) + ") g");
                commits.add(new Commit(first + perTick - 1, System.nanoTime()));
                written.addAndGet(perTick);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }, 0, 10, TimeUnit.MILLISECONDS);
        long stopAt = started + TimeUnit.SECONDS.toNanos(seconds);
        try (Connection ch = clickHouse(db, "cdclat"); Statement poll = ch.createStatement()) {
            long seen = 0;
            boolean writing = true;
            long deadline = Long.MAX_VALUE;
            while (true) {
                long now = System.nanoTime();
                if (writing && now >= stopAt) {
                    ticks.shutdown();
                    ticks.awaitTermination(10, TimeUnit.SECONDS);
                    writing = false;
                    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                }
                try (ResultSet rs = poll.executeQuery("SELECT max(id) FROM lat")) {
                    rs.next();
                    seen = rs.getLong(1);
                }
                long at = System.nanoTime();
                for (Commit c = commits.peek(); c != null && c.lastKey() <= seen; c = commits.peek()) {
                    commits.poll();
                    latencies.add(at - c.nanos());
                }
                if (!writing && commits.isEmpty()) {
                    break;
                }
                if (at > deadline) {
                    throw new IllegalStateException("ClickHouse did not catch up within 60 s: it holds keys up to " + seen);
                }
                Thread.sleep(10);
            }
        } finally {
            writer.close();
        }
        return written.get() / (seconds + 0.0);
    }

    private static double percentile(List<Long> sorted, double p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1)) / 1e9;
    }

    private static Connection clickHouse(EmbeddedDatabases db, String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "default");
        p.setProperty("password", db.clickHousePassword());
        return DriverManager.getConnection("jdbc:clickhouse://" + db.clickHouseHost() + ":" + db.clickHousePort() + "/" + database, p);
    }
}
