package io.pgchloader.support;

import io.pgchloader.embedded.EmbeddedClickHouse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;

/**
 * A ClickHouse cluster of two shards on this machine, for the whole test run: two embedded engines
 * listening on 127.0.0.1 and 127.0.0.2 with the same HTTP port, as real shards have, and native TCP
 * ports of their own (with one port, each would take the other's shard for itself).
 */
public final class TwoShards {

    public static final String CLUSTER = "two_shards";
    public static final List<String> HOSTS = List.of("127.0.0.1", "127.0.0.2");
    private static final int ATTEMPTS = 3;

    private static List<EmbeddedClickHouse> shards;
    private static int httpPort;

    private TwoShards() {
    }

    /** Starts the two shards on first use; they stop when the JVM ends. */
    public static synchronized int httpPort() {
        if (shards == null) {
            IOException last = null;
            for (int attempt = 1; attempt <= ATTEMPTS && shards == null; attempt++) {
                try {
                    start();
                } catch (IOException e) {
                    // a port found free was taken before the engine bound it
                    last = e;
                }
            }
            if (shards == null) {
                throw new UncheckedIOException(last);
            }
        }
        return httpPort;
    }

    private static void start() throws IOException {
        int http = freePortOnBoth();
        int tcp1 = freePort(HOSTS.get(0));
        int tcp2 = freePort(HOSTS.get(1));
        Path config = Files.createTempFile("pgch-two-shards-", ".xml");
        config.toFile().deleteOnExit();
        Files.writeString(config, "<clickhouse>\n  <remote_servers>\n    <" + CLUSTER + ">\n"
                + "      <shard><replica><host>" + HOSTS.get(0) + "</host><port>" + tcp1 + "</port></replica></shard>\n"
                + "      <shard><replica><host>" + HOSTS.get(1) + "</host><port>" + tcp2 + "</port></replica></shard>\n"
                + "    </" + CLUSTER + ">\n  </remote_servers>\n</clickhouse>\n");
        EmbeddedClickHouse first = EmbeddedClickHouse.startShard(HOSTS.get(0), http, tcp1, config);
        EmbeddedClickHouse second;
        try {
            second = EmbeddedClickHouse.startShard(HOSTS.get(1), http, tcp2, config);
        } catch (IOException | RuntimeException e) {
            first.close();
            throw e;
        }
        shards = List.of(first, second);
        httpPort = http;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> shards.forEach(EmbeddedClickHouse::close)));
    }

    private static int freePortOnBoth() throws IOException {
        for (int i = 0; i < 20; i++) {
            int port = freePort(HOSTS.get(0));
            try (ServerSocket other = new ServerSocket(port, 1, InetAddress.getByName(HOSTS.get(1)))) {
                return port;
            } catch (IOException taken) {
                // taken on the second address: another one
            }
        }
        throw new IOException("no port free on both " + HOSTS);
    }

    private static int freePort(String host) throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            return socket.getLocalPort();
        }
    }

    /** A connection to one shard's own server. */
    public static Connection connect(String host, String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "default");
        p.setProperty("password", "");
        return DriverManager.getConnection("jdbc:clickhouse://" + host + ":" + httpPort() + "/" + database, p);
    }

    /** The database on every shard (each shard has its own catalog). */
    public static void createDatabase(String database) throws SQLException {
        for (String host : HOSTS) {
            try (Connection c = connect(host, "default"); Statement s = c.createStatement()) {
                s.execute("CREATE DATABASE IF NOT EXISTS " + database);
            }
        }
    }
}
