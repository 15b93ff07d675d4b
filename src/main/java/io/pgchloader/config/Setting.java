package io.pgchloader.config;

/**
 * Every setting the loader reads, with its default and meaning. This is the one place that declares
 * them; README's configuration table mirrors it.
 *
 * <p>Values come from the environment and from a {@code .env} file in the working directory; the
 * environment wins. A setting without a default is required.
 */
public enum Setting {

    POSTGRES_HOST(null, Kind.HOST, "Host name or address of the PostgreSQL server to read from."),
    POSTGRES_PORT("5432", Kind.PORT, "TCP port of the PostgreSQL server."),
    POSTGRES_USER(null, Kind.TEXT, "PostgreSQL role the loader connects as. Needs SELECT on the synced tables."),
    POSTGRES_PASSWORD("", Kind.SECRET, "Password of POSTGRES_USER (empty for trust or peer authentication)."),
    POSTGRES_DB(null, Kind.TEXT, "PostgreSQL database that holds the synced tables."),

    CLICKHOUSE_HOST(null, Kind.HOST, "Host name or address of the ClickHouse server to write to."),
    CLICKHOUSE_PORT("8123", Kind.PORT, "HTTP port of the ClickHouse server (the JDBC driver speaks HTTP)."),
    CLICKHOUSE_USER("default", Kind.TEXT, "ClickHouse user the loader connects as. Needs SELECT, INSERT and CREATE TABLE."),
    CLICKHOUSE_PASSWORD("", Kind.SECRET, "Password of CLICKHOUSE_USER."),
    CLICKHOUSE_DB("default", Kind.TEXT, "ClickHouse database that holds (or receives) the target tables."),
    CLICKHOUSE_CLUSTER("", Kind.TEXT, "Cluster name from ClickHouse's remote_servers (system.clusters) for a sharded"
            + " ClickHouse: each target is then a Distributed table named targetTable over <targetTable>_shard tables on"
            + " every shard, sharded by a hash of the primary key (docs/cluster.md). Empty (the default): plain tables on"
            + " CLICKHOUSE_HOST."),

    ROUTES_DIR("routes", Kind.DIRECTORY, "Folder the YAML routes (the route template and one templatedRoute per table) are loaded from."),

    POSTGRES_TIMEZONE("UTC", Kind.ZONE, "Time zone in which sessions write the synced tables' timestamp-without-time-zone columns"
            + " (PostgreSQL's TimeZone setting, usually the server default). The watermark's upper bound and daylight-saving"
            + " overlaps of such columns are computed in it; timestamptz columns do not depend on it."),
    PG_FETCH_SIZE("10000", Kind.POSITIVE_INT, "Rows PostgreSQL sends per round trip of the server-side cursor."),

    SYNC_LOOKBACK_SECONDS("3600", Kind.NON_NEGATIVE_INT, "How long before the loader first saw it a transaction may have"
            + " begun when PostgreSQL does not show its start (another role's session without pg_read_all_stats, or"
            + " track_activities off): rows written since then wait until it ends. Also the re-read window after a"
            + " daylight-saving fall-back of POSTGRES_TIMEZONE. Must exceed the longest such transaction."),

    SYNC_SETTLE_MS("100", Kind.NON_NEGATIVE_INT, "Pause between reading PostgreSQL's clock and its open transactions for"
            + " the write horizon: a transaction takes its timestamp a few microseconds before PostgreSQL shows it, and a"
            + " backend stalled longer than this in between could be missed."),

    PROGRESS_SECONDS("5", Kind.NON_NEGATIVE_INT, "Seconds between progress lines (rows, rows/s, percent, time to go) of a"
            + " stream that runs longer than that, such as a backfill; 0 prints one after every INSERT."),

    RETRY_MAX_ATTEMPTS("5", Kind.NON_NEGATIVE_INT, "Times a failed ClickHouse insert (or PostgreSQL query) is retried before"
            + " the cycle fails; the next cycle resumes where ClickHouse stopped."),
    RETRY_INITIAL_DELAY_MS("1000", Kind.POSITIVE_INT, "Delay before the first retry; each further retry waits twice as long."),
    RETRY_MAX_DELAY_MS("30000", Kind.POSITIVE_INT, "Longest delay between two retries."),

    HTTP_PORT("8080", Kind.PORT_OR_ZERO, "TCP port of the HTTP server for health and metrics (/observe/health/ready,"
            + " /observe/health/live, /observe/metrics) while the loader runs its schedule; 0 turns it off. --once and"
            + " --demo never serve HTTP."),
    HTTP_HOST("0.0.0.0", Kind.HOST, "Address the HTTP server for health and metrics listens on: 0.0.0.0 (the default,"
            + " what a container needs) is every interface; 127.0.0.1 keeps it to this machine."),

    HEALTH_DETAILS("none", Kind.DETAIL_LEVEL, "What the unauthenticated health answers tell: none (the default) says"
            + " which check is down, not where the databases are or why; full adds each database's host, port, database and"
            + " user, the driver's reason, and the tables whose cycles fail (how many in a row, since when, the last message)."
            + " Readiness stays 200 while cycles fail: it means both databases can be reached."),

    CLUSTER_LOCK_DIR("", Kind.TEXT, "Folder shared by every instance on this host for high availability: each table is"
            + " synced by whichever instance holds its lock file there, and another takes over within seconds when that"
            + " one dies. Empty (the default) turns high availability off."),
    CLUSTER_ZOOKEEPER("", Kind.TEXT, "ZooKeeper (or ClickHouse Keeper) connect string, host:port[,host:port...], for"
            + " loaders on many hosts: each table is synced by one of the loaders that share it, the tables are spread"
            + " evenly over them, and another takes a table over within seconds when its loader dies. Empty (the"
            + " default) turns it off; not together with CLUSTER_LOCK_DIR."),
    CLUSTER_NAMESPACE("pg-ch-loader", Kind.TEXT, "Prefix of the lock names in CLUSTER_LOCK_DIR, or the ZooKeeper node"
            + " under which CLUSTER_ZOOKEEPER's elections live (one per table route); instances that sync the same"
            + " tables must use the same value."),

    CDC_SLOT("pg_ch_loader", Kind.TEXT, "Logical replication slot the CDC tables (template pg-cdc-to-clickhouse) are"
            + " streamed from: one per loader and database, shared by all its CDC tables, created when missing. It keeps"
            + " WAL until the loader confirms it; drop it when the loader is retired (docs/cdc.md)."),
    CDC_PUBLICATION("pg_ch_loader", Kind.TEXT, "Publication that lists the CDC tables; created when missing, and the"
            + " loader adds its CDC tables to it."),
    CDC_MAX_LAG_SECONDS("300", Kind.POSITIVE_INT, "Seconds the CDC stream may lag behind PostgreSQL's commits before the"
            + " readiness check cdc goes DOWN (lag: now minus the newest commit, or heartbeat, the slot was confirmed past)."),
    CDC_MAX_RETAINED_WAL_MB("1024", Kind.POSITIVE_INT, "Megabytes of WAL the CDC slot may retain on PostgreSQL's disk"
            + " (pg_current_wal_lsn() - restart_lsn) before a WARN names the slot and advises max_slot_wal_keep_size, once"
            + " per crossing; the metric pgch_cdc_slot_retained_wal_over_limit says the same."),
    CDC_HEARTBEAT_SECONDS("10", Kind.NON_NEGATIVE_INT, "Seconds without a change from the slot after which the CDC"
            + " stream writes a heartbeat (pg_logical_emit_message, PostgreSQL 14+) and confirms past it, so a slot"
            + " whose tables are idle while others write does not pin WAL; 0 turns heartbeats off."),

    JMX_PORT("", Kind.PORT, "TCP port for remote JMX (RMI registry and connector on this one port) while the loader runs"
            + " its schedule; needs JMX_USER and JMX_PASSWORD. Empty (the default): no port is opened, local tools"
            + " (jconsole, VisualVM) still attach by process id."),
    JMX_USER("", Kind.TEXT, "User name of the remote JMX operator; required with JMX_PORT. It may read the MBeans'"
            + " attributes (not the JVM's command line and system properties, which may hold secrets), stop, start, suspend"
            + " and resume the table routes, and use the loader's own MBeans; nothing else."),
    JMX_PASSWORD("", Kind.SECRET, "Password of JMX_USER; required with JMX_PORT."),
    JMX_READONLY_USER("", Kind.TEXT, "User name of a second, read-only remote JMX login: it may read what JMX_USER reads"
            + " and change nothing. Needs JMX_READONLY_PASSWORD; must differ from JMX_USER. Empty (the default): no such login."),
    JMX_READONLY_PASSWORD("", Kind.SECRET, "Password of JMX_READONLY_USER; required with it."),
    JMX_HOST("", Kind.HOST, "Host name or address remote JMX clients reach the loader by (RMI hands it to them); set it"
            + " behind NAT or in a container. Empty (the default): this machine's own address."),

    JMX_BIND_HOST("0.0.0.0", Kind.HOST, "Address the remote JMX port listens on: 0.0.0.0 (the default, what a container"
            + " needs) is every interface; 127.0.0.1 keeps it to this machine (reach it through ssh -L)."),
    JMX_TLS("false", Kind.BOOLEAN, "true: remote JMX (registry and connector) speaks TLS with the key in JMX_KEYSTORE, so"
            + " logins and replies cannot be read on the way; clients need the certificate in their trust store. false (the"
            + " default): plain RMI, for a trusted network or an SSH tunnel only."),
    JMX_KEYSTORE("", Kind.TEXT, "Keystore file (PKCS12 or JKS) with the private key and certificate remote JMX presents;"
            + " required with JMX_TLS=true."),
    JMX_KEYSTORE_PASSWORD("", Kind.SECRET, "Password of JMX_KEYSTORE and of the key in it."),

    LOG_LEVEL("INFO", Kind.LOG_LEVEL, "Level of the loader's own log lines: ERROR, WARN, INFO, DEBUG or TRACE. Libraries always log at WARN.");

    /** How a value is checked before the loader connects anywhere. */
    public enum Kind { HOST, PORT, PORT_OR_ZERO, TEXT, SECRET, DIRECTORY, POSITIVE_INT, NON_NEGATIVE_INT, ZONE, LOG_LEVEL,
        DETAIL_LEVEL, BOOLEAN }

    private final String defaultValue;
    private final Kind kind;
    private final String meaning;

    Setting(String defaultValue, Kind kind, String meaning) {
        this.defaultValue = defaultValue;
        this.kind = kind;
        this.meaning = meaning;
    }

    public String defaultValue() {
        return defaultValue;
    }

    public boolean required() {
        return defaultValue == null;
    }

    public Kind kind() {
        return kind;
    }

    public String meaning() {
        return meaning;
    }

    public boolean secret() {
        return kind == Kind.SECRET;
    }
}
