package io.pgchloader;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.pgchloader.clickhouse.ClickHouseSink;
import io.pgchloader.clickhouse.RowBinary;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import io.pgchloader.postgres.WriteHorizon;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.postgresql.PGProperty;

/** Connection pools for both databases. Credentials go in as properties, never into a URL or a log line. */
final class DataSources {

    /**
     * How long a cycle waits for a connection. Each table holds at most one connection per database at a
     * time and the pools have room for every Quartz thread, so a longer wait only ever means the database
     * is unreachable or refuses the login: better to fail the cycle soon with that reason.
     */
    private static final long CONNECTION_TIMEOUT_MS = 5_000;

    /**
     * Connections per pool, one more for each key range a parallel backfill copies beyond its first (see
     * LoaderApplication): up to 10 tables cycle at once (the Quartz threads), each with one query at a time.
     */
    static final int POOL_SIZE = 10;

    private DataSources() {
    }

    /**
     * PostgreSQL with autocommit off: only then does the driver read through a server-side cursor
     * ({@code fetchSize}) instead of loading the whole result into memory.
     */
    static HikariDataSource postgres(Settings s, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("postgres");
        config.setJdbcUrl("jdbc:postgresql://" + s.get(Setting.POSTGRES_HOST) + ":" + s.get(Setting.POSTGRES_PORT)
                + "/" + s.get(Setting.POSTGRES_DB));
        config.setUsername(s.get(Setting.POSTGRES_USER));
        config.setPassword(s.get(Setting.POSTGRES_PASSWORD));
        config.setAutoCommit(false);
        config.setReadOnly(true);
        config.setMaximumPoolSize(poolSize);
        config.setMinimumIdle(0);
        config.setInitializationFailTimeout(-1);
        config.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
        // the write horizon recognises (and ignores) the loader's own read-only sessions by this name
        config.addDataSourceProperty("ApplicationName", WriteHorizon.LOADER_APPLICATION_NAME);
        // bytea is carried as its text form: pin that form to hex, whatever the server's default
        config.addDataSourceProperty("options", "-c bytea_output=hex");
        // Text forms with time zones (tstzrange, timestamptz[]) are rendered in the session's zone, which the
        // driver sets from the JVM's at login (after "options", so that cannot pin it): pin it to UTC here,
        // committed on its own so no rollback of the loader's undoes it.
        config.setConnectionInitSql("SET TimeZone = 'UTC'");
        config.setIsolateInternalQueries(true);
        // Numbers, dates, timestamps, uuids and their arrays arrive in binary from the first execution:
        // decoding 8 bytes instead of parsing text roughly halves the loader's reading CPU (docs/performance.md,
        // Measured). Types the loader keeps as PostgreSQL's own text stay text.
        config.addDataSourceProperty("prepareThreshold", "-1");
        config.addDataSourceProperty("binaryTransferDisable", "BYTEA,BYTEA_ARRAY,TIME,TIMETZ,OID_ARRAY,POINT,BOX");
        return new HikariDataSource(config);
    }

    /**
     * ClickHouse over HTTP. The copy's INSERTs go as RowBinary through {@code ClickHouseSink}, which uses
     * this pool's connections. The driver's own RowBinary path for simple inserts
     * ({@code beta.row_binary_for_simple_insert}) stays off: in clickhouse-jdbc 0.11.0 it lays values out
     * by the table's columns rather than the INSERT's column list, keeps a stale schema after ALTER TABLE
     * ADD COLUMN, and misreads back-quoted names with spaces; tests caught each of these putting NULLs or
     * values into the wrong column (SchemaTest).
     */
    static HikariDataSource clickHouse(Settings s, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("clickhouse");
        config.setJdbcUrl("jdbc:clickhouse://" + s.get(Setting.CLICKHOUSE_HOST) + ":" + s.get(Setting.CLICKHOUSE_PORT)
                + "/" + s.get(Setting.CLICKHOUSE_DB));
        config.setUsername(s.get(Setting.CLICKHOUSE_USER));
        config.setPassword(s.get(Setting.CLICKHOUSE_PASSWORD));
        config.setMaximumPoolSize(poolSize);
        config.setMinimumIdle(0);
        config.setInitializationFailTimeout(-1);
        config.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
        if (!s.get(Setting.CLICKHOUSE_CLUSTER).isBlank()) {
            // a Distributed table queues rows for other shards and sends them later by default: an INSERT
            // (and so a batch counted as shipped) must return only once every row is on its shard
            config.addDataSourceProperty("clickhouse_setting_distributed_foreground_insert", "1");
        }
        return new HikariDataSource(config);
    }

    /**
     * A PostgreSQL connection of the CDC stream's own, outside the pool: a replication connection
     * ({@code replication=database}, simple query mode, as pgjdbc's replication API needs) or a plain
     * read-write one for the publication's statements. Credentials go in as properties.
     */
    static Connection postgresConnection(Settings s, boolean replication) throws SQLException {
        Properties properties = new Properties();
        PGProperty.USER.set(properties, s.get(Setting.POSTGRES_USER));
        PGProperty.PASSWORD.set(properties, s.get(Setting.POSTGRES_PASSWORD));
        // not the pool's name: the write horizon passes over the pool's sessions as read-only
        PGProperty.APPLICATION_NAME.set(properties, "pg-ch-loader-cdc");
        PGProperty.CONNECT_TIMEOUT.set(properties, 5);
        if (replication) {
            PGProperty.REPLICATION.set(properties, "database");
            PGProperty.PREFER_QUERY_MODE.set(properties, "simple");
            PGProperty.ASSUME_MIN_SERVER_VERSION.set(properties, "10");
        }
        return DriverManager.getConnection("jdbc:postgresql://" + s.get(Setting.POSTGRES_HOST) + ":" + s.get(Setting.POSTGRES_PORT)
                + "/" + s.get(Setting.POSTGRES_DB), properties);
    }
}
