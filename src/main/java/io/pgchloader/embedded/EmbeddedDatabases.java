package io.pgchloader.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.sql.DataSource;

/**
 * A real PostgreSQL 17 and a real ClickHouse 26.7, both embedded, for the demo and the tests.
 *
 * <p>{@code PGCH_TEST_CLICKHOUSE=host:port} points at an existing ClickHouse (for example docker
 * compose's) instead of starting one, as user {@code default} with the password in
 * {@code PGCH_TEST_CLICKHOUSE_PASSWORD} (empty when unset).
 */
public final class EmbeddedDatabases implements AutoCloseable {

    public static final String EXISTING_CLICKHOUSE = "PGCH_TEST_CLICKHOUSE";
    public static final String EXISTING_CLICKHOUSE_PASSWORD = "PGCH_TEST_CLICKHOUSE_PASSWORD";

    private final EmbeddedPostgres postgres;
    private final EmbeddedClickHouse clickHouse;
    private final String clickHouseHost;
    private final int clickHousePort;

    private EmbeddedDatabases(EmbeddedPostgres postgres, EmbeddedClickHouse clickHouse, String host, int port) {
        this.postgres = postgres;
        this.clickHouse = clickHouse;
        this.clickHouseHost = host;
        this.clickHousePort = port;
    }

    public static EmbeddedDatabases start() throws IOException {
        return start(false);
    }

    /**
     * With {@code logicalDecoding}, PostgreSQL runs with {@code wal_level=logical} and room for a few
     * replication slots, which CDC tables need; every write then costs somewhat more WAL, so only the
     * demo and the CDC benchmark ask for it.
     */
    public static EmbeddedDatabases start(boolean logicalDecoding) throws IOException {
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder().setServerConfig("max_connections", "200");
        if (logicalDecoding) {
            builder.setServerConfig("wal_level", "logical")
                    .setServerConfig("max_replication_slots", "10")
                    .setServerConfig("max_wal_senders", "10");
        }
        EmbeddedPostgres postgres = builder.start();
        String existing = System.getenv(EXISTING_CLICKHOUSE);
        try {
            if (existing != null && !existing.isBlank()) {
                String[] hostPort = existing.strip().split(":");
                return new EmbeddedDatabases(postgres, null, hostPort[0], Integer.parseInt(hostPort[1]));
            }
            EmbeddedClickHouse clickHouse = EmbeddedClickHouse.start();
            return new EmbeddedDatabases(postgres, clickHouse, clickHouse.host(), clickHouse.httpPort());
        } catch (IOException | RuntimeException e) {
            postgres.close();
            throw e;
        }
    }

    /** A superuser data source on the given database of the embedded PostgreSQL. */
    public DataSource postgres(String database) {
        return postgres.getDatabase("postgres", database);
    }

    public int postgresPort() {
        return postgres.getPort();
    }

    public String clickHouseHost() {
        return clickHouseHost;
    }

    public int clickHousePort() {
        return clickHousePort;
    }

    public String clickHousePassword() {
        String password = clickHouse == null ? System.getenv(EXISTING_CLICKHOUSE_PASSWORD) : null;
        return password == null ? "" : password;
    }

    /** The loader's settings for a PostgreSQL database and a ClickHouse database on these servers. */
    public Map<String, String> settings(String postgresDatabase, String clickHouseDatabase) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("POSTGRES_HOST", "127.0.0.1");
        settings.put("POSTGRES_PORT", Integer.toString(postgres.getPort()));
        settings.put("POSTGRES_USER", "postgres");
        settings.put("POSTGRES_PASSWORD", "");
        settings.put("POSTGRES_DB", postgresDatabase);
        settings.put("CLICKHOUSE_HOST", clickHouseHost);
        settings.put("CLICKHOUSE_PORT", Integer.toString(clickHousePort));
        settings.put("CLICKHOUSE_USER", "default");
        settings.put("CLICKHOUSE_PASSWORD", clickHousePassword());
        settings.put("CLICKHOUSE_DB", clickHouseDatabase);
        // writers on the embedded server are JDBC sessions of this JVM, which use its zone
        settings.put("POSTGRES_TIMEZONE", ZoneId.systemDefault().getId());
        return settings;
    }

    @Override
    public void close() throws IOException {
        if (clickHouse != null) {
            clickHouse.close();
        }
        postgres.close();
    }
}
