package io.pgchloader.clickhouse;

import io.pgchloader.common.Identifiers;
import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.SourceTable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sharded ClickHouse ({@code CLICKHOUSE_CLUSTER}): a target {@code t} is a {@code Distributed} table
 * over tables {@code t_shard} on every shard, sharded by {@code cityHash64} of the key, so all versions
 * of a key meet on one shard and {@code FINAL} through the Distributed table is exact. This class knows
 * the shape of those tables and runs their DDL on every host, by {@code ON CLUSTER} where the server
 * runs distributed DDL and host by host (as {@code system.clusters} lists them) where it does not.
 */
public final class ClickHouseCluster {

    /** The shard tables' names: the target's name and this suffix, in the same database. */
    public static final String SHARD_SUFFIX = "_shard";

    private static final Logger LOG = LoggerFactory.getLogger(ClickHouseCluster.class);

    /**
     * Errors of an {@code ON CLUSTER} statement that mean the server runs no distributed DDL at all (no
     * Keeper, no distributed_ddl section, clickhouse-local): nothing was queued, so running the statements
     * host by host instead is safe. Any other error is the statement's own and stops the cycle.
     */
    private static final List<String> NO_DISTRIBUTED_DDL = List.of("Replicated DDL queries are disabled",
            "QUERY_IS_PROHIBITED", "NO_ZOOKEEPER", "There is no Zookeeper", "There is no ZooKeeper",
            "distributed_ddl", "NO_ELEMENTS_IN_CONFIG");

    private final String name;
    private final DataSource local;
    private final int port;
    private final String user;
    private final String password;
    /** Whether ON CLUSTER works here: null until the first DDL found out. */
    private volatile Boolean onCluster;

    /**
     * @param local    the loader's own ClickHouse (CLICKHOUSE_HOST): where system.clusters is read
     * @param port     the HTTP port every host serves (CLICKHOUSE_PORT), for DDL host by host
     */
    public ClickHouseCluster(String name, DataSource local, int port, String user, String password) {
        this.name = name;
        this.local = local;
        this.port = port;
        this.user = user;
        this.password = password;
    }

    public String name() {
        return name;
    }

    /** One replica of one shard, as system.clusters lists it. */
    public record Host(int shard, int replica, String address) {
    }

    /** The cluster's hosts; refuses a name system.clusters does not know. */
    public List<Host> hosts() throws SQLException {
        List<Host> hosts = new ArrayList<>();
        Set<String> known = new LinkedHashSet<>();
        try (Connection connection = local.getConnection(); Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT cluster, shard_num, replica_num, host_address FROM system.clusters"
                     + " ORDER BY cluster, shard_num, replica_num")) {
            while (rs.next()) {
                known.add(rs.getString(1));
                if (rs.getString(1).equals(name)) {
                    hosts.add(new Host(rs.getInt(2), rs.getInt(3), rs.getString(4)));
                }
            }
        }
        if (hosts.isEmpty()) {
            throw new SyncException("CLICKHOUSE_CLUSTER is " + name + ", but ClickHouse's system.clusters has no such cluster"
                    + " (it has: " + (known.isEmpty() ? "none" : String.join(", ", known)) + "): set it to one of its"
                    + " remote_servers, or leave it empty for plain tables.");
        }
        return hosts;
    }

    /** How many shards the cluster has. */
    public int shards() throws SQLException {
        return (int) hosts().stream().map(Host::shard).distinct().count();
    }

    /** Whether the shard tables must replicate, as {@code system.clusters} lists the cluster now. */
    public boolean replicated() throws SQLException {
        return replicated(hosts());
    }

    /** Whether some shard has more than one replica: then the shard tables must replicate. */
    static boolean replicated(List<Host> hosts) {
        return hosts.stream().anyMatch(h -> h.replica() > 1);
    }

    public static String shardTable(String table) {
        return table + SHARD_SUFFIX;
    }

    /** What {@code engine_full} of the Distributed target starts with. */
    public String distributedEngine(String database, String table) {
        return "Distributed(" + Identifiers.chString(name) + ", " + Identifiers.chString(database) + ", "
                + Identifiers.chString(shardTable(table)) + ", ";
    }

    /**
     * Every statement that creates a missing target, shard tables first (the Distributed table takes their
     * columns): IF NOT EXISTS throughout, so a shard that already has its table keeps it.
     */
    public List<String> createSql(String database, String table, SourceTable source, List<String> key, String createdColumn,
                                  String updatedColumn, String deletedExpression, String comment, boolean replicated) {
        String shard = shardTable(table);
        String shardSql = TargetTable.createSql(database, shard, source, key, createdColumn, updatedColumn, deletedExpression, null);
        if (replicated) {
            // {shard} and {replica} are each server's macros: one Keeper path per shard, one replica name per host
            String path = "/clickhouse/tables/{shard}/" + database + "/" + shard;
            shardSql = shardSql.replace(") ENGINE = ReplacingMergeTree(", ") ENGINE = ReplicatedReplacingMergeTree("
                    + Identifiers.chString(path) + ", '{replica}', ");
        }
        return List.of(shardSql, "CREATE TABLE IF NOT EXISTS " + Identifiers.ch(database, table) + " AS "
                + Identifiers.ch(database, shard) + " ENGINE = Distributed(" + Identifiers.chString(name) + ", "
                + Identifiers.chString(database) + ", " + Identifiers.chString(shard) + ", cityHash64(" + Identifiers.chList(key) + "))"
                + (comment == null ? "" : " COMMENT " + Identifiers.chString(comment)));
    }

    /**
     * A change of the target's columns ({@code ALTER TABLE <target> ...}) as it must run: on the shard
     * tables first, then on the Distributed table, so a Distributed table that has a column means every
     * shard has it (the check that finds a drift reads the Distributed table's columns).
     */
    public static List<String> everyTable(String alter, String database, String table) {
        String target = "ALTER TABLE " + Identifiers.ch(database, table) + " ";
        if (!alter.startsWith(target)) {
            throw new IllegalArgumentException("not an ALTER of " + table + ": " + alter);
        }
        String rest = alter.substring(target.length());
        return List.of("ALTER TABLE " + Identifiers.ch(database, shardTable(table)) + " " + rest, alter);
    }

    /** The clause that sends a statement to every host of the cluster. */
    String onClusterClause() {
        return " ON CLUSTER " + Identifiers.ch(name);
    }

    /** The statements {@code ON CLUSTER}: what {@link #run} sends where the server runs distributed DDL. */
    public List<String> onCluster(List<String> statements) {
        String clause = onClusterClause();
        List<String> out = new ArrayList<>();
        for (String statement : statements) {
            out.add(withOnCluster(statement, clause));
        }
        return out;
    }

    /** {@code ON CLUSTER} right after the table's name, where ClickHouse's grammar puts it. */
    static String withOnCluster(String statement, String clause) {
        for (String head : List.of("CREATE TABLE IF NOT EXISTS ", "ALTER TABLE ")) {
            if (statement.startsWith(head)) {
                int end = nameEnd(statement, head.length());
                return statement.substring(0, end) + clause + statement.substring(end);
            }
        }
        throw new IllegalArgumentException("no CREATE TABLE or ALTER TABLE: " + statement);
    }

    /** Where a back-quoted {@code `db`.`table`} that starts at {@code from} ends. */
    private static int nameEnd(String statement, int from) {
        int i = from;
        for (int part = 0; part < 2; part++) {
            if (statement.charAt(i) != '`') {
                throw new IllegalArgumentException("unquoted name in " + statement);
            }
            i++;
            while (statement.charAt(i) != '`') {
                i += statement.charAt(i) == '\\' ? 2 : 1;
            }
            i++;
            if (part == 0) {
                i++; // the dot
            }
        }
        return i;
    }

    /**
     * Runs DDL on every host of the cluster, in order: {@code ON CLUSTER} once that is known to work (the
     * first DDL tries it), else each statement at every host of system.clusters, on the loader's port
     * with the loader's login. Idempotent statements only (IF NOT EXISTS), so a host that already ran one
     * (a cycle that failed half-way) runs it again harmlessly.
     */
    public void run(List<String> statements) throws SQLException {
        if (statements.isEmpty()) {
            return;
        }
        if (!Boolean.FALSE.equals(onCluster)) {
            List<String> distributed = onCluster(statements);
            try (Connection connection = local.getConnection(); Statement s = connection.createStatement()) {
                for (int i = 0; i < distributed.size(); i++) {
                    try {
                        s.execute(distributed.get(i));
                        onCluster = true;
                    } catch (SQLException e) {
                        if (i > 0 || Boolean.TRUE.equals(onCluster) || !withoutDistributedDdl(e)) {
                            throw e;
                        }
                        LOG.info("ClickHouse runs no distributed DDL (ON CLUSTER {}: {}); the loader creates and changes"
                                + " the tables host by host", name, firstLine(e));
                        onCluster = false;
                        break;
                    }
                }
            }
            if (Boolean.TRUE.equals(onCluster)) {
                return;
            }
        }
        Set<String> addresses = new LinkedHashSet<>();
        for (Host host : hosts()) {
            addresses.add(host.address());
        }
        for (String address : addresses) {
            try (Connection connection = connect(address); Statement s = connection.createStatement()) {
                for (String statement : statements) {
                    s.execute(statement);
                }
            }
        }
    }

    private static boolean withoutDistributedDdl(SQLException e) {
        String message = String.valueOf(e.getMessage());
        return NO_DISTRIBUTED_DDL.stream().anyMatch(message::contains);
    }

    private static String firstLine(SQLException e) {
        String message = String.valueOf(e.getMessage()).strip();
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }

    /** A connection to one host, with the credentials as properties (never in the URL). */
    private Connection connect(String address) throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", user);
        properties.setProperty("password", password);
        String host = address.contains(":") ? "[" + address + "]" : address;
        return DriverManager.getConnection("jdbc:clickhouse://" + host + ":" + port + "/", properties);
    }

    /**
     * How many shards hold the shard table, and how many shards there are: the loader creates what is
     * missing when they differ. One replica per shard answers (any that is up), so a replica that is down
     * does not stop the table; a replica is never short of the table the others of its shard have,
     * because DDL goes to every host.
     */
    public int[] shardTablesPresent(String database, String table) throws SQLException {
        int shards = shards();
        try (Connection connection = local.getConnection();
             PreparedStatement ps = connection.prepareStatement("SELECT count() FROM cluster("
                     + Identifiers.chString(name) + ", system.tables) WHERE database = " + Identifiers.chString(database)
                     + " AND name = " + Identifiers.chString(shardTable(table)));
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return new int[] {rs.getInt(1), shards};
        }
    }
}
