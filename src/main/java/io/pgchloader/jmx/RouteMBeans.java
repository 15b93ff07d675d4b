package io.pgchloader.jmx;

import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loader's MBeans of one kind, one per route, on the platform MBean server: registered when Camel adds
 * the route (replacing one a previous context left), unregistered when it removes it or stops. A failure
 * is a WARN: a table syncs whether JMX shows it or not.
 */
final class RouteMBeans {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");

    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    private final Map<String, ObjectName> registered = new ConcurrentHashMap<>();

    /** Makes an MBean (a StandardMBean's constructor may refuse the interface). */
    @FunctionalInterface
    interface Factory {
        Object make() throws JMException;
    }

    /** Registers the route's MBean, made only when the route has none yet. */
    synchronized void register(String routeId, ObjectName name, Factory mbean) {
        if (registered.containsKey(routeId)) {
            return;
        }
        try {
            if (server.isRegistered(name)) {
                server.unregisterMBean(name);
            }
            server.registerMBean(mbean.make(), name);
            registered.put(routeId, name);
        } catch (JMException e) {
            LOG.warn("Cannot register the JMX MBean {}: {}", name, e.getMessage());
        }
    }

    synchronized void unregister(String routeId) {
        ObjectName name = registered.remove(routeId);
        if (name == null) {
            return;
        }
        try {
            if (server.isRegistered(name)) {
                server.unregisterMBean(name);
            }
        } catch (JMException e) {
            LOG.warn("Cannot unregister the JMX MBean {}: {}", name, e.getMessage());
        }
    }

    void unregisterAll() {
        registered.keySet().forEach(this::unregister);
    }
}
