package io.pgchloader.jmx;

import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.rmi.NoSuchObjectException;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.UnicastRemoteObject;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import javax.management.remote.JMXAuthenticator;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXPrincipal;
import javax.management.remote.JMXServiceURL;
import javax.security.auth.Subject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Remote JMX, only when {@code JMX_PORT} is set, and only with a user and password
 * ({@code JMX_USER}, {@code JMX_PASSWORD}): an RMI registry and the RMI connector server share that one
 * port, so a firewall or a container needs to open just it. Without {@code JMX_PORT} nothing listens;
 * local tools (jconsole, VisualVM on the same machine, as the same OS user) still attach by process id.
 *
 * <p>The authenticated user may read and invoke everything (Camel's route operations need that), so
 * treat it like a shell account: JMX over RMI is not encrypted, keep the port on a trusted network or
 * behind an SSH tunnel.
 */
public final class RemoteJmx implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");

    /** Before authentication the server accepts credentials of these types only (no other deserialization). */
    private static final String[] CREDENTIAL_TYPES = {String[].class.getName(), String.class.getName()};

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
        if (user.isEmpty() || password.isEmpty()) {
            // Settings refuses this already; never open an unauthenticated port, whoever calls
            throw new ConfigurationException("JMX_PORT is set but JMX_USER or JMX_PASSWORD is not: remote JMX needs both.");
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
        } catch (java.rmi.RemoteException e) {
            throw new ConfigurationException("JMX_PORT " + port + " cannot be opened (" + rootMessage(e)
                    + "): choose a free port or unset JMX_PORT.");
        }
        try {
            JMXServiceURL url = new JMXServiceURL("service:jmx:rmi://" + advertised + ":" + port
                    + "/jndi/rmi://" + advertised + ":" + port + "/jmxrmi");
            Map<String, Object> environment = new HashMap<>();
            environment.put(JMXConnectorServer.AUTHENTICATOR, new PasswordAuthenticator(user, password));
            environment.put("jmx.remote.rmi.server.credential.types", CREDENTIAL_TYPES);
            JMXConnectorServer server = JMXConnectorServerFactory.newJMXConnectorServer(url, environment,
                    ManagementFactory.getPlatformMBeanServer());
            server.start();
            JMXServiceURL address = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + advertised + ":" + port + "/jmxrmi");
            LOG.info("Remote JMX on port {} for user {}: {}", port, user, address);
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

    /** One user with one password, compared in constant time; the user gets a JMXPrincipal. */
    static final class PasswordAuthenticator implements JMXAuthenticator {

        private final byte[] user;
        private final byte[] password;

        PasswordAuthenticator(String user, String password) {
            this.user = user.getBytes(StandardCharsets.UTF_8);
            this.password = password.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public Subject authenticate(Object credentials) {
            if (!(credentials instanceof String[] pair) || pair.length != 2 || pair[0] == null || pair[1] == null) {
                LOG.warn("Refused a remote JMX connection without a user and password");
                throw new SecurityException("Authentication required: connect with a user and password (JMX_USER, JMX_PASSWORD)");
            }
            boolean userMatches = MessageDigest.isEqual(user, pair[0].getBytes(StandardCharsets.UTF_8));
            boolean passwordMatches = MessageDigest.isEqual(password, pair[1].getBytes(StandardCharsets.UTF_8));
            if (!(userMatches && passwordMatches)) {
                // neither the attempted user nor the password: both may be a mistyped secret
                LOG.warn("Refused a remote JMX connection: wrong user or password");
                throw new SecurityException("Authentication failed: wrong user or password");
            }
            return new Subject(true, Set.of(new JMXPrincipal(pair[0])), Set.of(), Set.of());
        }
    }
}
