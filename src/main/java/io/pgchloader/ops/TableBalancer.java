package io.pgchloader.ops;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spreads the tables over the loaders that share a ZooKeeper: an election alone gives every table to
 * whichever instance started first. Every few seconds each instance counts the instances taking part
 * and, when it leads more than its fair share ({@code ceil(tables / instances)}), hands the excess over:
 * it leaves those elections and joins them again at their end, so the next instance in line leads. An
 * instance at or below its share never hands over, so the tables settle within a few rounds; a table
 * passed to an instance that is itself above its share moves on down the line.
 *
 * <p>Only tables between cycles are handed over: a cycle is never cut short to balance (it would be
 * harmless, as after a crash, but it wastes the work). All instances must load the same table routes,
 * or their shares disagree.
 */
final class TableBalancer {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.cluster");

    /** How often an instance compares what it leads with its share. */
    static final long INTERVAL_MS = 2_000;

    private final Map<String, ZooKeeperLeadership.TableLatch> tables = new ConcurrentSkipListMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "table-balancer");
        thread.setDaemon(true);
        return thread;
    });
    private volatile CamelContext context;

    void add(String routeId, ZooKeeperLeadership.TableLatch latch) {
        tables.put(routeId, latch);
    }

    void start(CamelContext camelContext) {
        this.context = camelContext;
        timer.scheduleWithFixedDelay(this::balanceQuietly, INTERVAL_MS, INTERVAL_MS, TimeUnit.MILLISECONDS);
    }

    void stop() {
        timer.shutdownNow();
    }

    /** The fair share of each of {@code instances} when {@code tables} are spread over them. */
    static int share(int tables, int instances) {
        return instances == 0 ? tables : (tables + instances - 1) / instances;
    }

    private void balanceQuietly() {
        try {
            balance();
        } catch (Exception e) {
            // the next round tries again; a table that could not be handed over stays led here
            LOG.warn("Balancing the tables failed: {}", e.toString());
        }
    }

    private void balance() throws Exception {
        Set<String> instances = new HashSet<>();
        List<String> led = tables.entrySet().stream().filter(e -> e.getValue().isLeader()).map(Map.Entry::getKey).toList();
        for (ZooKeeperLeadership.TableLatch latch : tables.values()) {
            Collection<String> participants = latch.participantIds();
            instances.addAll(participants);
        }
        int share = share(tables.size(), instances.size());
        int excess = led.size() - share;
        if (excess <= 0) {
            return;
        }
        CamelContext camel = context;
        // the last in route order first: the same choice every round, and an instance keeps the tables it had longest
        for (int i = led.size() - 1; i >= 0 && excess > 0; i--) {
            String routeId = led.get(i);
            if (camel != null && camel.getInflightRepository().size(routeId) > 0) {
                continue; // mid-cycle: maybe the next round
            }
            LOG.info("{}: handed over to another instance to spread the tables: this one led {} of {} tables, {} instances"
                    + " take part, a fair share is {}", routeId, led.size(), tables.size(), instances.size(), share);
            tables.get(routeId).handOver();
            excess--;
        }
    }
}
