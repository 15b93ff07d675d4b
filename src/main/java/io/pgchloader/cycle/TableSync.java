package io.pgchloader.cycle;

import io.pgchloader.clickhouse.ClickHouseCluster;
import io.pgchloader.clickhouse.PgToClickHouse;
import io.pgchloader.clickhouse.RowBinaryInsert;
import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.common.CronSchedule;
import io.pgchloader.common.Identifiers;
import io.pgchloader.common.LogText;
import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.PgColumn;
import io.pgchloader.postgres.PostgresCatalog;
import io.pgchloader.postgres.SourceTable;
import io.pgchloader.postgres.StreamWindow;
import io.pgchloader.postgres.WriteHorizon;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One synced table: the route template's parameters, and the steps of its cycle that need Java
 * (catalog, watermark, the cycle's log line). Created once per templatedRoute as the template's local
 * bean {@code tableSync}.
 */
public class TableSync implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.sync");

    /** An open transaction this old is worth a warning: it holds back every table of the database. */
    private static final long HORIZON_LAG_WARNING_SECONDS = 300;

    /**
     * An idle table (a cycle that shipped nothing new and changed nothing) says so at INFO at most this
     * often; its other idle cycles log at DEBUG. The metrics and JMX still count every cycle.
     */
    static final Duration IDLE_LINE_EVERY = Duration.ofMinutes(5);

    private CamelContext camelContext;
    /** Created and updated watermarks of the last cycle, in microseconds (see rememberWatermarks). */
    private volatile Long[] lastWatermarks = {null, null};
    private long idleLineNanos;
    private long idleCycles;
    private boolean toldAboutHiddenActivity;
    private String warnedAssumed = "";
    private String schema = "public";
    private String table;
    private String targetTable;
    private String primaryKey = "";
    private String createdColumn = "created_at";
    private String updatedColumn = "updated_at";
    private int batchSize = 5000;
    private int insertRows = 100_000;
    private int backfillChunkRows = 1_000_000;
    private int backfillParallelism = 1;
    private String softDeleteColumn = "";
    private String reconcileCron = "";
    private double maxDeleteFraction = 0.05;
    /** When this table was last reconciled (or the loader started): reconcileCron counts from here. */
    private volatile Instant reconciledAt = Instant.now();

    /**
     * The exchange variable {@code --repair} sets on the cycles it runs: {@link #REPAIR} reconciles now,
     * {@link #REPAIR_FORCED} also past the {@code maxDeleteFraction} guard.
     */
    public static final String REPAIR_REQUEST = "repairRequest";
    public static final String REPAIR = "repair";
    public static final String REPAIR_FORCED = "force";

    /**
     * What both catalogs say about the table, checked the way every cycle checks it and without writing
     * anywhere: the source and its key and timestamp columns, the target (when it exists: its engine,
     * sorting key, whether its columns hold the source's values and whether it can hold deletes when
     * softDeleteColumn asks for them), and the DDL that makes an existing target fit (columns PostgreSQL
     * gained or dropped, the deleted column's default).
     *
     * @throws SyncException naming what is wrong and how to fix it
     */
    public Shape describe() throws SQLException {
        SyncEnvironment env = environment();
        SourceTable source = PostgresCatalog.describe(env.postgres(), schema, table);
        List<String> key = key(source);
        checkTimestampColumns(source);
        String target = targetTable();
        String targetName = Identifiers.ch(env.clickHouseDatabase(), target);
        String deleted = TargetTable.deletedExpression(source, softDeleteColumn);
        TargetTable existing = TargetTable.inspect(env.clickHouse(), env.clickHouseDatabase(), target, env.cluster());
        List<String> fit = new ArrayList<>();
        if (existing.shardTablesMissing() && existing.exists()) {
            // a shard added to the cluster, or a host a failed cycle did not reach: IF NOT EXISTS leaves the others be
            fit.addAll(clusterCreateSql(source, key, deleted, null, env));
        }
        if (existing.exists()) {
            existing.checkShardingKey(key);
        }
        if (existing.exists() && existing.shardsKnown()) {
            existing.checkSortingKey(source, key);
            fit.addAll(existing.alterToFit(source));
            if (existing.holdsDeletes()) {
                fit.addAll(existing.alterDeletedDefault(deleted));
                fit.addAll(existing.addWatermarkIndexes(createdColumn, updatedColumn));
            } else if (!softDeleteColumn.isBlank()) {
                throw new SyncException("ClickHouse table " + targetName + " cannot hold deletes (it was created before the"
                        + " loader kept them: ENGINE ReplacingMergeTree(" + TargetTable.VERSION_COLUMN + ")), but the route"
                        + " sets softDeleteColumn " + softDeleteColumn + ". Run: "
                        + String.join("; ", migration(source, key, deleted, existing.comment(), env)) + " (or leave softDeleteColumn empty).");
            }
        } else if (!existing.exists() && source.column(TargetTable.VERSION_COLUMN).isPresent()) {
            throw new SyncException(source.qualifiedName() + " has a column named " + TargetTable.VERSION_COLUMN
                    + ", which the loader reserves for the ReplacingMergeTree version: create the ClickHouse table yourself (see README).");
        }
        return new Shape(source, key, existing, targetName, deleted, List.copyOf(fit), KeyBackfill.suits(source, key));
    }

    /**
     * A table as the catalogs show it.
     *
     * @param deleted    the expression that marks a row deleted in the target (see TargetTable.deletedExpression)
     * @param fitDdl     for an existing target, what makes it fit the source (usually nothing)
     * @param keyOrdered whether an empty target is backfilled in key order, chunk by chunk (integer keys)
     */
    public record Shape(SourceTable source, List<String> key, TargetTable target, String targetName, String deleted,
                        List<String> fitDdl, boolean keyOrdered) {
    }

    /** Starts a cycle: describes source and target and puts the {@link SyncCycle} in variable {@code cycle}. */
    public void beginCycle(Exchange exchange) throws SQLException {
        SyncEnvironment env = environment();
        Shape shape = describe();
        SourceTable source = shape.source();
        List<String> key = shape.key();
        String target = targetTable();
        String targetName = shape.targetName();
        String deleted = shape.deleted();
        TargetTable existing = shape.target();
        WriteHorizon horizon = env.openTransactions().horizon();
        reportHorizon(source, horizon, env);
        long[] future = futureRows(source, horizon, env);
        boolean byKey = shape.keyOrdered();
        if (!byKey && backfillParallelism > 1 && (!existing.exists() || existing.isEmpty())) {
            LOG.info("{}: backfillParallelism {} applies to a backfill in key order only (integer key columns); the key {}"
                    + " is not, so this table backfills through its streams, one at a time", source.qualifiedName(),
                    backfillParallelism, LogText.escape(key.toString()));
        }
        List<String> ddl = new ArrayList<>();
        // on every host of a cluster, before this host's statements (the comment) run in the route
        List<String> clusterDdl = new ArrayList<>();
        KeyBackfill backfill = null;
        WatermarkLimits limits = WatermarkLimits.NONE;
        if (existing.exists()) {
            limits = WatermarkLimits.in(existing.comment());
            (env.cluster() == null ? ddl : clusterDdl).addAll(shape.fitDdl());
            for (String statement : shape.fitDdl()) {
                String index = statement.contains(" ADD INDEX " + TargetTable.VERSION_INDEX + " ") ? TargetTable.VERSION_INDEX
                        : statement.contains(" ADD INDEX " + TargetTable.CREATED_INDEX + " ") ? TargetTable.CREATED_INDEX : null;
                if (index != null) {
                    LOG.info("{}: {} gets an index that keeps the watermark query flat: {} (parts written before get it as"
                            + " they merge; to build it at once: ALTER TABLE {} MATERIALIZE INDEX {})", source.qualifiedName(),
                            targetName, LogText.escape(statement), targetName, index);
                } else {
                    // new columns get added; columns PostgreSQL dropped become Nullable (see TargetTable); on a cluster,
                    // a shard that lacks its table gets it
                    LOG.info("{}: {}: {}", source.qualifiedName(), statement.startsWith("CREATE ") ? "a shard lacks its table"
                            : "the columns changed in PostgreSQL", LogText.escape(statement));
                }
            }
            Optional<Instant> unfinished = KeyBackfill.horizonIn(existing.comment());
            if (unfinished.isPresent()) {
                if (!byKey) {
                    // the streams would take the largest timestamps of a key range for how far the table is
                    throw new SyncException("ClickHouse table " + targetName + " holds an unfinished backfill in key order,"
                            + " but the key " + key + " is not integer columns any more: set primaryKey back, or drop the"
                            + " ClickHouse table to backfill it again.");
                }
                backfill = keyBackfill(source, key, unfinished.get(), KeyBackfill.cutsIn(existing.comment()), env);
                LOG.info("{}: resuming the backfill in key order where ClickHouse stopped (rows older than {}{})",
                        source.qualifiedName(), unfinished.get(), backfill.ranges().size() == 1 ? ""
                                : "; in the " + backfill.ranges().size() + " key ranges it began with, up to "
                                + backfillParallelism + " at once");
            } else if (byKey && existing.isEmpty() && WatermarkLimits.userText(existing.comment()).isEmpty()) {
                backfill = keyBackfill(source, key, horizon.bound(), cuts(source, key, env), env);
                // the comment says so now; limits a truncated target kept mean nothing any more
                ddl.add(TargetTable.commentSql(targetName, backfill.comment()));
                limits = WatermarkLimits.NONE;
            }
        } else {
            if (byKey) {
                backfill = keyBackfill(source, key, horizon.bound(), cuts(source, key, env), env);
            }
            String comment = backfill == null ? null : backfill.comment();
            if (env.cluster() == null) {
                ddl.add(TargetTable.createSql(env.clickHouseDatabase(), target, source, key, createdColumn, updatedColumn, deleted,
                        comment));
            } else {
                clusterDdl.addAll(clusterCreateSql(source, key, deleted, comment, env));
            }
            LOG.info("{}: creating ClickHouse table {} from the PostgreSQL catalog", source.qualifiedName(), targetName);
        }
        if (env.cluster() != null) {
            env.cluster().run(clusterDdl);
        }
        RowBinaryInsert.Layout insert = RowBinaryInsert.Layout.of(targetName, source.columnNames(), existing.insertTypes(source));
        SyncCycle cycle = new SyncCycle(this, source, key, horizon, env, targetName, ddl, insert,
                existing.exists() ? existing.comment() : "", limits);
        cycle.useKeyBackfill(backfill);
        cycle.futureRows(future[0], future[1]);
        Long[] marks = lastWatermarks;
        if (existing.exists()) {
            cycle.readWatermarkAbove(marks[0], marks[1], existing.prunesByVersion(createdColumn, updatedColumn));
        }
        String repair = exchange.getVariable(REPAIR_REQUEST, String.class);
        // a target being backfilled (or just created) has nothing to reconcile yet: it waits for the next time
        if (existing.exists() && backfill == null && (repair != null || reconcileDue())) {
            cycle.useReconciliation(new Reconciler.Request(exchange.getFromRouteId(), schema, table, target, key, createdColumn,
                    updatedColumn, softDeleteColumn, maxDeleteFraction, REPAIR_FORCED.equals(repair),
                    existing.holdsDeletes(), existing.holdsDeletes() ? List.of() : migration(source, key, deleted, existing.comment(), env)));
        }
        exchange.setVariable("cycle", cycle);
    }

    /** The shard tables and the Distributed target over them (IF NOT EXISTS: what a host has stays). */
    private List<String> clusterCreateSql(SourceTable source, List<String> key, String deleted, String comment,
                                          SyncEnvironment env) throws SQLException {
        ClickHouseCluster cluster = env.cluster();
        return cluster.createSql(env.clickHouseDatabase(), targetTable(), source, key, createdColumn, updatedColumn, deleted,
                comment, cluster.replicated());
    }

    private List<String> migration(SourceTable source, List<String> key, String deleted, String comment, SyncEnvironment env) {
        return TargetTable.migrationToDeletes(env.clickHouseDatabase(), targetTable(), source, key, createdColumn, updatedColumn,
                deleted, comment);
    }

    /** Whether reconcileCron fired since the last reconciliation (never when it is empty). */
    private boolean reconcileDue() {
        Optional<Instant> next = nextReconciliation();
        return next.isPresent() && !next.get().isAfter(Instant.now());
    }

    /**
     * When reconcileCron next fires after the last reconciliation (or the start of this process): the first
     * cycle from then on reconciles. Empty when reconcileCron is empty or never fires again.
     */
    public Optional<Instant> nextReconciliation() {
        if (reconcileCron.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(CronSchedule.parse(reconcileCron).nextFireAfter(reconciledAt));
        } catch (IllegalArgumentException e) {
            throw new SyncException("reconcileCron " + reconcileCron + " is no schedule (" + e.getMessage()
                    + "): fix the templatedRoute parameter, for example \"15 3 * * *\" for 03:15 every night.");
        }
    }

    /**
     * The reconciliation step: compares the table by key ranges, tombstones keys PostgreSQL no longer has
     * and leaves the rows to copy again to the repair stream (see {@link Reconciler}).
     */
    public void reconcile(Exchange exchange) throws SQLException {
        SyncCycle cycle = cycle(exchange);
        Reconciler reconciler = camelContext.getRegistry().findSingleByType(Reconciler.class);
        if (reconciler == null) {
            throw new IllegalStateException("no Reconciler in the registry");
        }
        cycle.reconciled(reconciler.reconcile(cycle.reconciliation()));
        reconciledAt = Instant.now();
    }

    private KeyBackfill keyBackfill(SourceTable source, List<String> key, Instant horizon, List<Long> cuts, SyncEnvironment env) {
        return new KeyBackfill(source, key, horizon, backfillChunkRows, createdColumn, updatedColumn, env.timestampZone(), cuts);
    }

    /** Where a new backfill cuts the key space into backfillParallelism ranges (none for one). */
    private List<Long> cuts(SourceTable source, List<String> key, SyncEnvironment env) throws SQLException {
        List<Long> cuts = KeyBackfill.cuts(env.postgres(), source, key, backfillParallelism);
        if (backfillParallelism > 1) {
            LOG.info("{}: backfilling in {} key range(s) of {}, up to {} at once{}", source.qualifiedName(), cuts.size() + 1,
                    LogText.escape(key.get(0)), backfillParallelism, cuts.isEmpty() ? " (too few keys to cut)"
                            : ", cut at " + cuts.stream().map(String::valueOf).collect(Collectors.joining(", ")));
        }
        return cuts;
    }

    /**
     * Counts the rows stamped in the future, per stream (created, updated): the streams copy them in this
     * cycle, but such a timestamp hides every later change stamped before it, so it must never be silent.
     */
    private long[] futureRows(SourceTable source, WriteHorizon horizon, SyncEnvironment env) throws SQLException {
        Instant soon = horizon.now().plus(SyncCycle.FUTURE_TOLERANCE);
        String created = Identifiers.pg(createdColumn);
        String updated = Identifiers.pg(updatedColumn);
        String table = Identifiers.pg(source.schema(), source.table());
        try (Connection connection = env.postgres().getConnection();
             PreparedStatement ps = connection.prepareStatement("SELECT (SELECT count(*) FROM " + table + " WHERE " + updated
                     + " IS NULL AND " + created + " > ?), (SELECT count(*) FROM " + table + " WHERE " + updated + " > ?)")) {
            try {
                ps.setObject(1, StreamWindow.future(source.column(createdColumn).orElseThrow().type(), soon, env.timestampZone()));
                ps.setObject(2, StreamWindow.future(source.column(updatedColumn).orElseThrow().type(), soon, env.timestampZone()));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    long[] future = {rs.getLong(1), rs.getLong(2)};
                    if (future[0] + future[1] > 0) {
                        LOG.warn("{}: {} row(s) have {} or {} in the future; they are copied now, but the watermarks stay"
                                        + " at the write horizon, and ClickHouse keeps such a version over any later change"
                                        + " stamped before it. Timestamps must come from the database clock (now(), a trigger).",
                                source.qualifiedName(), future[0] + future[1], createdColumn, updatedColumn);
                    }
                    return future;
                }
            } finally {
                connection.rollback();
            }
        }
    }

    /** Says why rows may be held back, or re-read, so a lagging table is never a mystery. */
    private void reportHorizon(SourceTable source, WriteHorizon horizon, SyncEnvironment env) {
        if (!horizon.seesAll() && !toldAboutHiddenActivity) {
            toldAboutHiddenActivity = true;
            LOG.info("{}: the loader's role cannot see when other roles' transactions began (no pg_read_all_stats);"
                    + " it times them by watching which transactions are open, which holds rows back a little longer."
                    + " Grant pg_read_all_stats to the loader's role for exact start times.", source.qualifiedName());
        }
        String assumed = String.join(", ", horizon.assumed());
        if (!horizon.complete() && !assumed.equals(warnedAssumed)) {
            LOG.warn("{}: the transaction(s) of {} were open before the loader could see when they began (their activity"
                            + " is hidden: no pg_read_all_stats, or track_activities off); assuming they began at most"
                            + " SYNC_LOOKBACK_SECONDS ({} s) before, rows written since {} wait until they end. A longer"
                            + " transaction would lose rows: grant pg_read_all_stats and keep track_activities on.",
                    source.qualifiedName(), assumed, env.lookback().toSeconds(), horizon.bound());
        }
        warnedAssumed = assumed;
        if (horizon.lagSeconds() >= HORIZON_LAG_WARNING_SECONDS) {
            LOG.warn("{}: rows written after {} are held back until the transaction of {} ends (open for {} s)",
                    source.qualifiedName(), horizon.bound(), horizon.holder(), horizon.lagSeconds());
        }
    }

    private List<String> key(SourceTable source) {
        List<String> key = primaryKey == null || primaryKey.isBlank()
                ? source.primaryKey()
                : Arrays.stream(primaryKey.split(",")).map(String::strip).toList();
        if (key.isEmpty()) {
            throw new SyncException(source.qualifiedName() + " has no primary key: set the templatedRoute parameter"
                    + " primaryKey to the column(s) that identify a row (comma-separated).");
        }
        for (String column : key) {
            PgColumn c = source.column(column).orElseThrow(() -> new SyncException("primaryKey column " + column
                    + " does not exist in " + source.qualifiedName() + ": fix the templatedRoute parameter primaryKey."));
            if (!c.notNull()) {
                throw new SyncException("primaryKey column " + source.qualifiedName() + "." + column
                        + " allows NULL: a key must be NOT NULL (make it so, or pick other key columns).");
            }
        }
        return key;
    }

    /**
     * Said at start (the start-up checks), escaped for the log: without an index starting with each stream's column, every
     * cycle reads the whole table, which is correct but slow and grows with the table.
     */
    public List<String> missingIndexes(SourceTable source) {
        String table = Identifiers.pg(source.schema(), source.table());
        List<String> lines = new ArrayList<>();
        if (!source.indexLeadingColumns().contains(createdColumn)) {
            lines.add(LogText.escape(source.qualifiedName() + ": no index starts with " + createdColumn + ", so the created stream"
                    + " scans the whole table every cycle; create one: CREATE INDEX ON " + table + " (" + Identifiers.pg(createdColumn)
                    + ") WHERE " + Identifiers.pg(updatedColumn) + " IS NULL;"));
        }
        if (!source.indexLeadingColumns().contains(updatedColumn)) {
            lines.add(LogText.escape(source.qualifiedName() + ": no index starts with " + updatedColumn + ", so the updated stream"
                    + " scans the whole table every cycle; create one: CREATE INDEX ON " + table + " (" + Identifiers.pg(updatedColumn) + ");"));
        }
        return lines;
    }

    private void checkTimestampColumns(SourceTable source) {
        for (String name : List.of(createdColumn, updatedColumn)) {
            PgColumn c = source.column(name).orElseThrow(() -> new SyncException(source.qualifiedName()
                    + " has no column " + name + ": set the templatedRoute parameters createdColumn and updatedColumn."));
            if (!PgToClickHouse.isTimestamp(c.type())) {
                throw new SyncException(source.qualifiedName() + "." + name + " is of type " + c.type().name()
                        + ", but the watermark columns must be timestamp or timestamptz.");
            }
        }
        if (!source.column(createdColumn).orElseThrow().notNull()) {
            // a row with neither timestamp would match no stream and never arrive
            throw new SyncException(source.qualifiedName() + "." + createdColumn + " allows NULL, so rows without"
                    + " it could never be synced: make it NOT NULL or choose another createdColumn.");
        }
    }

    public void acceptBackfillPosition(Exchange exchange) throws SQLException {
        SyncCycle cycle = cycle(exchange);
        cycle.acceptBackfillPosition(exchange.getMessage().getBody());
        KeyRange range = cycle.getKeyRange();
        if (range.firstChunk() && range.after() != null) {
            LOG.info("{}: ClickHouse holds the backfill{} up to key {}; going on from there", cycle.tableName(),
                    range.describe().isEmpty() ? "" : " of key range " + range.describe(), range.after());
        }
    }

    public void backfillChunkDone(Exchange exchange) {
        cycle(exchange).backfillChunkDone();
    }

    /**
     * The watermarks the last cycle found, in microseconds, where the next one starts looking: ClickHouse
     * holds rows at them, and only a removal in ClickHouse can take those away (then the next cycle finds
     * nothing there and reads the whole target). Kept in memory: a restarted loader reads the whole target
     * once.
     */
    void rememberWatermarks(Long created, Long updated) {
        lastWatermarks = new Long[] {created, updated};
    }

    public void acceptWatermark(Exchange exchange) {
        cycle(exchange).acceptWatermark(exchange.getMessage().getBody());
    }

    public void endCycle(Exchange exchange) {
        SyncCycle cycle = cycle(exchange);
        cycle.close();
        logSummary(cycle);
        environment().status().record(new SyncStatus.Outcome(exchange.getFromRouteId(), true, cycle.summary(),
                cycle.rowsCreated(), cycle.rowsUpdated(), cycle.batches(), Instant.now()));
        observe(exchange, true, cycle);
    }

    /** INFO when rows moved, the target changed or the table was reconciled; an idle cycle at DEBUG, but at INFO every {@link #IDLE_LINE_EVERY}. */
    private void logSummary(SyncCycle cycle) {
        boolean moved = cycle.rowsCreated() + cycle.rowsUpdated() > 0 || !cycle.getTargetDdl().isEmpty()
                || cycle.getKeyBackfill() != null || cycle.getReconciled() != null;
        if (moved) {
            LOG.info(cycle.summary());
            return;
        }
        idleCycles++;
        long now = System.nanoTime();
        if (idleLineNanos == 0 || now - idleLineNanos >= IDLE_LINE_EVERY.toNanos()) {
            LOG.info("{} (idle{}; idle cycles log at DEBUG, and at INFO every {} min)", cycle.summary(),
                    idleCycles > 1 ? ", nothing new in " + idleCycles + " cycles" : "", IDLE_LINE_EVERY.toMinutes());
            idleLineNanos = now;
            idleCycles = 0;
        } else {
            LOG.debug(cycle.summary());
        }
    }

    /** Logs a failed cycle in one line; the scheduler carries on and the next cycle resumes from ClickHouse. */
    public void failCycle(Exchange exchange) {
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        SyncCycle cycle = exchange.getVariable("cycle", SyncCycle.class);
        if (cycle != null) {
            cycle.close();
        }
        String message = LogText.escape(schema + "." + table) + ": cycle failed"
                + (cycle == null ? "" : String.format(" after %.2f s (%d created, %d updated rows shipped)",
                cycle.seconds(), cycle.rowsCreated(), cycle.rowsUpdated()))
                + ": " + describe(error);
        LOG.error(message);
        environment().status().record(new SyncStatus.Outcome(exchange.getFromRouteId(), false, message,
                cycle == null ? 0 : cycle.rowsCreated(), cycle == null ? 0 : cycle.rowsUpdated(),
                cycle == null ? 0 : cycle.batches(), Instant.now()));
        observe(exchange, false, cycle);
    }

    /** Tells every {@link CycleObserver} in the registry (metrics) how the cycle ended; never fails the cycle. */
    private void observe(Exchange exchange, boolean succeeded, SyncCycle cycle) {
        Duration took = Duration.ofMillis(exchange.getClock().elapsed());
        for (CycleObserver observer : camelContext.getRegistry().findByType(CycleObserver.class)) {
            try {
                observer.cycleEnded(exchange.getFromRouteId(), schema + "." + table, succeeded, took, cycle);
            } catch (RuntimeException e) {
                LOG.warn("{}: {} failed: {}", LogText.escape(schema + "." + table), observer.getClass().getSimpleName(),
                        LogText.escape(e.toString()));
            }
        }
    }

    /** The most telling message in a cause chain: ours if there is one, else the deepest. */
    static String describe(Throwable error) {
        Throwable deepest = error;
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof SyncException) {
                return LogText.escape(t.getMessage());
            }
            deepest = t;
        }
        // database messages quote names, which may hold line breaks
        return deepest == null ? "unknown error" : deepest.getClass().getSimpleName() + ": " + LogText.escape(deepest.getMessage());
    }

    private static SyncCycle cycle(Exchange exchange) {
        return exchange.getVariable("cycle", SyncCycle.class);
    }

    SyncEnvironment environment() {
        return camelContext.getRegistry().findSingleByType(SyncEnvironment.class);
    }

    String targetName() {
        return targetTable();
    }

    private String targetTable() {
        return targetTable == null || targetTable.isBlank() ? table : targetTable;
    }

    /**
     * A table set up as its route's bean is, from the route's template parameters (which hold the
     * template's defaults too): for the checks and the plan made outside a cycle.
     */
    public static TableSync of(CamelContext context, Map<String, Object> parameters) {
        TableSync sync = new TableSync();
        sync.setCamelContext(context);
        sync.setSchema(text(parameters, "schema", sync.schema));
        sync.setTable(text(parameters, "table", null));
        sync.setTargetTable(text(parameters, "targetTable", ""));
        sync.setPrimaryKey(text(parameters, "primaryKey", ""));
        sync.setCreatedColumn(text(parameters, "createdColumn", sync.createdColumn));
        sync.setUpdatedColumn(text(parameters, "updatedColumn", sync.updatedColumn));
        sync.setBatchSize(Integer.parseInt(text(parameters, "batchSize", Integer.toString(sync.batchSize))));
        sync.setInsertRows(Integer.parseInt(text(parameters, "insertRows", Integer.toString(sync.insertRows))));
        sync.setBackfillChunkRows(Integer.parseInt(text(parameters, "backfillChunkRows", Integer.toString(sync.backfillChunkRows))));
        sync.setBackfillParallelism(Integer.parseInt(text(parameters, "backfillParallelism", Integer.toString(sync.backfillParallelism))));
        sync.setSoftDeleteColumn(text(parameters, "softDeleteColumn", ""));
        sync.setReconcileCron(text(parameters, "reconcileCron", ""));
        sync.setMaxDeleteFraction(Double.parseDouble(text(parameters, "maxDeleteFraction", Double.toString(sync.maxDeleteFraction))));
        return sync;
    }

    private static String text(Map<String, Object> parameters, String name, String fallback) {
        Object value = parameters.get(name);
        return value == null ? fallback : value.toString();
    }

    /** schema.table as PostgreSQL names it (unquoted), for messages. */
    public String sourceName() {
        return schema + "." + table;
    }

    public int getBackfillChunkRows() {
        return backfillChunkRows;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    public void setSchema(String schema) {
        this.schema = schema;
    }

    public void setTable(String table) {
        this.table = table;
    }

    public void setTargetTable(String targetTable) {
        this.targetTable = targetTable;
    }

    public void setPrimaryKey(String primaryKey) {
        this.primaryKey = primaryKey;
    }

    public void setCreatedColumn(String createdColumn) {
        this.createdColumn = createdColumn;
    }

    public void setUpdatedColumn(String updatedColumn) {
        this.updatedColumn = updatedColumn;
    }

    public void setBatchSize(int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, but is " + batchSize);
        }
        this.batchSize = batchSize;
    }

    public void setInsertRows(int insertRows) {
        if (insertRows < 1) {
            throw new IllegalArgumentException("insertRows must be at least 1, but is " + insertRows);
        }
        this.insertRows = insertRows;
    }

    public int getInsertRows() {
        return insertRows;
    }

    public void setBackfillChunkRows(int backfillChunkRows) {
        if (backfillChunkRows < 1) {
            throw new IllegalArgumentException("backfillChunkRows must be at least 1, but is " + backfillChunkRows);
        }
        this.backfillChunkRows = backfillChunkRows;
    }

    /** Key ranges of a backfill copied at once (see KeyBackfill); checked at start (RouteFiles). */
    public int getBackfillParallelism() {
        return backfillParallelism;
    }

    public void setBackfillParallelism(int backfillParallelism) {
        if (backfillParallelism < 1) {
            throw new IllegalArgumentException("backfillParallelism must be at least 1, but is " + backfillParallelism);
        }
        this.backfillParallelism = backfillParallelism;
    }

    public void setSoftDeleteColumn(String softDeleteColumn) {
        this.softDeleteColumn = softDeleteColumn == null ? "" : softDeleteColumn.strip();
    }

    /** The reconcileCron parameter as written (empty: never on its own). */
    public String getReconcileCron() {
        return reconcileCron;
    }

    public void setReconcileCron(String reconcileCron) {
        this.reconcileCron = reconcileCron == null ? "" : reconcileCron.strip();
    }

    public void setMaxDeleteFraction(double maxDeleteFraction) {
        if (!(maxDeleteFraction >= 0 && maxDeleteFraction <= 1)) {
            throw new IllegalArgumentException("maxDeleteFraction must be between 0 and 1, but is " + maxDeleteFraction);
        }
        this.maxDeleteFraction = maxDeleteFraction;
    }

    public String getCreatedColumn() {
        return createdColumn;
    }

    public String getUpdatedColumn() {
        return updatedColumn;
    }

    public int getBatchSize() {
        return batchSize;
    }
}
