package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.ListeningPorts;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.rmi.ssl.SslRMIClientSocketFactory;
import org.junit.jupiter.api.Test;

/**
 * Where the remote JMX port listens and what travels over it: JMX_BIND_HOST keeps it to one address,
 * JMX_TLS puts registry and connector behind TLS with a keystore of the operator's (here a self-signed
 * one made by keytool), and a keystore that cannot be used stops the loader at start.
 */
class RemoteJmxTransportTest extends LoaderTestBase {

    static final String USER = "operator";
    static final String PASSWORD = "jmx-pa55word-for-tls";
    static final String KEYSTORE_PASSWORD = "keystore-pa55word";
    static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void jmx_tls_and_bind_host_serve_only_tls_clients_on_the_address_they_name() throws Exception {
        Path keystore = selfSignedKeystore(tmp.resolve("jmx.p12"));
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", HealthAndMetricsTest.TEST_DRIVEN_CRON));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)");
        int port = ListeningPorts.free();
        Map<String, String> env = jmxEnvironment(port);
        env.put("JMX_TLS", "true");
        env.put("JMX_KEYSTORE", keystore.toString());
        env.put("JMX_KEYSTORE_PASSWORD", KEYSTORE_PASSWORD);
        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), env);
        process.awaitOutput("Remote JMX on port " + port, WAIT);
        assertTrue(process.output().contains("(listening on 127.0.0.1, TLS)"), process.output());

        // another loopback address of this very machine: nothing listens there
        assertThrows(ConnectException.class, () -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.2", port), 2000);
            }
        });
        // a client that does not speak TLS gets nowhere, not even to the registry
        assertThrows(IOException.class, () -> JmxTest.connect(port, USER, PASSWORD).close());

        SSLContext defaultContext = SSLContext.getDefault();
        try {
            // the stub the registry hands out carries SslRMIClientSocketFactory, which uses the default context
            SSLContext.setDefault(trusting(keystore));
            JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + port + "/jmxrmi");
            try (JMXConnector connector = JMXConnectorFactory.connect(url, Map.of(JMXConnector.CREDENTIALS,
                    new String[] {USER, PASSWORD}, "com.sun.jndi.rmi.factory.socket", new SslRMIClientSocketFactory()))) {
                MBeanServerConnection jmx = connector.getMBeanServerConnection();
                ObjectName route = new ObjectName("org.apache.camel:context=pg-ch-loader,type=routes,name=\"sync-events\"");
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (!jmx.isRegistered(route) && System.nanoTime() < deadline) {
                    Thread.sleep(200);
                }
                assertEquals("Started", jmx.getAttribute(route, "State"));
            }
        } finally {
            SSLContext.setDefault(defaultContext);
        }
        assertFalse(process.output().contains(KEYSTORE_PASSWORD) || process.output().contains(PASSWORD), process.output());
    }

    @Test
    void a_keystore_that_cannot_be_opened_stops_the_loader_at_start_naming_jmx_keystore() throws Exception {
        Path keystore = selfSignedKeystore(tmp.resolve("jmx.p12"));
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events"));
        Map<String, String> env = jmxEnvironment(ListeningPorts.free());
        env.put("JMX_TLS", "true");
        env.put("JMX_KEYSTORE", keystore.toString());
        env.put("JMX_KEYSTORE_PASSWORD", "not-the-" + KEYSTORE_PASSWORD);
        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), env);

        assertEquals(2, process.awaitExit(WAIT), process.output());
        List<String> errors = process.errorLines();
        assertEquals(1, errors.size(), process.output());
        assertTrue(errors.get(0).contains("JMX_TLS is true, but JMX_KEYSTORE " + keystore + " cannot be used with"
                + " JMX_KEYSTORE_PASSWORD"), errors.get(0));
        assertFalse(process.output().contains(KEYSTORE_PASSWORD), process.output());
    }

    private Map<String, String> jmxEnvironment(int port) {
        Map<String, String> env = loader.environment();
        env.put("JMX_PORT", Integer.toString(port));
        env.put("JMX_USER", USER);
        env.put("JMX_PASSWORD", PASSWORD);
        env.put("JMX_HOST", "127.0.0.1");
        env.put("JMX_BIND_HOST", "127.0.0.1");
        return env;
    }

    /** A PKCS12 keystore with a fresh EC key and a self-signed certificate for 127.0.0.1, as keytool makes it. */
    static Path selfSignedKeystore(Path file) throws Exception {
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "jmx", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", file.toString(), "-storepass", KEYSTORE_PASSWORD, "-keypass", KEYSTORE_PASSWORD)
                .redirectErrorStream(true).start();
        String output = new String(keytool.getInputStream().readAllBytes());
        assertTrue(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0, "keytool: " + output);
        return file;
    }

    private static SSLContext trusting(Path keystore) throws Exception {
        KeyStore trusted = KeyStore.getInstance(keystore.toFile(), KEYSTORE_PASSWORD.toCharArray());
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }
}
