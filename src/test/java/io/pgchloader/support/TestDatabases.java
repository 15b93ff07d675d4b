package io.pgchloader.support;

import io.pgchloader.embedded.EmbeddedDatabases;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One real PostgreSQL and one real ClickHouse for the whole test run (started on first use, stopped
 * when the JVM ends). Each test gets databases of its own on them, so tests never see each other's rows.
 */
public final class TestDatabases {

    private static EmbeddedDatabases servers;
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private TestDatabases() {
    }

    public static synchronized EmbeddedDatabases servers() {
        if (servers == null) {
            try {
                servers = EmbeddedDatabases.start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    servers.close();
                } catch (IOException ignored) {
                    // the JVM is ending; the engine process also watches for that itself
                }
            }));
        }
        return servers;
    }

    /** A fresh, empty database name usable on both servers. */
    public static String freshDatabase(String prefix) {
        String name = prefix + "_" + ProcessHandle.current().pid() + "_" + SEQUENCE.incrementAndGet();
        try (Connection pg = servers().postgres("postgres").getConnection(); Statement s = pg.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        try (Connection ch = clickHouse("default"); Statement s = ch.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return name;
    }

    public static Connection postgres(String database) throws SQLException {
        return servers().postgres(database).getConnection();
    }

    public static Connection clickHouse(String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "default");
        p.setProperty("password", servers().clickHousePassword());
        return DriverManager.getConnection("jdbc:clickhouse://" + servers().clickHouseHost() + ":"
                + servers().clickHousePort() + "/" + database, p);
    }
}
