package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.Http;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.support.ZooKeeperServer;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Three loaders on one ZooKeeper (CLUSTER_ZOOKEEPER) share nine tables: each table is synced by one of
 * them, none leads more than its share, a {@code kill -9} moves the dead one's tables to the others, and
 * a ZooKeeper restart leaves every table led and syncing; nothing is lost or duplicated under FINAL.
 */
class ZooKeeperHighAvailabilityTest extends LoaderTestBase {

    static final int TABLES = 9;
    static final Duration SETTLE_LIMIT = Duration.ofSeconds(90);
    static final Duration ARRIVAL_LIMIT = Duration.ofSeconds(60);

    final List<LoaderProcess> loaders = new ArrayList<>();
    final List<Integer> ports = new ArrayList<>();
    int rowsPerTable;

    @Test
    void three_loaders_share_nine_tables_survive_a_kill_9_and_a_zookeeper_restart() throws Exception {
        String routes = IntStream.rangeClosed(1, TABLES)
                .mapToObj(i -> LoaderFixture.templatedRoute("sync-t" + i, "table", "t" + i, "cron", "0/1 * * * * ?"))
                .collect(Collectors.joining());
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", routes);
        for (int i = 1; i <= TABLES; i++) {
            loader.pg("CREATE TABLE t" + i + " (id bigint PRIMARY KEY, payload text,"
                    + " created_at timestamp NOT NULL DEFAULT localtimestamp, updated_at timestamp)");
        }
        writeRows(10);
        try (ZooKeeperServer zooKeeper = ZooKeeperServer.start(tmp.resolve("zookeeper"))) {
            Map<String, String> env = loader.environment();
            env.put("CLUSTER_ZOOKEEPER", zooKeeper.connectString());
            try {
                for (int i = 0; i < 3; i++) {
                    int port = Http.freePort();
                    env.put("HTTP_PORT", Integer.toString(port));
                    ports.add(port);
                    loaders.add(LoaderProcess.start(Files.createDirectories(tmp.resolve("loader" + i)), env));
                }

                // spread: all nine led, by one instance each, none above ceil(9 / 3) = 3 (the issue allows 4)
                Map<Integer, Integer> led = awaitSpread(List.of(0, 1, 2), 3);
                System.out.println("three loaders lead " + led);
                awaitAllRows();

                // kill -9 of the busiest: its tables move to the other two, within the session timeout and a cycle
                int victim = led.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
                loaders.get(victim).close();
                long killed = System.nanoTime();
                writeRows(10);
                List<Integer> survivors = IntStream.range(0, 3).filter(i -> i != victim).boxed().toList();
                awaitAllRows();
                System.out.printf("after kill -9 of loader %d: all %d tables synced %d ms later%n", victim, TABLES,
                        Duration.ofNanos(System.nanoTime() - killed).toMillis());
                System.out.println("two loaders lead " + awaitSpread(survivors, 5));

                // a ZooKeeper restart: every table is led again afterwards and keeps syncing
                zooKeeper.restart();
                for (int i : survivors) {
                    // both saw the connection go (so stopped their tables) and come back
                    loaders.get(i).awaitOutput("is back: this instance takes part", ARRIVAL_LIMIT);
                    assertTrue(loaders.get(i).output().contains("suspended: this instance stops its tables"),
                            loaders.get(i).output());
                }
                writeRows(10);
                awaitAllRows();
                System.out.println("after a ZooKeeper restart the two loaders lead " + awaitSpread(survivors, 5));
                writeRows(10);
                awaitAllRows();

                for (int i = 1; i <= TABLES; i++) {
                    assertEquals(rowsPerTable, loader.chLong("SELECT uniqExact(id) FROM t" + i + " FINAL"), "no key twice");
                    assertEquals(loader.pgRows("SELECT id || ' ' || payload FROM t" + i + " ORDER BY id"),
                            loader.chRows("SELECT concat(toString(id), ' ', payload) FROM t" + i + " FINAL ORDER BY id"));
                }
                for (int i : survivors) {
                    LoaderProcess survivor = loaders.get(i);
                    survivor.terminate();
                    int exit = survivor.awaitExit(Duration.ofSeconds(30));
                    assertTrue(exit == 0 || exit == 143, "exit " + exit + "\n" + survivor.output());
                    assertEquals(List.of(), survivor.errorLines(), survivor.output());
                }
            } finally {
                for (LoaderProcess process : loaders) {
                    process.close();
                }
            }
        }
    }

    @Test
    void an_unreachable_zookeeper_stops_the_loader_at_start_with_one_line_and_exit_code_1() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-t1", "table", "t1", "cron", "0/1 * * * * ?"));
        loader.pg("CREATE TABLE t1 (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)");
        Map<String, String> env = loader.environment();
        String nobody = "127.0.0.1:" + Http.freePort();
        env.put("CLUSTER_ZOOKEEPER", nobody);
        env.put("HTTP_PORT", Integer.toString(Http.freePort()));
        process = LoaderProcess.start(tmp, env);
        assertEquals(1, process.awaitExit(Duration.ofSeconds(60)), process.output());
        assertEquals(1, process.errorLines().size(), process.output());
        assertTrue(process.lines().stream().noneMatch(l -> l.contains("ConnectException")), "one line, no client noise:\n"
                + process.output());
        assertTrue(process.errorLines().get(0).contains("cannot reach ZooKeeper at " + nobody + " (CLUSTER_ZOOKEEPER)"),
                process.output());
        assertEquals(0, loader.chLong("SELECT count() FROM system.tables WHERE database = currentDatabase()"),
                "nothing written before the ensemble answered");
    }

    /** Inserts rows into every table and updates one older row of each. */
    private void writeRows(int rows) throws Exception {
        int from = rowsPerTable + 1;
        rowsPerTable += rows;
        for (int i = 1; i <= TABLES; i++) {
            loader.pg("INSERT INTO t" + i + " (id, payload) SELECT g, 'row ' || g FROM generate_series(" + from + ", "
                    + rowsPerTable + ") g", "UPDATE t" + i + " SET payload = 'changed at " + rowsPerTable
                    + "', updated_at = localtimestamp WHERE id = 1");
        }
    }

    private void awaitAllRows() throws Exception {
        LoaderProcess anyAlive = loaders.stream().filter(LoaderProcess::isAlive).findFirst().orElseThrow();
        for (int i = 1; i <= TABLES; i++) {
            loader.awaitValue("SELECT toString(count()) FROM t" + i + " FINAL", Integer.toString(rowsPerTable), anyAlive,
                    ARRIVAL_LIMIT);
            loader.awaitValue("SELECT payload FROM t" + i + " FINAL WHERE id = 1", "changed at " + rowsPerTable, anyAlive,
                    ARRIVAL_LIMIT);
        }
    }

    /**
     * Waits until the instances lead every table exactly once between them, none more than {@code most};
     * returns how many each leads. Leadership as each instance's metrics tell it ({@code pgch_table_active}).
     */
    private Map<Integer, Integer> awaitSpread(List<Integer> instances, int most) throws Exception {
        long deadline = System.nanoTime() + SETTLE_LIMIT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            Map<Integer, Integer> led = new LinkedHashMap<>();
            int[] leaders = new int[TABLES + 1];
            boolean answered = true;
            for (int instance : instances) {
                if (!loaders.get(instance).isAlive()) {
                    throw new AssertionError("loader " + instance + " exited:\n" + loaders.get(instance).output());
                }
                try {
                    String metrics = Http.get(ports.get(instance), "/observe/metrics").body();
                    int count = 0;
                    for (int t = 1; t <= TABLES; t++) {
                        Double active = Http.sample(metrics, "pgch_table_active", "route", "sync-t" + t);
                        if (active != null && active == 1.0) {
                            leaders[t]++;
                            count++;
                        }
                    }
                    led.put(instance, count);
                } catch (IOException e) {
                    answered = false; // not listening yet
                }
            }
            boolean each = IntStream.rangeClosed(1, TABLES).allMatch(t -> leaders[t] == 1);
            if (answered && each && led.values().stream().allMatch(n -> n <= most)) {
                return led;
            }
            last = led + ", leaders per table " + Arrays.toString(leaders);
            Thread.sleep(500);
        }
        StringBuilder outputs = new StringBuilder();
        for (int instance : instances) {
            outputs.append("\n---- loader ").append(instance).append('\n').append(loaders.get(instance).output());
        }
        throw new AssertionError("tables not spread (each led once, at most " + most + " per loader) within "
                + SETTLE_LIMIT.toSeconds() + " s: " + last + outputs);
    }
}
