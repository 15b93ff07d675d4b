package io.pgchloader.clickhouse;

import io.pgchloader.common.Identifiers;
import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.PgColumn;
import io.pgchloader.postgres.SourceTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * The ClickHouse side of a table: whether it exists, whether its columns fit the source, and the DDL
 * that creates it from the PostgreSQL catalog when it does not.
 */
public final class TargetTable {

    /**
     * The ReplacingMergeTree version: the row's updated timestamp, or its created one while it was never
     * updated. Computed by ClickHouse (the column's DEFAULT) for every row the loader copies, so backfill
     * and increments share one version semantics and the order in which copies of a row arrive never
     * matters; only a tombstone gives it explicitly (see {@link #tombstoneSql}).
     */
    public static final String VERSION_COLUMN = "_version";

    /**
     * 1 for a deleted row: ReplacingMergeTree's second parameter, so {@code FINAL} leaves out a key whose
     * newest version is deleted. Computed from the soft-delete column when the table has one; a tombstone
     * sets it.
     */
    public static final String DELETED_COLUMN = "_is_deleted";
    /** The minmax index on {@link #VERSION_COLUMN} that keeps the watermark query flat however large the table. */
    public static final String VERSION_INDEX = "pgch_version";
    /** The skip index on the created column (see {@link #createdIndexSql}). */
    public static final String CREATED_INDEX = "pgch_created";

    private final String database;
    private final String table;
    private final Map<String, String> columns;
    /** Columns ClickHouse fills itself (DEFAULT, MATERIALIZED, ALIAS, EPHEMERAL): never the loader's to change. */
    private final Set<String> computed;
    private final String engine;
    private final String comment;
    private final String sortingKey;
    private final long rows;
    private final String engineFull;
    private final Map<String, String> defaults;
    /** Data skipping indexes: name to type and expression. */
    private final Map<String, String> skipIndexes;
    /** Null for a plain table; for a Distributed target, the cluster its shard tables are on. */
    private ClickHouseCluster cluster;
    private String distributedEngineFull;
    private boolean shardTablesMissing;

    private TargetTable(String database, String table, Map<String, String> columns, Set<String> computed, String engine,
                        String comment, String sortingKey, long rows, String engineFull, Map<String, String> defaults,
                        Map<String, String> skipIndexes) {
        this.database = database;
        this.table = table;
        this.columns = columns;
        this.computed = computed;
        this.engine = engine;
        this.comment = comment;
        this.sortingKey = sortingKey;
        this.rows = rows;
        this.engineFull = engineFull;
        this.defaults = defaults;
        this.skipIndexes = skipIndexes;
    }

    /**
     * A target on a cluster: the Distributed table {@code table} (its columns, defaults and comment) and
     * its shard tables (engine, sorting key, rows: what keeps one version per key). Refuses a target of
     * another shape with what to run.
     */
    public static TargetTable inspect(DataSource clickHouse, String database, String table, ClickHouseCluster cluster)
            throws SQLException {
        TargetTable distributed = inspect(clickHouse, database, table);
        if (cluster == null) {
            return distributed;
        }
        if (distributed.exists() && (!distributed.engine.equals("Distributed")
                || !distributed.engineFull.startsWith(cluster.distributedEngine(database, table)))) {
            throw new SyncException("ClickHouse table " + distributed.qualifiedName() + " is "
                    + (distributed.engine.equals("Distributed") ? distributed.engineFull : "a " + distributed.engine + " table")
                    + ", but with CLICKHOUSE_CLUSTER " + cluster.name() + " the target must be a Distributed table over "
                    + Identifiers.ch(database, ClickHouseCluster.shardTable(table)) + " on every shard: run RENAME TABLE "
                    + distributed.qualifiedName() + " TO " + Identifiers.ch(database, table + "_old") + " (or DROP TABLE "
                    + distributed.qualifiedName() + "); the next cycle creates both and backfills them from PostgreSQL.");
        }
        // first: it refuses a cluster system.clusters does not know, with the names it does
        int[] present = cluster.shardTablesPresent(database, table);
        String shard = ClickHouseCluster.shardTable(table);
        String engine = null;
        String engineFull = null;
        String sortingKey = null;
        long rows = 0;
        try (Connection connection = clickHouse.getConnection();
             PreparedStatement ps = connection.prepareStatement(
                     // one replica per shard: the rows of the whole target
                     "SELECT any(engine), any(engine_full), any(sorting_key), sum(coalesce(total_rows, 0)), count() FROM cluster("
                             + Identifiers.chString(cluster.name()) + ", system.tables) WHERE database = "
                             + Identifiers.chString(database) + " AND name = " + Identifiers.chString(shard));
             ResultSet rs = ps.executeQuery()) {
            if (rs.next() && rs.getLong(5) > 0) {
                engine = rs.getString(1);
                engineFull = rs.getString(2);
                sortingKey = rs.getString(3);
                rows = rs.getLong(4);
            }
        }
        TargetTable target = distributed.exists() && engine != null
                // the Distributed table has no indexes of its own: the watermark query reads without skipping
                ? new TargetTable(database, table, distributed.columns, distributed.computed, engine, distributed.comment,
                sortingKey, rows, engineFull, distributed.defaults, Map.of())
                : distributed;
        target.cluster = cluster;
        target.distributedEngineFull = distributed.engineFull;
        target.shardTablesMissing = present[0] < present[1];
        return target;
    }

    /** Whether some host of the cluster lacks the shard table: the loader creates it (with IF NOT EXISTS everywhere). */
    public boolean shardTablesMissing() {
        return shardTablesMissing;
    }

    /** Whether the engine, sorting key and rows are known: a plain table, or a Distributed one with a shard table somewhere. */
    public boolean shardsKnown() {
        return cluster == null || !"Distributed".equals(engine);
    }

    /** A statement that changes the target, on every table it consists of. */
    private List<String> everyTable(String alter) {
        return cluster == null ? List.of(alter) : ClickHouseCluster.everyTable(alter, database, table);
    }

    public static TargetTable inspect(DataSource clickHouse, String database, String table) throws SQLException {
        Map<String, String> columns = new LinkedHashMap<>();
        Set<String> computed = new HashSet<>();
        String engine = null;
        String comment = null;
        String sortingKey = null;
        String engineFull = null;
        Map<String, String> defaults = new HashMap<>();
        Map<String, String> skipIndexes = new HashMap<>();
        long rows = 0;
        try (Connection connection = clickHouse.getConnection()) {
            try (PreparedStatement ps = connection.prepareStatement(
                    // the skip indexes ride along as one text (name TAB type SPACE expression, one per line): a
                    // round trip less in every cycle
                    "SELECT engine, comment, coalesce(total_rows, 0), sorting_key, engine_full,"
                            + " (SELECT arrayStringConcat(groupArray(concat(name, '\\t', type, ' ', expr)), '\\n')"
                            + " FROM system.data_skipping_indices WHERE database = " + Identifiers.chString(database)
                            + " AND table = " + Identifiers.chString(table) + ")"
                            + " FROM system.tables WHERE database = "
                            + Identifiers.chString(database) + " AND name = " + Identifiers.chString(table));
                 ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    engine = rs.getString(1);
                    comment = rs.getString(2);
                    rows = rs.getLong(3);
                    sortingKey = rs.getString(4);
                    engineFull = rs.getString(5);
                    for (String index : rs.getString(6).split("\n")) {
                        int tab = index.indexOf('\t');
                        if (tab > 0) {
                            skipIndexes.put(index.substring(0, tab), index.substring(tab + 1));
                        }
                    }
                }
            }
            if (engine != null) {
                try (PreparedStatement ps = connection.prepareStatement(
                        "SELECT name, type, default_kind, default_expression FROM system.columns WHERE database = " + Identifiers.chString(database)
                                + " AND table = " + Identifiers.chString(table) + " ORDER BY position");
                     ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        columns.put(rs.getString(1), rs.getString(2));
                        if (!rs.getString(3).isEmpty()) {
                            computed.add(rs.getString(1));
                            defaults.put(rs.getString(1), rs.getString(3) + " " + rs.getString(4));
                        }
                    }
                }
            }
        }
        return new TargetTable(database, table, columns, computed, engine, comment, sortingKey, rows, engineFull, defaults,
                skipIndexes);
    }

    /**
     * Whether the table can hold deletes: its engine keeps the newest version per key by
     * {@link #DELETED_COLUMN} as well, and a tombstone can give {@link #VERSION_COLUMN} (a DEFAULT, not a
     * MATERIALIZED column, which an INSERT may not name).
     */
    public boolean holdsDeletes() {
        return engineFull != null && engineFull.replace("`", "").contains(", " + DELETED_COLUMN + ")")
                && defaults.getOrDefault(VERSION_COLUMN, "").startsWith("DEFAULT ")
                && columns.containsKey(DELETED_COLUMN);
    }

    /**
     * Whether the watermark query may skip parts of the table by {@link #VERSION_INDEX}: the index is there and
     * {@link #VERSION_COLUMN} is what the loader makes it, the updated value or else the created one, so a
     * row with {@code updated >= x} (or never updated, with {@code created >= x}) has {@code _version >= x}.
     * Tombstones set their own version, but have neither (created 1970, updated NULL). Any other default
     * (a table made by hand, a column renamed since) and the query reads without skipping.
     */
    public boolean prunesByVersion(String createdColumn, String updatedColumn) {
        return ("minmax " + VERSION_COLUMN).equals(skipIndexes.get(VERSION_INDEX)) && defaultIsVersionOf(createdColumn, updatedColumn);
    }

    /**
     * What gives a target made before {@link #VERSION_INDEX} and {@link #CREATED_INDEX} existed those indexes:
     * nothing for one it has, and nothing when its version is not the loader's own (they would not serve).
     * ADD INDEX changes the metadata only; parts written from then on carry the index, older ones get it as
     * they merge (or at once with {@code MATERIALIZE INDEX}), and until then the watermark query reads them
     * whole, as before. Skip indexes never change what a query returns, only what it reads.
     */
    public List<String> addWatermarkIndexes(String createdColumn, String updatedColumn) {
        if (cluster != null || !holdsDeletes() || isCdcTarget() || !defaultIsVersionOf(createdColumn, updatedColumn)) {
            return List.of();
        }
        List<String> statements = new ArrayList<>();
        if (!skipIndexes.containsKey(VERSION_INDEX)) {
            statements.add("ALTER TABLE " + qualifiedName() + " ADD " + versionIndexSql());
        }
        if (!skipIndexes.containsKey(CREATED_INDEX)) {
            statements.add("ALTER TABLE " + qualifiedName() + " ADD " + createdIndexSql(createdColumn));
        }
        return statements;
    }

    private boolean defaultIsVersionOf(String createdColumn, String updatedColumn) {
        String expected = "DEFAULT coalesce(" + updatedColumn + ", " + createdColumn + ")";
        return expected.equals(defaults.getOrDefault(VERSION_COLUMN, "").replace("`", ""));
    }

    /** Whether the table is what {@link #createCdcSql} creates: a version the loader sends, and tombstones. */
    public boolean isCdcTarget() {
        return engineFull != null && engineFull.replace("`", "").contains("ReplacingMergeTree(" + VERSION_COLUMN + ", " + DELETED_COLUMN + ")")
                && CDC_VERSION_TYPE.equals(columns.get(VERSION_COLUMN)) && columns.containsKey(DELETED_COLUMN);
    }

    /**
     * What makes {@link #DELETED_COLUMN} follow the soft-delete column when a table gains, changes or drops
     * one: nothing when it already does. Rows copied before keep the value they were given; a row updated
     * since gets the new one.
     */
    public List<String> alterDeletedDefault(String expression) {
        if (defaults.getOrDefault(DELETED_COLUMN, "").equals("DEFAULT " + expression)) {
            return List.of();
        }
        return everyTable("ALTER TABLE " + qualifiedName() + " MODIFY COLUMN " + Identifiers.ch(DELETED_COLUMN) + " UInt8 DEFAULT "
                + expression);
    }

    /**
     * What to run by hand so an existing target can hold deletes (its engine cannot be altered): a new table
     * as the loader creates it, with the old one's comment (where the loader keeps its watermark limits),
     * every row copied over, the two swapped, the old one dropped.
     */
    public static List<String> migrationToDeletes(String database, String table, SourceTable source, List<String> key,
                                                  String createdColumn, String updatedColumn, String deletedExpression,
                                                  String comment) {
        String name = Identifiers.ch(database, table);
        String next = Identifiers.ch(database, table + "_with_deletes");
        String columns = Identifiers.chList(source.columnNames());
        return List.of(
                createSql(database, table + "_with_deletes", source, key, createdColumn, updatedColumn, deletedExpression, null)
                        .replaceAll("\\s*\n\\s*", " ")
                        + (comment == null || comment.isEmpty() ? "" : " COMMENT " + Identifiers.chString(comment)),
                "INSERT INTO " + next + " (" + columns + ") SELECT " + columns + " FROM " + name + " FINAL",
                "EXCHANGE TABLES " + name + " AND " + next,
                "DROP TABLE " + next);
    }

    /**
     * The DEFAULT of {@link #DELETED_COLUMN}: 1 when the soft-delete column says the row is deleted (a true
     * boolean, a timestamp that is set), 0 without such a column. Refuses a column of another type.
     */
    public static String deletedExpression(SourceTable source, String softDeleteColumn) {
        if (softDeleteColumn == null || softDeleteColumn.isBlank()) {
            return "0";
        }
        PgColumn column = source.column(softDeleteColumn).orElseThrow(() -> new SyncException(source.qualifiedName()
                + " has no column " + softDeleteColumn + ": fix the templatedRoute parameter softDeleteColumn (or leave it empty)."));
        String name = Identifiers.ch(softDeleteColumn);
        if (column.type().name().equals("bool")) {
            return "if(coalesce(" + name + ", false), 1, 0)";
        }
        if (PgToClickHouse.isTimestamp(column.type())) {
            return "if(isNull(" + name + "), 0, 1)";
        }
        throw new SyncException(source.qualifiedName() + "." + softDeleteColumn + " is of type " + column.type().name()
                + ", but softDeleteColumn must be a boolean (true = deleted) or a timestamp (set = deleted).");
    }

    /**
     * Tombstones for keys PostgreSQL no longer has, made by ClickHouse from what it holds: each key's newest
     * row, at a version one microsecond above it (and so, by the caller's choice of keys, below every
     * version a later write can carry), deleted. Only keys still below {@code below} get one. The other
     * columns take their defaults, so the watermarks (the largest created and updated values) never move.
     */
    public static String tombstoneSql(String qualifiedName, List<String> key, String keyCondition, String below) {
        String keys = Identifiers.chList(key);
        return "INSERT INTO " + qualifiedName + " (" + keys + ", " + Identifiers.ch(VERSION_COLUMN) + ", " + Identifiers.ch(DELETED_COLUMN)
                + ") SELECT " + keys + ", " + Identifiers.ch(VERSION_COLUMN) + " + toIntervalMicrosecond(1), 1 FROM " + qualifiedName
                + " FINAL WHERE " + keyCondition + " AND " + Identifiers.ch(VERSION_COLUMN) + " < " + below;
    }

    /** The type of a column of the table, or null when it has no such column. */
    public String columnType(String name) {
        return columns.get(name);
    }

    /** The table's comment, empty when it has none. */
    public String comment() {
        return comment == null ? "" : comment;
    }

    public boolean isEmpty() {
        return rows == 0;
    }

    /** Rows the table holds, as ClickHouse counts them (every version before merges). */
    public long rows() {
        return rows;
    }

    public boolean exists() {
        return engine != null;
    }

    public String qualifiedName() {
        return Identifiers.ch(database, table);
    }

    /**
     * The DDL that makes the target fit the source: nothing when it does, one {@code ADD COLUMN} per
     * column PostgreSQL gained (schema drift). Refuses a target the loader cannot keep free of
     * duplicates, or whose columns would not hold the source's values exactly.
     */
    public List<String> alterToFit(SourceTable source) {
        if (!engine.contains("ReplacingMergeTree")) {
            throw new SyncException("ClickHouse table " + database + "." + table + " uses engine " + engine
                    + ", so reruns would duplicate rows: recreate it as ReplacingMergeTree (or drop it and let the loader create it).");
        }
        List<String> ddl = new ArrayList<>();
        for (PgColumn column : source.columns()) {
            String expected = PgToClickHouse.columnType(column);
            String actual = columns.get(column.name());
            if (actual == null) {
                ddl.addAll(everyTable("ALTER TABLE " + qualifiedName() + " ADD COLUMN IF NOT EXISTS " + Identifiers.ch(column.name())
                        + " " + addedType(column)));
                continue;
            }
            String misfit = TypeFit.misfit(expected, actual);
            if (misfit != null) {
                throw new SyncException("ClickHouse column " + database + "." + table + "." + column.name() + " is " + actual
                        + " and cannot hold PostgreSQL " + source.schema() + "." + source.table() + "." + column.name()
                        + " (" + column.type().name() + ") exactly: " + misfit + ". Change it with ALTER TABLE "
                        + qualifiedName() + " MODIFY COLUMN " + Identifiers.ch(column.name()) + " " + expected + ".");
            }
        }
        ddl.addAll(nullableForDroppedColumns(source));
        return ddl;
    }

    /**
     * Columns PostgreSQL no longer has (dropped, or renamed) stay in ClickHouse with the values they held.
     * Versions written from now on carry no value for them: the column becomes Nullable, so they hold NULL
     * (unknown) instead of a made-up 0 or ''. Arrays cannot be Nullable in ClickHouse: they hold [].
     */
    private List<String> nullableForDroppedColumns(SourceTable source) {
        List<String> ddl = new ArrayList<>();
        for (Map.Entry<String, String> column : columns.entrySet()) {
            String name = column.getKey();
            String type = column.getValue();
            if (name.equals(VERSION_COLUMN) || name.equals(DELETED_COLUMN) || computed.contains(name) || source.column(name).isPresent()) {
                continue;
            }
            String nullable = nullable(type);
            if (nullable != null) {
                ddl.addAll(everyTable("ALTER TABLE " + qualifiedName() + " MODIFY COLUMN " + Identifiers.ch(name) + " " + nullable));
            }
        }
        return ddl;
    }

    /** The Nullable form of a ClickHouse type, or null when it is Nullable already or cannot be. */
    static String nullable(String type) {
        if (type.startsWith("Nullable(") || type.startsWith("Array(") || type.startsWith("Map(") || type.startsWith("Tuple(")
                || type.startsWith("LowCardinality(Nullable(") || type.startsWith("Nested(") || type.startsWith("JSON")
                || type.startsWith("Variant(") || type.startsWith("Dynamic")) {
            return null;
        }
        if (type.startsWith("LowCardinality(")) {
            return "LowCardinality(Nullable(" + type.substring("LowCardinality(".length()) + ")";
        }
        return "Nullable(" + type + ")";
    }

    /**
     * Stops the table when the target's sorting key is not the key the loader uses: a ReplacingMergeTree
     * keeps one row per sorting key, so a coarser one merges distinct rows into one (rows vanish) and a
     * finer one keeps old versions beside new ones.
     */
    public void checkSortingKey(SourceTable source, List<String> key) {
        if (cluster == null && "Distributed".equals(engine)) {
            // a Distributed table has no sorting key of its own: say what it needs instead
            throw new SyncException("ClickHouse table " + qualifiedName() + " is a Distributed table, but CLICKHOUSE_CLUSTER"
                    + " is empty, so the loader expects a ReplacingMergeTree: set CLICKHOUSE_CLUSTER to the cluster its shard"
                    + " tables are on (docs/cluster.md), or drop it and let the loader create a plain table.");
        }
        String expression = unwrapped(sortingKey == null ? "" : sortingKey.strip());
        List<String> ordered = sortingKeyColumns(expression);
        if (ordered != null && ordered.size() == key.size() && Set.copyOf(ordered).equals(Set.copyOf(key))) {
            return;
        }
        String rename = Identifiers.ch(database, table + "_old");
        throw new SyncException("ClickHouse table " + qualifiedName() + " is ordered by (" + expression + "), but the key of " + source.qualifiedName() + " is (" + String.join(", ", key) + "): a ReplacingMergeTree"
                + " keeps one row per sorting key, so rows would replace each other or old versions stay. Rebuild it: RENAME"
                + " TABLE " + qualifiedName() + " TO " + rename + " (or DROP TABLE " + qualifiedName() + "); the next cycle"
                + " creates it ordered by the key and backfills it from PostgreSQL. (If the key changed by mistake, set the"
                + " templatedRoute parameter primaryKey to the target's sorting key.)");
    }

    /**
     * Stops the table when its Distributed target does not shard by the hash the loader uses: versions of
     * a key spread over shards, and FINAL (which merges within each shard) would show a key more than once.
     */
    public void checkShardingKey(List<String> key) {
        if (cluster == null) {
            return;
        }
        String expected = "cityHash64(" + String.join(", ", key) + ")";
        String prefix = cluster.distributedEngine(database, table);
        String actual = distributedEngineFull.substring(prefix.length()).replace("`", "");
        if (actual.startsWith(expected + ")") || actual.startsWith(expected + ", ")) {
            return;
        }
        throw new SyncException("ClickHouse table " + qualifiedName() + " is " + distributedEngineFull + ", but the loader"
                + " shards by " + expected + " so that every version of a key is on one shard (FINAL merges only within a"
                + " shard): DROP TABLE " + qualifiedName() + " and create it again as " + prefix + "cityHash64("
                + Identifiers.chList(key) + ")) (the shard tables keep their rows only if each key is already on the shard"
                + " that hash picks; else drop those too and let the loader backfill).");
    }

    /** A sorting key without the parentheses around the whole of it, as ClickHouse shows {@code ORDER BY (id)}. */
    static String unwrapped(String expression) {
        if (!expression.startsWith("(") || !expression.endsWith(")")) {
            return expression;
        }
        int depth = 0;
        boolean quoted = false;
        for (int i = 0; i < expression.length(); i++) {
            char c = expression.charAt(i);
            if (quoted) {
                if (c == '\\') {
                    i++;
                } else if (c == '`') {
                    quoted = false;
                }
            } else if (c == '`') {
                quoted = true;
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0 && i < expression.length() - 1) {
                // "(a) + (b)": the first parenthesis closes before the end
                return expression;
            }
        }
        return unwrapped(expression.substring(1, expression.length() - 1).strip());
    }

    /** The plain column names of a sorting key expression, or null when it holds anything else. */
    static List<String> sortingKeyColumns(String expression) {
        List<String> names = new ArrayList<>();
        StringBuilder name = new StringBuilder();
        boolean quoted = false;
        boolean wasQuoted = false;
        for (int i = 0; i < expression.length(); i++) {
            char c = expression.charAt(i);
            if (quoted) {
                if (c == '\\' && i + 1 < expression.length()) {
                    name.append(expression.charAt(++i));
                } else if (c == '`') {
                    quoted = false;
                } else {
                    name.append(c);
                }
            } else if (c == '`') {
                quoted = true;
                wasQuoted = true;
            } else if (c == ',') {
                if (name.isEmpty() && !wasQuoted) {
                    return null;
                }
                names.add(name.toString());
                name.setLength(0);
                wasQuoted = false;
            } else if (Character.isWhitespace(c)) {
                // between names only
            } else if (Character.isLetterOrDigit(c) || c == '_') {
                if (wasQuoted) {
                    return null;
                }
                name.append(c);
            } else {
                // a function, a tuple, an expression: not a plain column list
                return null;
            }
        }
        if (quoted) {
            return null;
        }
        if (!name.isEmpty() || wasQuoted) {
            names.add(name.toString());
        }
        return names;
    }

    /** Sets (or with "" clears) the table's comment, where a backfill in progress keeps its horizon. */
    public static String commentSql(String qualifiedName, String comment) {
        return "ALTER TABLE " + qualifiedName + " MODIFY COMMENT " + Identifiers.chString(comment);
    }

    /**
     * A column PostgreSQL gained. Nullable even when PostgreSQL has it NOT NULL: rows synced before it
     * existed show NULL (unknown) rather than a made-up 0 or ''.
     */
    private static String addedType(PgColumn column) {
        String type = PgToClickHouse.columnType(column);
        return type.startsWith("Nullable(") || type.startsWith("Array(") ? type : "Nullable(" + type + ")";
    }

    /**
     * The ClickHouse type of each source column once {@link #alterToFit} is applied, in source order: what
     * inserts must send, exactly (RowBinary carries no conversions). For a target that does not exist yet,
     * the types {@link #createSql} gives it.
     */
    public List<String> insertTypes(SourceTable source) {
        return source.columns().stream()
                .map(c -> !exists() ? PgToClickHouse.columnType(c) : columns.getOrDefault(c.name(), addedType(c)))
                .toList();
    }

    /** CREATE TABLE for a target that mirrors the source, ordered by its key. */
    public static String createSql(String database, String table, SourceTable source, List<String> key,
                                   String createdColumn, String updatedColumn, String deletedExpression, String comment) {
        String columnList = source.columns().stream()
                .map(c -> "    " + Identifiers.ch(c.name()) + " " + PgToClickHouse.columnType(c))
                .collect(Collectors.joining(",\n"));
        String version = "coalesce(" + Identifiers.ch(updatedColumn) + ", " + Identifiers.ch(createdColumn) + ")";
        return "CREATE TABLE IF NOT EXISTS " + Identifiers.ch(database, table) + " (\n"
                + columnList + ",\n"
                + "    " + Identifiers.ch(VERSION_COLUMN) + " DateTime64(6, 'UTC') DEFAULT " + version + ",\n"
                + "    " + Identifiers.ch(DELETED_COLUMN) + " UInt8 DEFAULT " + deletedExpression + ",\n"
                + "    " + versionIndexSql() + ",\n"
                + "    " + createdIndexSql(createdColumn) + "\n"
                + ") ENGINE = ReplacingMergeTree(" + Identifiers.ch(VERSION_COLUMN) + ", " + Identifiers.ch(DELETED_COLUMN) + ")\n"
                + "ORDER BY (" + Identifiers.chList(key) + ")"
                + (comment == null ? "" : "\nCOMMENT " + Identifiers.chString(comment));
    }

    /**
     * The index clause of {@link #VERSION_INDEX}. The rows of the last minutes sit in the newest parts, and in
     * a few granules of the merged ones, so a query for versions above the last watermark reads those.
     */
    public static String versionIndexSql() {
        return "INDEX " + VERSION_INDEX + " " + Identifiers.ch(VERSION_COLUMN) + " TYPE minmax GRANULARITY 1";
    }

    /**
     * The index clause of {@link #CREATED_INDEX}. The created mark's part of the watermark query asks for
     * rows created at or above the last created mark; by {@code _version} alone it would read every granule
     * holding a row updated since then, and where updates are scattered over old keys that is most of the
     * table. Created times follow the key order closely (rows are created in it), so by this index the query
     * reads the newest granules only.
     */
    public static String createdIndexSql(String createdColumn) {
        return "INDEX " + CREATED_INDEX + " " + Identifiers.ch(createdColumn) + " TYPE minmax GRANULARITY 1";
    }

    /** The type of {@link #VERSION_COLUMN} in a CDC target: a change's commit LSN (high half) and its order in the transaction. */
    public static final String CDC_VERSION_TYPE = "UInt128";

    /**
     * CREATE TABLE for a target the CDC mode keeps: the source's columns, a version the loader sends with
     * every row (see docs/cdc.md) and the tombstone flag, ordered by the key.
     */
    public static String createCdcSql(String database, String table, SourceTable source, List<String> key, String comment) {
        String columnList = source.columns().stream()
                .map(c -> "    " + Identifiers.ch(c.name()) + " " + PgToClickHouse.columnType(c))
                .collect(Collectors.joining(",\n"));
        return "CREATE TABLE IF NOT EXISTS " + Identifiers.ch(database, table) + " (\n"
                + columnList + ",\n"
                + "    " + Identifiers.ch(VERSION_COLUMN) + " " + CDC_VERSION_TYPE + ",\n"
                + "    " + Identifiers.ch(DELETED_COLUMN) + " UInt8 DEFAULT 0\n"
                + ") ENGINE = ReplacingMergeTree(" + Identifiers.ch(VERSION_COLUMN) + ", " + Identifiers.ch(DELETED_COLUMN) + ")\n"
                + "ORDER BY (" + Identifiers.chList(key) + ")"
                + (comment == null ? "" : "\nCOMMENT " + Identifiers.chString(comment));
    }
}
