package io.pgchloader.cdc;

import io.pgchloader.clickhouse.InsertRefusal;
import io.pgchloader.clickhouse.PgToClickHouse;
import io.pgchloader.clickhouse.RowBinaryInsert;
import io.pgchloader.clickhouse.RowCounts;
import io.pgchloader.clickhouse.StreamInsert;
import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.common.DeleteGuard;
import io.pgchloader.common.Identifiers;
import io.pgchloader.common.SyncException;
import io.pgchloader.config.ConfigurationException;
import io.pgchloader.postgres.PgColumn;
import io.pgchloader.postgres.PgType;
import io.pgchloader.postgres.PostgresCatalog;
import io.pgchloader.postgres.SourceRow;
import io.pgchloader.postgres.SourceRowMapperFactory;
import io.pgchloader.postgres.SourceTable;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.postgresql.replication.fluent.logical.ChainedLogicalStreamBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.PreparedStatementSetter;
import org.springframework.jdbc.core.RowMapper;

/**
 * The one replication stream of a loader: one slot and one publication shared by all its CDC tables.
 *
 * <p>{@link #prepare} checks and creates what the stream needs (wal_level, the REPLICATION attribute, the
 * publication and its tables, replica identity, the targets) and fails with a {@link ConfigurationException}
 * naming the statement to run. {@link #run} creates the slot when it is missing (its exported snapshot loads
 * every table), loads tables that are new to an existing slot, then applies the slot's changes until its
 * end condition: the WAL position current when it started ({@code --once}) or a stop.
 *
 * <p>Confirm after write: the slot's flushed position is only ever set to the end of a transaction whose
 * changes ClickHouse holds (the INSERTs returned), and automatic flush on keepalives is off. A crash replays
 * from there; the replayed changes carry the same versions, so ClickHouse keeps one row per key under FINAL.
 */
public final class CdcStream {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.cdc");
    private static final Pattern SLOT_NAME = Pattern.compile("[a-z0-9_]{1,63}");
    /** Comment a target carries while its snapshot load runs: a killed load resumes or starts again (docs/cdc.md). */
    static final String SNAPSHOT_COMMENT = "pg-ch-loader: cdc snapshot in progress";
    /** Comment of a target whose changes the stream stopped applying: it is loaded again at the next start (docs/cdc.md). */
    static final String STOPPED_COMMENT = "pg-ch-loader: cdc stopped, loaded again at the next start";
    /** Longest time changes wait in the loader before they are written and confirmed. */
    private static final long FLUSH_MS = 1000;
    /** Seconds between the stream's progress lines while changes arrive. */
    private static final long PROGRESS_SECONDS = 10;
    /** How often the slot's position and retained WAL are read from pg_replication_slots. */
    private static final long SLOT_READ_MS = 5000;
    /** The prefix of the heartbeats' logical messages. */
    static final String HEARTBEAT_PREFIX = "pg_ch_loader";
    /** PostgreSQL's duplicate_object: a slot, publication or publication member another loader made first. */
    private static final String DUPLICATE_OBJECT = "42710";

    /**
     * Writes one batch of rows (changes, or a snapshot load's) into ClickHouse and returns once ClickHouse
     * holds it: the routes' {@code cdc-apply} route, the camel-sql producer over the RowBinary sink.
     */
    @FunctionalInterface
    public interface Inserts {
        void insert(String sql, RowBinaryInsert.Batch batch) throws SQLException;
    }

    /** Opens PostgreSQL connections: a plain one, or a replication connection ({@code replication=database}). */
    @FunctionalInterface
    public interface Connections {
        Connection open(boolean replication) throws SQLException;
    }

    private final Connections connections;
    private final DataSource postgres;
    private final DataSource clickHouse;
    private final Inserts inserts;
    private final String clickHouseDatabase;
    private final String slot;
    private final String publication;
    private final List<CdcTable.Spec> specs = new ArrayList<>();
    private final Map<String, CdcTable> tables = new LinkedHashMap<>();
    /** Tables whose target must be (re)loaded under a snapshot before the stream applies their changes. */
    private final List<CdcTable> toLoad = new ArrayList<>();
    private volatile boolean stopping;
    private volatile long confirmed;
    private final CdcStatus status;
    private final long heartbeatMs;
    private final long maxRetainedWalBytes;
    /** False once a heartbeat failed: they stay off for the rest of the run, said once. */
    private volatile boolean heartbeatsAllowed = true;
    /** Whether retained WAL was above the limit at the last reading: the WARN is written once per crossing. */
    private boolean overRetainedLimit;

    /**
     * @param heartbeatMs         idle time after which a heartbeat message is written to the WAL (0: none)
     * @param maxRetainedWalBytes retained WAL above which a WARN says what to do (once per crossing)
     */
    public CdcStream(Connections connections, DataSource postgres, DataSource clickHouse, Inserts inserts,
                     String clickHouseDatabase, String slot, String publication, long heartbeatMs, long maxRetainedWalBytes) {
        this.status = new CdcStatus(slot, Clock.systemUTC());
        this.heartbeatMs = heartbeatMs;
        this.maxRetainedWalBytes = maxRetainedWalBytes;
        this.connections = connections;
        this.postgres = postgres;
        this.clickHouse = clickHouse;
        this.inserts = inserts;
        this.clickHouseDatabase = clickHouseDatabase;
        this.slot = slot;
        this.publication = publication;
    }

    public void add(String routeId, String schema, String table, String targetTable, String primaryKey, int batchSize,
                    int insertRows, double maxDeleteFraction) {
        specs.add(new CdcTable.Spec(routeId, schema, table, targetTable, primaryKey, batchSize, insertRows, maxDeleteFraction));
        status.routes(specs.stream().map(s -> new CdcStatus.Route(s.routeId(), s.schema() + "." + s.table())).toList());
    }

    /** A CDC table as {@code --verify} compares it: its route, source, key and ClickHouse table ({@code db.table}, quoted). */
    public record Target(String routeId, SourceTable source, List<String> key, String targetTable, String qualifiedTarget,
                         double maxDeleteFraction) {
    }

    /** The prepared tables (after {@link #prepare}), in the order of the routes files. */
    public List<Target> targets() {
        return tables.values().stream().map(t -> new Target(t.spec.routeId(), t.source, t.key, t.spec.target(), t.qualifiedTarget,
                t.spec.maxDeleteFraction())).toList();
    }

    public String slot() {
        return slot;
    }

    /**
     * Whether the slot holds changes (insert, update, delete, truncate of a published table) not confirmed yet
     * and committed before {@code upTo}: decoded with {@code pg_logical_slot_peek_binary_changes}, which consumes
     * nothing. Only for a slot no stream reads (PostgreSQL refuses to peek an active slot).
     */
    public boolean holdsChangesBefore(Connection c, long upTo) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT data FROM pg_logical_slot_peek_binary_changes(?, ?::pg_lsn, NULL,"
                + " 'proto_version', '1', 'publication_names', ?)")) {
            ps.setString(1, slot);
            ps.setString(2, LogSequenceNumber.valueOf(upTo).asString());
            ps.setString(3, publication);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    PgOutput.Message m = PgOutput.decode(ByteBuffer.wrap(rs.getBytes(1)));
                    if (m instanceof PgOutput.Insert || m instanceof PgOutput.Update || m instanceof PgOutput.Delete
                            || m instanceof PgOutput.Truncate) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** What the stream has applied and where its slot stands, for metrics, JMX and health. */
    public CdcStatus status() {
        return status;
    }

    /** The CDC routes' ids, in the order of the routes files. */
    public List<String> routeIds() {
        return specs.stream().map(CdcTable.Spec::routeId).toList();
    }

    public boolean isEmpty() {
        return specs.isEmpty();
    }

    /** The last position confirmed to the slot (for tests and logs). */
    public long confirmedLsn() {
        return confirmed;
    }

    public void stop() {
        stopping = true;
    }

    private Thread continuous;
    private boolean continuousAllowed;

    /** Only the scheduled mode streams continuously; {@code --once} and the other modes call {@link #run} themselves, or not at all. */
    public void allowContinuous(boolean allowed) {
        continuousAllowed = allowed;
    }

    /**
     * The scheduled mode's stream, started by the first CDC route and shared by all: runs until {@link #stop}. A
     * failure (a database restarting, a connection lost) is logged and the stream starts again from the slot's
     * confirmed position after {@code retryMs}; nothing is lost or applied twice by that.
     */
    public synchronized void startContinuous(long retryMs) {
        if (continuous != null || !continuousAllowed || specs.isEmpty()) {
            return;
        }
        continuous = new Thread(() -> {
            while (!stopping) {
                try {
                    run(false);
                } catch (SyncException e) {
                    status.failed(e.getMessage());
                    LOG.error("CDC stream stopped: {}", e.getMessage());
                    return;
                } catch (Exception e) {
                    if (stopping) {
                        return;
                    }
                    if (heldElsewhere(e)) {
                        // another loader streams the slot (PostgreSQL lets one reader have it): this one stands by and
                        // takes it over as soon as that one is gone, from the position it confirmed
                        // said once, not at every try
                        if (!status.standingBy()) {
                            LOG.info("CDC slot {} is read by another loader ({}): standing by, trying again every {} ms",
                                    slot, e.getMessage(), retryMs);
                        }
                        status.standBy();
                    } else {
                        status.failed(e.getMessage());
                        LOG.warn("CDC stream failed, starting again from slot {} in {} ms: {}", slot, retryMs, e.getMessage());
                    }
                    try {
                        Thread.sleep(retryMs);
                    } catch (InterruptedException interrupted) {
                        return;
                    }
                }
            }
        }, "cdc-stream");
        continuous.setDaemon(true);
        continuous.start();
    }

    /** PostgreSQL's "replication slot … is active for PID …": another session reads the slot. */
    private static boolean heldElsewhere(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && "55006".equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /** Checks PostgreSQL and ClickHouse and creates the publication, its tables and the targets; configuration errors name the fix. */
    public void prepare() throws SQLException {
        if (!SLOT_NAME.matcher(slot).matches()) {
            throw new ConfigurationException("CDC_SLOT '" + slot + "' is not a valid slot name: use 1 to 63 lower-case letters, digits or _.");
        }
        if (!SLOT_NAME.matcher(publication).matches()) {
            throw new ConfigurationException("CDC_PUBLICATION '" + publication + "' is not a valid name here: use 1 to 63"
                    + " lower-case letters, digits or _.");
        }
        try (Connection c = connections.open(false)) {
            c.setAutoCommit(true);
            String walLevel = single(c, "SHOW wal_level");
            if (!walLevel.equals("logical")) {
                throw new ConfigurationException("PostgreSQL's wal_level is " + walLevel + ", but the CDC tables need logical"
                        + " decoding: run ALTER SYSTEM SET wal_level = logical; as a superuser and restart PostgreSQL"
                        + " (max_replication_slots and max_wal_senders must be at least 1).");
            }
            String role = single(c, "SELECT current_user");
            if (!single(c, "SELECT (rolreplication OR rolsuper)::text FROM pg_roles WHERE rolname = current_user").equals("true")) {
                throw new ConfigurationException("PostgreSQL role " + role + " may not read a replication slot, which the"
                        + " CDC tables need: run ALTER ROLE " + Identifiers.pg(role) + " REPLICATION; as a superuser.");
            }
            List<SourceTable> sources = new ArrayList<>();
            for (CdcTable.Spec spec : specs) {
                SourceTable source = PostgresCatalog.describe(postgres, spec.schema(), spec.table());
                sources.add(source);
                checkReplicaIdentity(c, source);
                checkNoGeneratedColumns(c, source, spec);
            }
            List<String> added = ensurePublication(c, sources);
            for (int i = 0; i < specs.size(); i++) {
                CdcTable.Spec spec = specs.get(i);
                SourceTable source = sources.get(i);
                List<String> key = key(spec, source);
                TargetTable target = TargetTable.inspect(clickHouse, clickHouseDatabase, spec.target());
                boolean load = added.contains(source.qualifiedName());
                if (!target.exists()) {
                    execute(clickHouse, TargetTable.createCdcSql(clickHouseDatabase, spec.target(), source, key, SNAPSHOT_COMMENT));
                    LOG.info("{}: creating ClickHouse table {} for CDC", source.qualifiedName(), spec.target());
                    target = TargetTable.inspect(clickHouse, clickHouseDatabase, spec.target());
                    load = true;
                } else {
                    String version = target.columnType(TargetTable.VERSION_COLUMN);
                    if (!target.isCdcTarget()) {
                        throw new ConfigurationException("ClickHouse table " + target.qualifiedName() + " is not a CDC target"
                                + " (its _version is " + version + ", a CDC target's is " + TargetTable.CDC_VERSION_TYPE
                                + "): give route " + spec.routeId() + " another targetTable, or drop the table to have it created.");
                    }
                    target.checkSortingKey(source, key);
                    load |= target.comment().startsWith(SNAPSHOT_COMMENT) || target.comment().equals(STOPPED_COMMENT);
                }
                CdcTable table;
                try {
                    table = fitted(spec, source, key, target);
                } catch (SyncException e) {
                    // the other tables start; this one stays stopped (and is loaded again once it fits)
                    table = new CdcTable(spec, source, key, target.qualifiedName(), target.insertTypes(source));
                    stop(table, e.getMessage());
                    load = false;
                }
                tables.put(source.qualifiedName(), table);
                if (load) {
                    toLoad.add(table);
                }
            }
        }
    }

    /**
     * The table with its target altered to hold {@code source}'s columns, by the watermark mode's drift rules:
     * a column PostgreSQL gained is added (Nullable: older rows have no value for it), one it lost becomes
     * Nullable. A {@link SyncException} names the fix when a column's type no longer fits.
     *
     * @param target the target as just inspected
     */
    private CdcTable fitted(CdcTable.Spec spec, SourceTable source, List<String> key, TargetTable target) throws SQLException {
        List<String> ddl = target.alterToFit(source);
        if (!ddl.isEmpty()) {
            for (String sql : ddl) {
                execute(clickHouse, sql);
            }
            LOG.info("{}: ClickHouse table {} follows PostgreSQL's columns: {}", source.qualifiedName(), target.qualifiedName(),
                    String.join("; ", ddl));
            target = TargetTable.inspect(clickHouse, clickHouseDatabase, spec.target());
        }
        return new CdcTable(spec, source, key, target.qualifiedName(), target.insertTypes(source));
    }

    /**
     * Stops applying one table's changes while the stream goes on with the others (so the slot moves on and
     * pins no WAL for it). The target is marked first, before the slot can be confirmed past the change that
     * stopped it: the next start finds the mark and loads the table again (see {@link #run}).
     */
    private void stop(CdcTable table, String reason) throws SQLException {
        execute(clickHouse, TargetTable.commentSql(table.qualifiedTarget, STOPPED_COMMENT));
        status.stopped(table.spec.routeId(), reason);
        LOG.error("{}: CDC stopped for this table, the other tables go on: {} Once it is fixed, restart the loader: the"
                + " table is then loaded again from PostgreSQL (docs/cdc.md, schema changes).", table.name(), reason);
    }

    /** Why a table stops when ClickHouse refuses its rows (see {@link InsertRefusal}). */
    private static String refusal(String message) {
        return "ClickHouse refuses its rows: " + message + ". Make the ClickHouse table fit again (or drop it to have it created).";
    }

    /** Whether the stream stopped applying this table's changes. */
    private boolean stopped(CdcTable table) {
        return status.stopped(table.spec.routeId()) != null;
    }

    /**
     * An update leaves TOASTed values it did not change out of pgoutput's new row ('u'); only REPLICA IDENTITY
     * FULL puts them into the old row, where the stream takes them from. Tables with a column that can be
     * TOASTed need it; the others do not pay for it.
     */
    private static void checkReplicaIdentity(Connection c, SourceTable source) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT cl.relreplident::text,
                       bool_or(t.typstorage <> 'p') AS toastable
                  FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
                  JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
                  JOIN pg_type t ON t.oid = a.atttypid
                 WHERE n.nspname = ? AND cl.relname = ?
                 GROUP BY cl.relreplident""")) {
            ps.setString(1, source.schema());
            ps.setString(2, source.table());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && !rs.getString(1).equals("f") && rs.getBoolean(2)) {
                    throw new ConfigurationException(source.qualifiedName() + " has columns PostgreSQL may TOAST, whose"
                            + " unchanged values an update does not send under its replica identity: run ALTER TABLE "
                            + Identifiers.pg(source.schema(), source.table()) + " REPLICA IDENTITY FULL; (see docs/cdc.md, TOAST).");
                }
            }
        }
    }

    /**
     * pgoutput does not send generated columns (before PostgreSQL 18 at all): a changed row would reach
     * ClickHouse without the value, as if it were NULL. Such a table is refused rather than half-synced.
     */
    private static void checkNoGeneratedColumns(Connection c, SourceTable source, CdcTable.Spec spec) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT string_agg(a.attname, ', ' ORDER BY a.attnum)
                  FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
                 WHERE n.nspname = ? AND cl.relname = ? AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''""")) {
            ps.setString(1, source.schema());
            ps.setString(2, source.table());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getString(1) != null) {
                    throw new ConfigurationException(source.qualifiedName() + " has generated column(s) " + rs.getString(1)
                            + ", whose values logical replication does not send: sync it with the watermark template"
                            + " pg-to-clickhouse instead of route " + spec.routeId() + "'s pg-cdc-to-clickhouse.");
                }
            }
        }
    }

    /** Creates the publication when missing and adds the tables it lacks; returns the tables added. */
    private List<String> ensurePublication(Connection c, List<SourceTable> sources) throws SQLException {
        String tableList = String.join(", ", sources.stream().map(s -> Identifiers.pg(s.schema(), s.table())).toList());
        boolean exists = !single(c, "SELECT count(*)::text FROM pg_publication WHERE pubname = '" + publication + "'").equals("0");
        if (!exists) {
            try {
                execute(c, "CREATE PUBLICATION " + Identifiers.pg(publication));
                LOG.info("Created publication {}", publication);
            } catch (SQLException e) {
                if (DUPLICATE_OBJECT.equals(e.getSQLState())) {
                    // another loader created it a moment ago
                    return ensurePublication(c, sources);
                }
                throw new ConfigurationException("PostgreSQL role may not create the publication " + publication + " ("
                        + e.getMessage() + "): run CREATE PUBLICATION " + Identifiers.pg(publication) + " FOR TABLE " + tableList
                        + "; as the tables' owner, or GRANT CREATE ON DATABASE to the loader's role.");
            }
        } else if (!single(c, "SELECT (pubinsert AND pubupdate AND pubdelete)::text FROM pg_publication WHERE pubname = '"
                + publication + "'").equals("true")) {
            throw new ConfigurationException("publication " + publication + " does not publish every insert, update and"
                    + " delete: run ALTER PUBLICATION " + Identifiers.pg(publication) + " SET (publish = 'insert, update, delete, truncate');");
        }
        List<String> added = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            SourceTable source = sources.get(i);
            boolean member;
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT 1 FROM pg_publication_tables WHERE pubname = ? AND schemaname = ? AND tablename = ?")) {
                ps.setString(1, publication);
                ps.setString(2, source.schema());
                ps.setString(3, source.table());
                try (ResultSet rs = ps.executeQuery()) {
                    member = rs.next();
                }
            }
            if (!member) {
                // marked first: killed between the two, the next start finds the table published and must still load it
                TargetTable target = TargetTable.inspect(clickHouse, clickHouseDatabase, specs.get(i).target());
                if (target.exists()) {
                    execute(clickHouse, TargetTable.commentSql(target.qualifiedName(), SNAPSHOT_COMMENT));
                }
                String sql = "ALTER PUBLICATION " + Identifiers.pg(publication) + " ADD TABLE " + Identifiers.pg(source.schema(), source.table());
                try {
                    execute(c, sql);
                } catch (SQLException e) {
                    // duplicate_object: another loader added it a moment ago; this one loads it too, as if it had
                    if (!DUPLICATE_OBJECT.equals(e.getSQLState())) {
                        throw new ConfigurationException("PostgreSQL role may not add " + source.qualifiedName() + " to publication "
                                + publication + " (" + e.getMessage() + "): run " + sql + "; as the owner of the publication and the table.");
                    }
                }
                LOG.info("Added {} to publication {}", source.qualifiedName(), publication);
                added.add(source.qualifiedName());
            }
        }
        return added;
    }

    /**
     * A transaction already running when a table joined the publication may have changed it before that and
     * commit after: those changes are not published, and a snapshot taken before its commit does not see them.
     * Such a transaction holds a write lock on the table until it ends; waiting until every transaction that
     * holds one now has ended (as CREATE INDEX CONCURRENTLY waits) closes that gap, whichever loader added the
     * table. Transactions that take the lock later wrote after the table joined, and are published in full;
     * long transactions elsewhere are not waited for. pg_locks shows every session's locks to every role.
     */
    private static void waitForWritersOf(Connection plain, List<CdcTable> load) throws SQLException {
        String relations = String.join(", ", load.stream().map(t -> "'" + Identifiers.pg(t.source.schema(), t.source.table())
                .replace("'", "''") + "'::regclass").toList());
        String holders = "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation' AND granted"
                + " AND mode <> 'AccessShareLock' AND pid <> pg_backend_pid() AND relation IN (" + relations + ")";
        Set<String> waiting = new HashSet<>(strings(plain, holders));
        long said = System.nanoTime();
        while (!waiting.isEmpty()) {
            if (System.nanoTime() - said > TimeUnit.SECONDS.toNanos(10)) {
                LOG.info("Waiting for {} transaction(s) that may have changed the table(s) to load before they were"
                        + " published to end", waiting.size());
                said = System.nanoTime();
            }
            sleep(100);
            waiting.retainAll(strings(plain, holders));
        }
    }

    private static List<String> strings(Connection c, String sql) throws SQLException {
        List<String> values = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getString(1));
            }
        }
        return values;
    }

    private static List<String> key(CdcTable.Spec spec, SourceTable source) {
        List<String> key = spec.primaryKey() == null || spec.primaryKey().isBlank()
                ? source.primaryKey()
                : Arrays.stream(spec.primaryKey().split(",")).map(String::strip).toList();
        if (key.isEmpty()) {
            throw new ConfigurationException(source.qualifiedName() + " has no primary key: set route " + spec.routeId()
                    + "'s parameter primaryKey to the column(s) that identify a row (comma-separated).");
        }
        for (String column : key) {
            PgColumn c = source.column(column).orElseThrow(() -> new ConfigurationException("primaryKey column " + column
                    + " does not exist in " + source.qualifiedName() + ": fix route " + spec.routeId() + "'s parameter primaryKey."));
            if (!c.notNull()) {
                throw new ConfigurationException("primaryKey column " + source.qualifiedName() + "." + column
                        + " allows NULL: a key must be NOT NULL.");
            }
        }
        return key;
    }

    /**
     * Loads what needs loading, then applies the slot's changes: with {@code once}, up to the WAL position
     * current when it started (then returns), else until {@link #stop}.
     */
    public void run(boolean once) throws SQLException {
        // createSlotAndLoad false: another loader created the slot a moment ago and loads under its snapshot;
        // this one goes on as with any existing slot (its stream stands by while the other holds the slot)
        if (slotConfirmedLsn() < 0 && createSlotAndLoad()) {
            toLoad.clear();
        }
        stream(once);
    }

    /**
     * Loads, once this stream holds the slot, every table whose target is marked (a table added to the routes,
     * a load killed halfway, a table a stream stopped), whichever loader marked it. Only the slot's holder
     * loads: a standby that loaded at its start, while the holder skipped a stopped table's changes, would
     * take over later from a position past changes its load predates, and lose them.
     *
     * <p>The version: (confirmed_flush_lsn, 0), the position this stream starts from. The slot sends exactly
     * the transactions whose commit record starts there or later, at versions (commit LSN, 1..): all above
     * the load's, so they win; every change it will not send again committed before, so its version is below
     * the load's, and the sweep removes what such a change left that PostgreSQL no longer has (docs/cdc.md,
     * reloads). A table that still does not fit its target stays stopped instead.
     */
    private void loadMarked(PGReplicationStream stream, Connection plain) throws SQLException {
        List<CdcTable> marked = new ArrayList<>();
        for (CdcTable table : tables.values()) {
            if (stopped(table)) {
                continue;
            }
            TargetTable target = TargetTable.inspect(clickHouse, clickHouseDatabase, table.spec.target());
            // a load or stop marker, written by this loader or another
            if (toLoad.contains(table) || target.comment().startsWith(SNAPSHOT_COMMENT) || target.comment().equals(STOPPED_COMMENT)) {
                try {
                    CdcTable fitted = fitted(table.spec, PostgresCatalog.describe(postgres, table.source.schema(),
                            table.source.table()), table.key, target);
                    tables.put(table.name(), fitted);
                    marked.add(fitted);
                } catch (SyncException e) {
                    stop(table, e.getMessage());
                }
            }
        }
        toLoad.clear();
        if (marked.isEmpty()) {
            return;
        }
        long from = slotConfirmedLsn();
        // the stream is not read while the tables load: status updates keep PostgreSQL from ending it
        // (wal_sender_timeout); they confirm nothing new
        Thread keepalive = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(5000);
                    stream.forceUpdateStatus();
                }
            } catch (InterruptedException | SQLException e) {
                // the load ended, or the stream did: the load's own outcome decides
            }
        }, "cdc-load-keepalive");
        keepalive.setDaemon(true);
        keepalive.start();
        try {
            // before the snapshot: it must see what such a transaction wrote
            waitForWritersOf(plain, marked);
            try (Connection c = postgres.getConnection()) {
                c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                load(c, marked, BigInteger.valueOf(from).shiftLeft(64));
            }
        } finally {
            keepalive.interrupt();
            try {
                keepalive.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Whether every table's changes were applied: false when the stream stopped one (the others went on). */
    public boolean everyTableApplied() {
        return status.stoppedRoutes().isEmpty();
    }

    /**
     * The slot's confirmed_flush_lsn, or -1 when the slot does not exist. A slot another loader is creating
     * shows without one until its snapshot is built (PostgreSQL waits for the transactions running then): this
     * waits for it, or for the slot to vanish (that loader gone; the slot was never made permanent).
     */
    private long slotConfirmedLsn() throws SQLException {
        boolean said = false;
        try (Connection c = connections.open(false)) {
            while (true) {
                try (PreparedStatement ps = c.prepareStatement("SELECT confirmed_flush_lsn::text, database = current_database(),"
                        + " plugin FROM pg_replication_slots WHERE slot_name = ?")) {
                    ps.setString(1, slot);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            return -1;
                        }
                        if (!rs.getBoolean(2) || !"pgoutput".equals(rs.getString(3))) {
                            throw new ConfigurationException("replication slot " + slot + " belongs to another database or"
                                    + " plugin: set CDC_SLOT to a name of this loader's own.");
                        }
                        if (rs.getString(1) != null) {
                            return LogSequenceNumber.valueOf(rs.getString(1)).asLong();
                        }
                    }
                }
                if (!said) {
                    LOG.info("Replication slot {} is being created by another session: waiting for it", slot);
                    said = true;
                }
                if (stopping) {
                    throw new SyncException("stopped while waiting for replication slot " + slot + " to be created");
                }
                sleep(200);
            }
        }
    }

    /**
     * Creates the slot with an exported snapshot and loads every table under it: the snapshot shows exactly
     * the transactions committed before the slot's consistent point, and the slot sends exactly those after,
     * so nothing is lost between the two and nothing is applied twice. The snapshot stays valid only until
     * the next command on the replication connection, so it is imported first, and that connection then
     * waits until the load is done. False when another loader created the slot first.
     */
    private boolean createSlotAndLoad() throws SQLException {
        try (Connection replication = connections.open(true); Connection c = postgres.getConnection()) {
            String snapshot;
            long consistentPoint;
            try (Statement st = replication.createStatement();
                 ResultSet rs = st.executeQuery("CREATE_REPLICATION_SLOT " + Identifiers.pg(slot)
                         + " LOGICAL pgoutput (SNAPSHOT 'export')")) {
                rs.next();
                consistentPoint = LogSequenceNumber.valueOf(rs.getString("consistent_point")).asLong();
                snapshot = rs.getString("snapshot_name");
            } catch (SQLException e) {
                if (DUPLICATE_OBJECT.equals(e.getSQLState())) {
                    LOG.info("Replication slot {} was created by another loader a moment ago", slot);
                    return false;
                }
                throw new ConfigurationException("cannot create replication slot " + slot + ": " + e.getMessage()
                        + " (raise max_replication_slots, or give the loader's role REPLICATION)");
            }
            LOG.info("Created replication slot {} at {}; loading {} table(s) under its snapshot", slot,
                    LogSequenceNumber.valueOf(consistentPoint), tables.size());
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement st = c.createStatement()) {
                st.execute("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
            }
            // every table: a target that holds rows of an older slot is swept of those the snapshot lacks
            load(c, tables.values().stream().filter(t -> !stopped(t)).toList(), BigInteger.valueOf(consistentPoint).shiftLeft(64));
        }
        return true;
    }

    /** Loads the tables through the sink in the connection's snapshot, each row at {@code version}, then sweeps what the snapshot lacks. */
    private void load(Connection c, List<CdcTable> load, BigInteger version) throws SQLException {
        try {
            for (CdcTable table : load) {
                try {
                    loadOne(c, table, version);
                } catch (SyncException e) {
                    // a value its target cannot take: this table stops, the others load and stream
                    stop(table, e.getMessage());
                } catch (SQLException e) {
                    if (!InsertRefusal.isRefusal(e)) {
                        throw e;
                    }
                    stop(table, refusal(e.getMessage()));
                }
            }
        } finally {
            c.rollback();
        }
    }

    /** One table of a load: marked while it runs (a killed load resumes or starts again), then swept. */
    private void loadOne(Connection c, CdcTable table, BigInteger version) throws SQLException {
        long started = System.nanoTime();
        String marker = SNAPSHOT_COMMENT + " at version " + version;
        Resume resume = resumePoint(table, marker, version);
        if (resume == null) {
            execute(clickHouse, TargetTable.commentSql(table.qualifiedTarget, marker));
        } else {
            LOG.info("{}: resuming the snapshot load after key ({}), {} rows loaded before", table.name(),
                    String.join(", ", resume.after().stream().map(String::valueOf).toList()), resume.loaded());
        }
        long rows = loadTable(c, table, version, resume) + (resume == null ? 0 : resume.loaded());
        sweep(table, rows, version);
        execute(clickHouse, TargetTable.commentSql(table.qualifiedTarget, ""));
        LOG.info("{}: snapshot loaded, {} rows in {} s", table.name(), rows,
                String.format("%.2f", (System.nanoTime() - started) / 1e9));
    }

    /**
     * Tombstones the keys the target holds from before the load that the snapshot lacked, unless that is more
     * than the table's delete guard allows: a loader pointed at the wrong database (whose table is empty, or
     * another one) would otherwise wipe the target with its first load. Held back, the keys stay until a
     * {@code --repair --force}; the rows the load wrote and every change after it are applied either way.
     */
    private void sweep(CdcTable table, long loaded, BigInteger version) throws SQLException {
        long swept;
        long held;
        try (Connection ch = clickHouse.getConnection(); Statement st = ch.createStatement();
             ResultSet rs = st.executeQuery("SELECT toString(countIf("
                + Identifiers.ch(TargetTable.VERSION_COLUMN) + " < toUInt128('" + version + "'))), toString(count()) FROM "
                + table.qualifiedTarget + " FINAL")) {
            rs.next();
            swept = Long.parseLong(rs.getString(1));
            held = Long.parseLong(rs.getString(2));
        }
        String refused = DeleteGuard.refusal(table.source.qualifiedName(), table.spec.routeId(), loaded, swept, held,
                table.spec.maxDeleteFraction());
        if (refused != null) {
            LOG.warn("{}: snapshot loaded, but {}", table.name(), refused);
            return;
        }
        execute(clickHouse, table.sweepSql(version));
    }

    /** Where a load killed halfway goes on: after the largest key it wrote, which {@code loaded} rows end. */
    private record Resume(List<Long> after, long loaded) {
    }

    /**
     * A load can go on where a killed one stopped when the target still carries that load's marker (same
     * version: the slot was not confirmed since, so it replays every change after the rows already written,
     * which are then as exact as the new ones) and the key is made of integers (PostgreSQL and ClickHouse
     * order them alike; the load reads in key order, so ClickHouse holds a prefix of it). Null: from the start.
     */
    private Resume resumePoint(CdcTable table, String marker, BigInteger version) throws SQLException {
        if (!table.hasIntegerKey()
                || !TargetTable.inspect(clickHouse, clickHouseDatabase, table.spec.target()).comment().equals(marker)) {
            return null;
        }
        String atVersion = " FROM " + table.qualifiedTarget + " WHERE " + Identifiers.ch(TargetTable.VERSION_COLUMN)
                + " = toUInt128('" + version + "')";
        String descending = String.join(", ", table.key.stream().map(k -> Identifiers.ch(k) + " DESC").toList());
        try (Connection ch = clickHouse.getConnection(); Statement st = ch.createStatement()) {
            List<Long> after = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT " + String.join(", ", table.key.stream().map(k -> "toString("
                    + Identifiers.ch(k) + ")").toList()) + atVersion + " ORDER BY " + descending + " LIMIT 1")) {
                if (!rs.next()) {
                    return null;
                }
                for (int k = 1; k <= table.key.size(); k++) {
                    after.add(Long.parseLong(rs.getString(k)));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT toString(count())" + atVersion)) {
                rs.next();
                return new Resume(after, Long.parseLong(rs.getString(1)));
            }
        }
    }

    /** Loads the table's rows in the connection's snapshot, in key order when that lets a killed load resume. */
    private long loadTable(Connection c, CdcTable table, BigInteger version, Resume resume) throws SQLException {
        if (!table.hasIntegerKey()) {
            return loadTable(c, table, version, "", null);
        }
        String keys = Identifiers.pgList(table.key);
        String order = " ORDER BY " + keys;
        if (resume == null) {
            return loadTable(c, table, version, order, null);
        }
        String placeholders = String.join(", ", table.key.stream().map(k -> "?").toList());
        return loadTable(c, table, version, " WHERE (" + keys + ") > (" + placeholders + ")" + order, ps -> {
            for (int k = 0; k < resume.after().size(); k++) {
                ps.setLong(k + 1, resume.after().get(k));
            }
        });
    }

    /**
     * Copies the rows of a CDC table that {@code where} selects (one array parameter), read in the connection's
     * snapshot, into its target at {@code version}: what {@code --repair} writes. The caller chooses a version
     * that sits between the changes it must override and the ones that must override it (docs/cdc.md).
     */
    public long copy(Connection snapshot, String routeId, String where, Array keys, BigInteger version) throws SQLException {
        CdcTable table = tables.values().stream().filter(t -> t.spec.routeId().equals(routeId)).findFirst().orElseThrow();
        return loadTable(snapshot, table, version, where, ps -> ps.setArray(1, keys));
    }

    /** @param parameters sets the parameters of {@code where}, if it has any (null: none) */
    private long loadTable(Connection c, CdcTable table, BigInteger version, String where, PreparedStatementSetter parameters)
            throws SQLException {
        String select = "SELECT " + Identifiers.pgList(table.source.columnNames()) + " FROM "
                + Identifiers.pg(table.source.schema(), table.source.table()) + where;
        RowMapper<?> mapper = new SourceRowMapperFactory(PgToClickHouse::readerFor).newColumnRowMapper();
        Counts counts = new Counts();
        StreamInsert insert = new StreamInsert(counts, table.rowLayout, table.spec.insertRows());
        StreamInsert.BatchWriter writer = insert.batchWriter();
        SourceRow.Shape shape = null;
        try (PreparedStatement ps = c.prepareStatement(select)) {
            ps.setFetchSize(10_000);
            if (parameters != null) {
                parameters.setValues(ps);
            }
            int n = 0;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    SourceRow row = (SourceRow) mapper.mapRow(rs, n++);
                    if (shape == null) {
                        List<SourceRow.Column> columns = new ArrayList<>(row.shape().columns());
                        columns.add(new SourceRow.Column(TargetTable.VERSION_COLUMN, new PgType("numeric", 0, 0), false, false));
                        columns.add(new SourceRow.Column(TargetTable.DELETED_COLUMN, new PgType("int2", 0, 0), false, false));
                        shape = new SourceRow.Shape(columns);
                    }
                    Object[] values = Arrays.copyOf(row.values(), row.values().length + 2);
                    values[values.length - 2] = version;
                    values[values.length - 1] = 0;
                    writer.add(new SourceRow(shape, values));
                    if (writer.rows() >= table.spec.batchSize()) {
                        inserts.insert(table.rowLayout.sql(), writer.finish(false));
                    }
                }
            }
            inserts.insert(table.rowLayout.sql(), writer.finish(true));
        } catch (SQLException | RuntimeException e) {
            insert.abandon();
            throw e;
        }
        return counts.shipped;
    }

    // ---------------------------------------------------------------------------------------------------
    // streaming

    private enum Kind { INSERT, UPDATE, DELETE }

    /** Changes read but not yet in ClickHouse, per table, encoded as they arrive. */
    private final class Pending {
        private final Map<CdcTable, StreamInsert.BatchWriter> rows = new HashMap<>();
        private final Map<CdcTable, StreamInsert.BatchWriter> tombstones = new HashMap<>();
        private final Map<CdcTable, StreamInsert> encoders = new HashMap<>();
        private final Map<CdcTable, long[]> kinds = new HashMap<>();
        private int count;
        /** Bytes encoded for the pending changes. */
        private long bytes;
        private long since;

        void counted(CdcTable table, Kind kind) {
            kinds.computeIfAbsent(table, t -> new long[Kind.values().length])[kind.ordinal()]++;
        }

        void row(CdcTable table, SourceRow row) {
            add(writer(rows, table, table.rowLayout), row);
        }

        void tombstone(CdcTable table, SourceRow row) {
            add(writer(tombstones, table, table.tombstoneLayout), row);
        }

        private void add(StreamInsert.BatchWriter writer, SourceRow row) {
            int before = writer.bytes();
            writer.add(row);
            bytes += writer.bytes() - before;
            if (count++ == 0) {
                since = System.nanoTime();
            }
        }

        private StreamInsert.BatchWriter writer(Map<CdcTable, StreamInsert.BatchWriter> writers, CdcTable table,
                                                RowBinaryInsert.Layout layout) {
            return writers.computeIfAbsent(table, t -> {
                StreamInsert insert = new StreamInsert(new Counts(), layout, Integer.MAX_VALUE);
                encoders.put(t, insert);
                return insert.batchWriter();
            });
        }

        /** Drops a route's changes not written yet: its table stopped, and is loaded again once it fits. */
        void discard(String routeId) {
            for (Map<CdcTable, StreamInsert.BatchWriter> writers : List.of(rows, tombstones)) {
                writers.keySet().removeIf(t -> t.spec.routeId().equals(routeId));
            }
            encoders.entrySet().removeIf(e -> {
                boolean drop = e.getKey().spec.routeId().equals(routeId);
                if (drop) {
                    e.getValue().abandon();
                }
                return drop;
            });
            kinds.keySet().removeIf(t -> t.spec.routeId().equals(routeId));
        }

        /** A batch's worth of changes, or of bytes (wide rows: batchSize of them could outgrow the heap), or a second's. */
        boolean due(int batchSize) {
            return count >= batchSize || bytes >= StreamInsert.MAX_BYTES
                    || (count > 0 && System.nanoTime() - since > TimeUnit.MILLISECONDS.toNanos(FLUSH_MS));
        }

        /** Every pending change into ClickHouse; returns only when each INSERT completed. */
        void flush() throws SQLException {
            if (count == 0) {
                return;
            }
            Map<CdcTable, String> refused = new LinkedHashMap<>();
            for (Map<CdcTable, StreamInsert.BatchWriter> writers : List.of(rows, tombstones)) {
                for (Map.Entry<CdcTable, StreamInsert.BatchWriter> e : writers.entrySet()) {
                    CdcTable table = e.getKey();
                    if (refused.keySet().stream().anyMatch(t -> t.spec.routeId().equals(table.spec.routeId()))) {
                        continue;
                    }
                    RowBinaryInsert.Layout layout = writers == rows ? table.rowLayout : table.tombstoneLayout;
                    try {
                        inserts.insert(layout.sql(), e.getValue().finish(true));
                    } catch (SQLException failure) {
                        if (!InsertRefusal.isRefusal(failure)) {
                            throw failure;
                        }
                        // the target was changed behind the loader's back: this table stops, the others go on
                        refused.put(table, failure.getMessage());
                    }
                }
            }
            for (Map.Entry<CdcTable, String> e : refused.entrySet()) {
                discard(e.getKey().spec.routeId());
                stop(e.getKey(), refusal(e.getValue()));
            }
            // counted as applied only now that ClickHouse holds them
            kinds.forEach((table, n) -> {
                status.applied(table.spec.routeId(), n[Kind.INSERT.ordinal()], n[Kind.UPDATE.ordinal()], n[Kind.DELETE.ordinal()]);
            });
            kinds.clear();
            rows.clear();
            tombstones.clear();
            encoders.clear();
            count = 0;
            bytes = 0;
        }
    }

    private void stream(boolean once) throws SQLException {
        int batchSize = tables.values().stream().mapToInt(t -> t.spec.batchSize()).min().orElse(5000);
        try (Connection plain = connections.open(false); Connection replication = connections.open(true)) {
            plain.setAutoCommit(true);
            long target = LogSequenceNumber.valueOf(single(plain, "SELECT pg_current_wal_lsn()::text")).asLong();
            // logical messages (the heartbeats) reach a pgoutput client only from PostgreSQL 14 on
            boolean messages = Integer.parseInt(single(plain, "SHOW server_version_num")) >= 140000;
            // pgoutput sends text in the walsender's settings: the forms TextValue parses, whatever the server's defaults
            for (String set : List.of("SET DateStyle = ISO", "SET TimeZone = 'UTC'", "SET bytea_output = hex",
                    "SET extra_float_digits = 3", "SET IntervalStyle = postgres")) {
                execute(replication, set);
            }
            ChainedLogicalStreamBuilder builder = replication.unwrap(PGConnection.class).getReplicationAPI()
                    .replicationStream().logical()
                    .withSlotName(slot)
                    .withSlotOption("proto_version", 1)
                    .withSlotOption("publication_names", publication)
                    .withStatusInterval(10, TimeUnit.SECONDS)
                    // a keepalive must never confirm what ClickHouse does not hold yet
                    .withAutomaticFlush(false);
            if (messages) {
                builder.withSlotOption("messages", true);
            }
            PGReplicationStream stream = builder.start();
            status.streaming(true);
            loadMarked(stream, plain);
            LOG.info("Streaming {} CDC table(s) from slot {}{}", tables.size(), slot,
                    once ? " up to " + LogSequenceNumber.valueOf(target) : "");
            // pgoutput's relation id -> the table as its changes are laid out; null: not applied
            Map<Integer, CdcTable> relations = new HashMap<>();
            Pending pending = new Pending();
            boolean inTransaction = false;
            long commitLsn = 0;
            long ordinal = 0;
            long lastCommitEnd = 0;
            Instant lastCommitTime = null;
            long applied = 0;
            long loggedApplied = 0;
            long lastLog = System.nanoTime();
            long lastArrival = System.nanoTime();
            long lastSlotRead = 0;
            long lastHeartbeat = System.nanoTime();
            Heartbeat heartbeat = null;
            while (true) {
                long now = System.nanoTime();
                if (now - lastLog > TimeUnit.SECONDS.toNanos(PROGRESS_SECONDS) && applied != loggedApplied) {
                    LOG.info("CDC: {} changes applied, slot {} confirmed at {}", applied, slot, LogSequenceNumber.valueOf(confirmed));
                    loggedApplied = applied;
                    lastLog = now;
                }
                if (now - lastSlotRead > TimeUnit.MILLISECONDS.toNanos(SLOT_READ_MS)) {
                    readSlot(plain);
                    lastSlotRead = now;
                }
                ByteBuffer buffer = stream.readPending();
                if (buffer == null) {
                    if (!inTransaction) {
                        pending.flush();
                        // between transactions with nothing pending, everything the server sent is applied: the
                        // position it last reported (a keepalive's) may be confirmed, so an idle table pins no WAL
                        confirm(stream, Math.max(lastCommitEnd, stream.getLastReceiveLSN().asLong()), null);
                        if (once && stream.getLastReceiveLSN().asLong() >= target) {
                            break;
                        }
                        long interval = TimeUnit.MILLISECONDS.toNanos(heartbeatMs);
                        if (messages && heartbeatsAllowed && heartbeatMs > 0 && now - lastArrival > interval
                                && now - lastHeartbeat > interval) {
                            lastHeartbeat = now;
                            try {
                                heartbeat = Heartbeat.emit(plain);
                            } catch (SQLException e) {
                                // the stream works without them (keepalives still move the slot); only the lag of an
                                // idle table is then unknown
                                heartbeatsAllowed = false;
                                LOG.warn("CDC heartbeats turned off: {} (grant the loader's role EXECUTE on"
                                        + " pg_logical_emit_message, or set CDC_HEARTBEAT_SECONDS=0)", e.getMessage());
                            }
                        }
                    } else if (pending.due(batchSize)) {
                        pending.flush();
                        confirm(stream, lastCommitEnd, lastCommitTime);
                    }
                    if (stopping) {
                        break;
                    }
                    sleep(10);
                    continue;
                }
                lastArrival = now;
                PgOutput.Message message = PgOutput.decode(buffer);
                if (message instanceof PgOutput.Begin begin) {
                    inTransaction = true;
                    commitLsn = begin.finalLsn();
                    ordinal = 0;
                } else if (message instanceof PgOutput.Commit commit) {
                    inTransaction = false;
                    lastCommitEnd = commit.endLsn();
                    lastCommitTime = commit.commitTime();
                    if (pending.due(batchSize)) {
                        pending.flush();
                        confirm(stream, lastCommitEnd, lastCommitTime);
                    }
                } else if (message instanceof PgOutput.LogicalMessage logical) {
                    if (!logical.transactional() && !inTransaction && HEARTBEAT_PREFIX.equals(logical.prefix())) {
                        // Every transaction that committed before the heartbeat was sent before it, and is now
                        // written first; one still open commits after it and is sent (and replayed) in full.
                        // So the heartbeat's own position is safe to confirm, and it moves the slot on while
                        // the published tables are idle and others fill the WAL.
                        pending.flush();
                        Instant upTo = heartbeat != null && logical.lsn() >= heartbeat.lsn ? heartbeat.at : null;
                        confirm(stream, Math.max(lastCommitEnd, logical.lsn()), upTo);
                        if (upTo != null) {
                            heartbeat = null;
                        }
                    }
                } else if (message instanceof PgOutput.Relation relation) {
                    relations.put(relation.id(), relation(plain, relation, relations.get(relation.id()), pending));
                } else if (message instanceof PgOutput.Insert || message instanceof PgOutput.Update
                        || message instanceof PgOutput.Delete) {
                    CdcTable table = relations.get(relationOf(message));
                    if (table != null && !stopped(table)) {
                        try {
                            ordinal = apply(pending, table, message, commitLsn, ordinal);
                            applied++;
                        } catch (SyncException e) {
                            // a value this table's target cannot take: it stops, the others go on
                            pending.discard(table.spec.routeId());
                            stop(table, e.getMessage());
                            relations.put(relationOf(message), null);
                        }
                    }
                } else if (message instanceof PgOutput.Truncate truncate) {
                    // what came before is written first; then every key the target holds gets a tombstone
                    pending.flush();
                    for (int id : truncate.relations()) {
                        CdcTable table = relations.get(id);
                        if (table != null && !stopped(table)) {
                            execute(clickHouse, table.sweepSql(version(commitLsn, ++ordinal)));
                            LOG.info("{}: TRUNCATE applied (every key tombstoned)", table.name());
                        }
                    }
                }
                if (inTransaction && pending.due(batchSize)) {
                    // a large transaction: written in parts, confirmed only once its commit is written
                    pending.flush();
                    confirm(stream, lastCommitEnd, lastCommitTime);
                }
            }
            pending.flush();
            confirm(stream, lastCommitEnd, lastCommitTime);
            readSlot(plain);
            LOG.info("CDC stream stopped at {} ({} changes applied)", LogSequenceNumber.valueOf(confirmed), applied);
            stream.close();
        } finally {
            status.streaming(false);
        }
    }

    /** A heartbeat written to the WAL: its position, and when it was written. */
    private record Heartbeat(long lsn, Instant at) {

        /** Non-transactional: decoded at once, whatever transactions are open, and it needs no commit. */
        static Heartbeat emit(Connection plain) throws SQLException {
            Instant at = Instant.now();
            String lsn = single(plain, "SELECT pg_logical_emit_message(false, '" + HEARTBEAT_PREFIX + "', 'heartbeat')::text");
            return new Heartbeat(LogSequenceNumber.valueOf(lsn).asLong(), at);
        }
    }

    /**
     * Reads the slot's position and the WAL it retains; above CDC_MAX_RETAINED_WAL_MB one WARN per crossing.
     */
    private void readSlot(Connection plain) throws SQLException {
        try (PreparedStatement ps = plain.prepareStatement("SELECT pg_current_wal_lsn()::text, confirmed_flush_lsn::text,"
                + " restart_lsn::text FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || rs.getString(2) == null || rs.getString(3) == null) {
                    return;
                }
                status.slotRead(LogSequenceNumber.valueOf(rs.getString(1)).asLong(), LogSequenceNumber.valueOf(rs.getString(2)).asLong(),
                        LogSequenceNumber.valueOf(rs.getString(3)).asLong());
            }
        }
        long retained = status.retainedWalBytes();
        if (retained > maxRetainedWalBytes && !overRetainedLimit) {
            LOG.warn("Replication slot {} retains {} MB of WAL, more than CDC_MAX_RETAINED_WAL_MB ({} MB): PostgreSQL keeps"
                    + " it on disk until the loader confirms it. Set max_slot_wal_keep_size on PostgreSQL so a stuck slot"
                    + " cannot fill the disk (docs/cdc.md)", slot, retained >> 20, maxRetainedWalBytes >> 20);
        } else if (retained <= maxRetainedWalBytes && overRetainedLimit) {
            LOG.info("Replication slot {} retains {} MB of WAL again, within CDC_MAX_RETAINED_WAL_MB", slot, retained >> 20);
        }
        overRetainedLimit = retained > maxRetainedWalBytes;
    }

    /** Whether retained WAL was above CDC_MAX_RETAINED_WAL_MB at the last reading. */
    public boolean retainedWalOverLimit() {
        return overRetainedLimit;
    }

    public long maxRetainedWalBytes() {
        return maxRetainedWalBytes;
    }

    /** A column an update left unchanged and PostgreSQL did not send ('u') takes its value from the old row. */
    private static void fillUnchangedToast(CdcTable table, Object[] values, Object[] old) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] == PgOutput.UNCHANGED_TOAST) {
                if (old == null || old[i] == PgOutput.UNCHANGED_TOAST) {
                    throw new SyncException(table.name() + ": an update left column " + table.source.columns().get(i).name()
                            + " unchanged and PostgreSQL did not send its TOASTed value; the table stops rather than write"
                            + " NULL: run ALTER TABLE " + Identifiers.pg(table.source.schema(), table.source.table())
                            + " REPLICA IDENTITY FULL; (docs/cdc.md, TOAST).");
                }
                values[i] = old[i];
            }
        }
    }

    /**
     * Sets the slot's flushed and applied position and tells the server; never past what ClickHouse holds.
     *
     * @param upTo every change committed before it is in ClickHouse once {@code lsn} is (null: unknown)
     */
    private void confirm(PGReplicationStream stream, long lsn, Instant upTo) throws SQLException {
        if (lsn <= confirmed) {
            if (lsn == confirmed && upTo != null) {
                status.confirmed(lsn, upTo);
            }
            return;
        }
        LogSequenceNumber position = LogSequenceNumber.valueOf(lsn);
        stream.setFlushedLSN(position);
        stream.setAppliedLSN(position);
        stream.forceUpdateStatus();
        confirmed = lsn;
        status.confirmed(lsn, upTo);
        LOG.debug("confirmed {}", position);
    }

    /**
     * A change's version: its transaction's commit LSN in the high 64 bits, its order within the transaction in
     * the low ones. Transactions are decoded in commit order and commit records are written in that order, so
     * versions grow with every change the slot sends; a snapshot's rows sit at (consistent point, 0), below all.
     */
    static BigInteger version(long commitLsn, long ordinal) {
        return BigInteger.valueOf(commitLsn).shiftLeft(64).or(BigInteger.valueOf(ordinal));
    }

    private static int relationOf(PgOutput.Message change) {
        if (change instanceof PgOutput.Insert insert) {
            return insert.relation();
        }
        if (change instanceof PgOutput.Update update) {
            return update.relation();
        }
        return ((PgOutput.Delete) change).relation();
    }

    /** Adds one insert, update or delete to the pending changes; returns the transaction's last ordinal. */
    private long apply(Pending pending, CdcTable table, PgOutput.Message change, long commitLsn, long ordinal) {
        if (change instanceof PgOutput.Insert insert) {
            pending.row(table, table.row(insert.values(), version(commitLsn, ++ordinal)));
            pending.counted(table, Kind.INSERT);
        } else if (change instanceof PgOutput.Update update) {
            Object[] values = update.values();
            Object[] old = update.old();
            fillUnchangedToast(table, values, old);
            if (old != null && !table.sameKey(old, values)) {
                // the key changed: the old key is gone, the new one present
                pending.tombstone(table, table.tombstone(old, version(commitLsn, ++ordinal)));
            }
            pending.row(table, table.row(values, version(commitLsn, ++ordinal)));
            pending.counted(table, Kind.UPDATE);
        } else {
            pending.tombstone(table, table.tombstone(((PgOutput.Delete) change).old(), version(commitLsn, ++ordinal)));
            pending.counted(table, Kind.DELETE);
        }
        return ordinal;
    }

    /**
     * The table a relation message describes, laid out as the message says: pgoutput sends one before a
     * relation's first change in a stream and again after each change of its definition, with the columns
     * and types the WAL had then (today's catalog may be further on). A shape new to the stream alters the
     * target to fit ({@link #fitted}); one that no longer fits stops the table. Null: the stream does not
     * apply this relation's changes (another table of the publication, a route removed, a stopped table).
     */
    private CdcTable relation(Connection plain, PgOutput.Relation relation, CdcTable previous, Pending pending) throws SQLException {
        CdcTable base = tables.get(relation.schema() + "." + relation.name());
        if (base == null || stopped(base)) {
            return null;
        }
        CdcTable current = previous == null ? base : previous;
        try {
            List<PgColumn> columns = new ArrayList<>();
            for (PgOutput.Column column : relation.columns()) {
                boolean notNull = base.source.column(column.name()).map(PgColumn::notNull).orElse(false);
                columns.add(new PgColumn(column.name(), PostgresCatalog.type(plain, column.typeOid(), column.typeMod()), notNull));
            }
            if (columns.equals(current.source.columns())) {
                return current;
            }
            SourceTable shape = new SourceTable(base.source.schema(), base.source.table(), List.copyOf(columns),
                    base.source.primaryKey(), base.source.indexLeadingColumns());
            for (String column : base.key) {
                if (shape.column(column).isEmpty()) {
                    throw new SyncException("PostgreSQL dropped key column " + column + ": give route " + base.spec.routeId()
                            + " a primaryKey it still has, and drop the target to have it loaded again.");
                }
            }
            LOG.info("{}: PostgreSQL's columns are now ({})", base.name(), String.join(", ", shape.columnNames()));
            return fitted(base.spec, shape, base.key, TargetTable.inspect(clickHouse, clickHouseDatabase, base.spec.target()));
        } catch (SyncException e) {
            pending.discard(base.spec.routeId());
            stop(base, e.getMessage());
            return null;
        }
    }

    // ---------------------------------------------------------------------------------------------------

    private static final class Counts implements RowCounts {
        long shipped;

        @Override
        public Count newCount() {
            return new Tally();
        }

        @Override
        public void shipped(Count rows) {
            shipped += rows.rows();
        }

        private static final class Tally implements Count {
            long rows;

            @Override
            public void count(SourceRow row) {
                rows++;
            }

            @Override
            public void batch() {
            }

            @Override
            public void add(Count later) {
                rows += later.rows();
            }

            @Override
            public Count copy() {
                Tally t = new Tally();
                t.rows = rows;
                return t;
            }

            @Override
            public long rows() {
                return rows;
            }
        }
    }

    private static String single(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static void execute(DataSource dataSource, String sql) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            execute(c, sql);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SyncException("interrupted", e);
        }
    }
}
