package io.pgchloader.jmx;

import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.rmi.NoSuchObjectException;
import java.rmi.RemoteException;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.UnicastRemoteObject;
import java.util.HashMap;
import java.util.Map;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnectorServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Remote JMX, only when {@code JMX_PORT} is set, and only with a login: an RMI registry and the RMI
 * connector server share that one port, so a firewall or a container needs to open just it. Without
 * {@code JMX_PORT} nothing listens; local tools (jconsole, VisualVM on the same machine, as the same OS
 * user) still attach by process id, with every right.
 *
 * <p>Two logins: the operator ({@code JMX_USER}, {@code JMX_PASSWORD}) and, optionally, a read-only user
 * ({@code JMX_READONLY_USER}, {@code JMX_READONLY_PASSWORD}). What each may do is {@link JmxAccessPolicy}'s
 * allow-list, enforced on every call by {@link RoleBasedMBeanServerForwarder} in the connector. JMX over
 * RMI is not encrypted: keep the port on a trusted network or behind an SSH tunnel.
 */
public final class RemoteJmx implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");

    /** Before authentication the server accepts credentials of these types only (no other deserialization). */
    private static final String[] CREDENTIAL_TYPES = {String[].class.getName(), String.class.getName()};

    /**
     * After authentication, the classes a client may send: what ObjectNames, queries, notification filters,
     * attributes and open-type values are made of (and the Subject[] of null delegation subjects that
     * addNotificationListener sends). Everything else (a gadget chain's classes, java.net.URL's DNS probe)
     * is rejected while the call is read, before any policy could look at it.
     */
    private static final String SERIAL_FILTER = "maxdepth=20;maxarray=100000;java.lang.*;java.math.*;java.util.*;"
            + "java.rmi.MarshalledObject;javax.management.*;javax.management.openmbean.*;javax.security.auth.Subject;!*";

    private final Registry registry;
    private final JMXConnectorServer server;
    private final JMXServiceURL address;

    private RemoteJmx(Registry registry, JMXConnectorServer server, JMXServiceURL address) {
        this.registry = registry;
        this.server = server;
        this.address = address;
    }

    /** Starts the connector server when {@code JMX_PORT} is set; null otherwise. */
    public static RemoteJmx startIfConfigured(Settings settings) {
        String portText = settings.get(Setting.JMX_PORT);
        if (portText == null || portText.isEmpty()) {
            return null;
        }
        int port = Integer.parseInt(portText);
        String user = settings.get(Setting.JMX_USER);
        String password = settings.get(Setting.JMX_PASSWORD);
        if (user.isEmpty() || password.isBlank()) {
            // Settings refuses this already; never open an unauthenticated port, whoever calls
            throw new ConfigurationException("JMX_PORT is set but JMX_USER or JMX_PASSWORD is not: remote JMX needs both.");
        }
        JmxLogins logins = new JmxLogins().add(user, password, JmxRole.OPERATOR);
        String readOnlyUser = settings.get(Setting.JMX_READONLY_USER);
        if (!readOnlyUser.isEmpty()) {
            logins.add(readOnlyUser, settings.get(Setting.JMX_READONLY_PASSWORD), JmxRole.READ_ONLY);
        }
        String host = settings.get(Setting.JMX_HOST);
        if (!host.isEmpty()) {
            // RMI hands clients the address to call back on; the default (this machine's own address)
            // is wrong behind NAT and in containers
            System.setProperty("java.rmi.server.hostname", host);
        }
        String advertised = host.isEmpty() ? "localhost" : host;
        Registry registry;
        try {
            registry = LocateRegistry.createRegistry(port);
        } catch (RemoteException e) {
            throw new ConfigurationException("JMX_PORT " + port + " cannot be opened (" + rootMessage(e)
                    + "): choose a free port or unset JMX_PORT.");
        }
        try {
            JMXServiceURL url = new JMXServiceURL("service:jmx:rmi://" + advertised + ":" + port
                    + "/jndi/rmi://" + advertised + ":" + port + "/jmxrmi");
            Map<String, Object> environment = new HashMap<>();
            environment.put(JMXConnectorServer.AUTHENTICATOR, logins);
            environment.put("jmx.remote.rmi.server.credential.types", CREDENTIAL_TYPES);
            environment.put(RMIConnectorServer.SERIAL_FILTER_PATTERN, SERIAL_FILTER);
            JMXConnectorServer server = JMXConnectorServerFactory.newJMXConnectorServer(url, environment,
                    ManagementFactory.getPlatformMBeanServer());
            // set before start: no call is ever served without the policy
            server.setMBeanServerForwarder(new RoleBasedMBeanServerForwarder(settings::mask));
            server.start();
            JMXServiceURL address = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + advertised + ":" + port + "/jmxrmi");
            if (readOnlyUser.isEmpty()) {
                LOG.info("Remote JMX on port {} for operator {}: {}", port, user, address);
            } else {
                LOG.info("Remote JMX on port {} for operator {} and read-only user {}: {}", port, user, readOnlyUser, address);
            }
            return new RemoteJmx(registry, server, address);
        } catch (IOException | RuntimeException e) {
            unexport(registry);
            throw new ConfigurationException("remote JMX on JMX_PORT " + port + " cannot start: " + rootMessage(e));
        }
    }

    /** The address clients connect to. */
    public JMXServiceURL address() {
        return address;
    }

    @Override
    public void close() {
        try {
            server.stop();
        } catch (IOException e) {
            LOG.warn("Stopping remote JMX: {}", e.getMessage());
        }
        unexport(registry);
    }

    private static void unexport(Registry registry) {
        try {
            UnicastRemoteObject.unexportObject(registry, true);
        } catch (NoSuchObjectException e) {
            // already gone
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }
}
