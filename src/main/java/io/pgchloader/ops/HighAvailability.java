package io.pgchloader.ops;

import io.pgchloader.CycleRunner;
import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.camel.CamelContext;
import org.apache.camel.NamedNode;
import org.apache.camel.cluster.CamelClusterEventListener;
import org.apache.camel.cluster.CamelClusterService;
import org.apache.camel.component.file.cluster.FileLockClusterService;
import org.apache.camel.impl.cluster.ClusteredRoutePolicy;
import org.apache.camel.main.Main;
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
    private final String namespacePrefix;
    private final Path lockDir;

    private HighAvailability(CamelClusterService service, String namespacePrefix, Path lockDir) {
        this.service = service;
        this.namespacePrefix = namespacePrefix;
        this.lockDir = lockDir;
    }

    /**
     * Clusters the table routes of the not yet started camel-main; nothing when {@code CLUSTER_LOCK_DIR}
     * is empty.
     *
     * @throws ConfigurationException when the lock folder cannot be created or written
     */
    public static void install(Main main, Settings settings) {
        String dir = settings.get(Setting.CLUSTER_LOCK_DIR);
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
        main.bind("tableLeadership", new HighAvailability(service, fileName(settings.get(Setting.CLUSTER_NAMESPACE)), root));
        LOG.info("High availability: a table syncs only on the instance holding its lock in {}; the others stand by"
                + " and take over about {} s after it dies", root, HEARTBEAT_TIMEOUT_MULTIPLIER * LOCK_INTERVAL_MS / 1000 + 1);
    }

    @Override
    public RoutePolicy createRoutePolicy(CamelContext camelContext, String routeId, NamedNode node) {
        if (!(node instanceof RouteDefinition route) || !isTableRoute(route)) {
            return null;
        }
        String namespace = namespacePrefix + "-" + fileName(routeId);
        try {
            ClusteredRoutePolicy policy = ClusteredRoutePolicy.forNamespace(service, namespace);
            policy.setCamelContext(camelContext);
            service.getView(namespace).addEventListener((CamelClusterEventListener.Leadership) (view, leader) -> {
                if (leader != null && leader.isLocal()) {
                    LOG.info("{}: this instance holds the lock {} and syncs the table", routeId, lockDir.resolve(namespace));
                } else {
                    LOG.info("{}: lock {} released; standing by while another instance syncs the table", routeId,
                            lockDir.resolve(namespace));
                }
            });
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
