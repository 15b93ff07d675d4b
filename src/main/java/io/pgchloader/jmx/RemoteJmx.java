package io.pgchloader.jmx;

import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.rmi.AlreadyBoundException;
import java.rmi.NoSuchObjectException;
import java.rmi.RemoteException;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIClientSocketFactory;
import java.rmi.server.RMIServerSocketFactory;
import java.rmi.server.UnicastRemoteObject;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.HashMap;
import java.util.Map;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnectorServer;
import javax.management.remote.rmi.RMIJRMPServerImpl;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.rmi.ssl.SslRMIClientSocketFactory;
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
 * allow-list, enforced on every call by {@link RoleBasedMBeanServerForwarder} in the connector.
 *
 * <p>The port listens on {@code JMX_BIND_HOST} only. JMX over RMI is plain text unless {@code JMX_TLS} is
 * true: then registry and connector speak TLS with the key in {@code JMX_KEYSTORE}, as the JDK's own
 * {@code com.sun.management.jmxremote.ssl} and {@code registry.ssl} do, so neither the login nor a stub
 * handed out by the registry can be read or replaced on the way.
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
        boolean tls = settings.get(Setting.JMX_TLS).equals("true");
        // one factory for registry and connector: RMI shares a port only between equal factories
        BoundServerSockets sockets = new BoundServerSockets(bindAddress(settings), tls ? tlsContext(settings) : null);
        RMIClientSocketFactory clientSockets = tls ? new SslRMIClientSocketFactory() : null;
        Registry registry;
        try {
            registry = LocateRegistry.createRegistry(port, clientSockets, sockets);
        } catch (RemoteException e) {
            throw new ConfigurationException("JMX_PORT " + port + " on JMX_BIND_HOST " + settings.get(Setting.JMX_BIND_HOST)
                    + " cannot be opened (" + rootMessage(e) + "): choose a free port or unset JMX_PORT.");
        }
        try {
            Map<String, Object> environment = new HashMap<>();
            environment.put(JMXConnectorServer.AUTHENTICATOR, logins);
            environment.put("jmx.remote.rmi.server.credential.types", CREDENTIAL_TYPES);
            environment.put(RMIConnectorServer.SERIAL_FILTER_PATTERN, SERIAL_FILTER);
            // the connector object on the registry's port, bound straight into the registry object: no JNDI
            // round trip through an address that may be reachable only from outside (JMX_HOST behind NAT)
            RMIJRMPServerImpl connector = new RMIJRMPServerImpl(port, clientSockets, sockets, environment);
            RMIConnectorServer server = new RMIConnectorServer(new JMXServiceURL("rmi", advertised, port), environment,
                    connector, ManagementFactory.getPlatformMBeanServer());
            // set before start: no call is ever served without the policy
            server.setMBeanServerForwarder(new RoleBasedMBeanServerForwarder(settings::mask));
            server.start();
            registry.bind("jmxrmi", connector.toStub());
            JMXServiceURL address = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + advertised + ":" + port + "/jmxrmi");
            String how = "listening on " + settings.get(Setting.JMX_BIND_HOST) + (tls ? ", TLS" : ", plain text");
            if (readOnlyUser.isEmpty()) {
                LOG.info("Remote JMX on port {} for operator {}: {} ({})", port, user, address, how);
            } else {
                LOG.info("Remote JMX on port {} for operator {} and read-only user {}: {} ({})", port, user, readOnlyUser,
                        address, how);
            }
            return new RemoteJmx(registry, server, address);
        } catch (IOException | AlreadyBoundException | RuntimeException e) {
            unexport(registry);
            throw new ConfigurationException("remote JMX on JMX_PORT " + port + " cannot start: " + rootMessage(e));
        }
    }

    private static InetAddress bindAddress(Settings settings) {
        String bindHost = settings.get(Setting.JMX_BIND_HOST);
        try {
            return InetAddress.getByName(bindHost);
        } catch (UnknownHostException e) {
            throw new ConfigurationException("JMX_BIND_HOST " + bindHost + " is no address of this machine (" + e.getMessage()
                    + "): use 0.0.0.0 for every interface, 127.0.0.1 for this machine only, or one of its addresses.");
        }
    }

    /** The server side of TLS from JMX_KEYSTORE; a keystore that cannot be used stops the loader at start. */
    private static SSLContext tlsContext(Settings settings) {
        Path file = Path.of(settings.get(Setting.JMX_KEYSTORE));
        char[] password = settings.get(Setting.JMX_KEYSTORE_PASSWORD).toCharArray();
        try {
            // PKCS12 and JKS alike: the type is read from the file
            KeyStore keyStore = KeyStore.getInstance(file.toFile(), password);
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(keyStore, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
            // never the password, only what is wrong with the file
            throw new ConfigurationException("JMX_TLS is true, but JMX_KEYSTORE " + file + " cannot be used with"
                    + " JMX_KEYSTORE_PASSWORD (" + settings.mask(rootMessage(e)) + "): give a PKCS12 or JKS keystore that holds"
                    + " the loader's private key and certificate, and its password.");
        }
    }

    /**
     * Server sockets on one address (JMX_BIND_HOST), plain or TLS. A record, so that the registry's and the
     * connector's factories are equal and RMI lets them share the port.
     */
    private record BoundServerSockets(InetAddress address, SSLContext tls) implements RMIServerSocketFactory {

        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return tls == null ? new ServerSocket(port, 0, address)
                    : tls.getServerSocketFactory().createServerSocket(port, 0, address);
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
