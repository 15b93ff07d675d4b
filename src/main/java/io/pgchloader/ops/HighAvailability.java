package io.pgchloader.ops;

import io.pgchloader.CycleRunner;
import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.apache.camel.CamelContext;
import org.apache.camel.NamedNode;
import org.apache.camel.cluster.CamelClusterEventListener;
import org.apache.camel.cluster.CamelClusterService;
import org.apache.camel.cluster.CamelClusterView;
import org.apache.camel.component.file.cluster.FileLockClusterService;
import org.apache.camel.impl.cluster.ClusteredRoutePolicy;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.spi.RoutePolicy;
import org.apache.camel.spi.RoutePolicyFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * High availability: several instances against the same databases, each table synced by exactly one
 * of them at a time. Every table route gets Camel's {@link ClusteredRoutePolicy} with a namespace of
 * its own ({@code CLUSTER_NAMESPACE-routeId}): the route runs only on the instance that leads that
 * namespace and is started on another one when the leader goes away. Leadership comes from Camel's
 * {@link FileLockClusterService}: an OS file lock in {@code CLUSTER_LOCK_DIR} (so: instances on one
 * host, or a file system whose locks really are shared) plus a heartbeat the leader writes next to it.
 *
 * <p>Takeover after a leader dies: the kernel drops its lock at once, but followers only try the lock
 * once the heartbeat is older than {@link #HEARTBEAT_TIMEOUT_MULTIPLIER} x {@link #LOCK_INTERVAL_MS}
 * (3 s), checking every {@link #LOCK_INTERVAL_MS} (1 s): about 3 to 4 s, then the route starts and
 * syncs at its next cron fire. A leader that stops cleanly (SIGTERM) clears its heartbeat, so the
 * takeover takes about 1.5 s. All instances must use the same timings; they are constants here.
 *
 * <p>Only the table routes are clustered; the shared {@code copy-stream} route runs everywhere, so a
 * table always finds it on the instance that syncs it.
 */
public final class HighAvailability implements RoutePolicyFactory {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.cluster");

    /** How often each instance looks at the lock (and the leader renews its heartbeat). */
    static final long LOCK_INTERVAL_MS = 1000;
    /** Heartbeats a leader may miss before followers try its lock. */
    static final int HEARTBEAT_TIMEOUT_MULTIPLIER = 3;

    private final CamelClusterService service;
    /** The lock of a namespace, as the log lines name it. */
    private final UnaryOperator<String> lockOf;
    /** The namespace of a table route's lock. */
    private final UnaryOperator<String> namespaceOf;
    /** Spreads the tables over the instances; null where the service cannot hand a table over. */
    private final TableBalancer balancer;

    private HighAvailability(CamelClusterService service, UnaryOperator<String> lockOf, UnaryOperator<String> namespaceOf,
            TableBalancer balancer) {
        this.service = service;
        this.lockOf = lockOf;
        this.namespaceOf = namespaceOf;
        this.balancer = balancer;
    }

    /**
     * Loaders on many hosts: leadership from a ZooKeeper ensemble, connected here so that an unreachable
     * one stops the loader at start (exit 1) instead of leaving every table without a leader.
     */
    private static void installZooKeeper(Main main, Settings settings, String connectString) {
        String namespace = fileName(settings.get(Setting.CLUSTER_NAMESPACE));
        ZooKeeperLeadership service = new ZooKeeperLeadership(connectString, namespace);
        service.connect();
        TableBalancer balancer = new TableBalancer();
        main.bind("clusterService", service);
        main.bind("tableLeadership", new HighAvailability(service, n -> "the lock " + service.pathOf(n) + " in ZooKeeper",
                HighAvailability::fileName, balancer));
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterStart(BaseMainSupport camelMain) {
                balancer.start(camelMain.getCamelContext());
            }

            @Override
            public void beforeStop(BaseMainSupport camelMain) {
                balancer.stop();
            }
        });
        LOG.info("High availability: tables are led through ZooKeeper at {} (instance {}), spread evenly over the loaders"
                + " that share it; a table moves to another loader about {} s after its leader dies",
                connectString, service.memberId(), ZooKeeperLeadership.SESSION_TIMEOUT_MS / 1000);
    }

    /**
     * Clusters the table routes of the not yet started camel-main; nothing when {@code CLUSTER_LOCK_DIR}
     * is empty.
     *
     * @throws ConfigurationException when the lock folder cannot be created or written
     */
    public static void install(Main main, Settings settings) {
        String dir = settings.get(Setting.CLUSTER_LOCK_DIR);
        String zooKeeper = settings.get(Setting.CLUSTER_ZOOKEEPER);
        if (!zooKeeper.isBlank()) {
            installZooKeeper(main, settings, zooKeeper);
            return;
        }
        if (dir.isBlank()) {
            return;
        }
        Path root = Path.of(dir).toAbsolutePath().normalize();
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new ConfigurationException("CLUSTER_LOCK_DIR " + dir + " cannot be created (" + e
                    + "): point it at a folder every instance on this host can write.");
        }
        if (!Files.isWritable(root)) {
            throw new ConfigurationException("CLUSTER_LOCK_DIR " + dir
                    + " is not writable: point it at a folder every instance on this host can write.");
        }
        FileLockClusterService service = new FileLockClusterService();
        service.setId("pg-ch-loader-file-lock");
        service.setRoot(root.toString());
        service.setAcquireLockDelay(LOCK_INTERVAL_MS, TimeUnit.MILLISECONDS);
        service.setAcquireLockInterval(LOCK_INTERVAL_MS, TimeUnit.MILLISECONDS);
        service.setHeartbeatTimeoutMultiplier(HEARTBEAT_TIMEOUT_MULTIPLIER);
        // camel-main adds cluster services and route policy factories found in the registry to the context
        main.bind("clusterService", service);
        String prefix = fileName(settings.get(Setting.CLUSTER_NAMESPACE));
        main.bind("tableLeadership", new HighAvailability(service, namespace -> "the lock " + root.resolve(namespace),
                routeId -> prefix + "-" + routeId, null));
        LOG.info("High availability: a table syncs only on the instance holding its lock in {}; the others stand by"
                + " and take over about {} s after it dies", root, HEARTBEAT_TIMEOUT_MULTIPLIER * LOCK_INTERVAL_MS / 1000 + 1);
    }

    @Override
    public RoutePolicy createRoutePolicy(CamelContext camelContext, String routeId, NamedNode node) {
        if (!(node instanceof RouteDefinition route) || !isTableRoute(route)) {
            return null;
        }
        String namespace = namespaceOf.apply(fileName(routeId));
        try {
            ClusteredRoutePolicy policy = ClusteredRoutePolicy.forNamespace(service, namespace);
            policy.setCamelContext(camelContext);
            CamelClusterView view = service.getView(namespace);
            boolean[] leads = {false};
            view.addEventListener((CamelClusterEventListener.Leadership) (v, leader) -> {
                // the policy decides by the local member; so do these lines (and only on a change)
                boolean now = v.getLocalMember().isLeader();
                synchronized (leads) {
                    if (now == leads[0]) {
                        return;
                    }
                    leads[0] = now;
                }
                if (now) {
                    LOG.info("{}: this instance holds {} and syncs the table", routeId, lockOf.apply(namespace));
                } else {
                    LOG.info("{}: {} released; standing by while another instance syncs the table", routeId,
                            lockOf.apply(namespace));
                }
            });
            if (balancer != null && view instanceof ZooKeeperLeadership.TableLatch latch) {
                balancer.add(routeId, latch);
            }
            return policy;
        } catch (Exception e) {
            throw new IllegalStateException("cannot set up high availability for route " + routeId + ": " + e.getMessage(), e);
        }
    }

    /** The routes made from the pg-to-clickhouse template (the shared copy-stream route is not one). */
    private static boolean isTableRoute(RouteDefinition route) {
        if (route.getTemplateParameters() == null || route.getInput() == null) {
            return false;
        }
        if ("false".equals(String.valueOf(route.getTemplateParameters().get("enabled")))) {
            // a disabled table is never started, also not by winning its lock
            return false;
        }
        String uri = route.getInput().getEndpointUri();
        return uri != null && uri.replaceFirst("^quartz:(//)?", "quartz:").startsWith("quartz:" + CycleRunner.TEMPLATE_ID + "/");
    }

    /** A name that is safe as a file name on every system. */
    private static String fileName(String name) {
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
