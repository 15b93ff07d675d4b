package io.pgchloader.sync;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * The ClickHouse side of a table: whether it exists, whether its columns fit the source, and the DDL
 * that creates it from the PostgreSQL catalog when it does not.
 */
public final class TargetTable {

    /**
     * The ReplacingMergeTree version: the row's updated timestamp, or its created one while it was never
     * updated. Materialized by ClickHouse, so backfill and increments share one version semantics and
     * the order in which copies of a row arrive never matters.
     */
    public static final String VERSION_COLUMN = "_version";

    private final String database;
    private final String table;
    private final Map<String, String> columns;
    private final String engine;
    private final String comment;
    private final long rows;

    private TargetTable(String database, String table, Map<String, String> columns, String engine, String comment, long rows) {
        this.database = database;
        this.table = table;
        this.columns = columns;
        this.engine = engine;
        this.comment = comment;
        this.rows = rows;
    }

    public static TargetTable inspect(DataSource clickHouse, String database, String table) throws SQLException {
        Map<String, String> columns = new LinkedHashMap<>();
        String engine = null;
        String comment = null;
        long rows = 0;
        try (Connection connection = clickHouse.getConnection()) {
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT engine, comment, coalesce(total_rows, 0) FROM system.tables WHERE database = "
                            + Identifiers.chString(database) + " AND name = " + Identifiers.chString(table));
                 ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    engine = rs.getString(1);
                    comment = rs.getString(2);
                    rows = rs.getLong(3);
                }
            }
            if (engine != null) {
                try (PreparedStatement ps = connection.prepareStatement(
                        "SELECT name, type FROM system.columns WHERE database = " + Identifiers.chString(database)
                                + " AND table = " + Identifiers.chString(table) + " ORDER BY position");
                     ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        columns.put(rs.getString(1), rs.getString(2));
                    }
                }
            }
        }
        return new TargetTable(database, table, columns, engine, comment, rows);
    }

    /** The table's comment, empty when it has none. */
    public String comment() {
        return comment == null ? "" : comment;
    }

    public boolean isEmpty() {
        return rows == 0;
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
        List<String> ddl = new java.util.ArrayList<>();
        for (PgColumn column : source.columns()) {
            String expected = ClickHouseTypes.columnType(column);
            String actual = columns.get(column.name());
            if (actual == null) {
                ddl.add("ALTER TABLE " + qualifiedName() + " ADD COLUMN IF NOT EXISTS " + Identifiers.ch(column.name()) + " "
                        + addedType(column));
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
        return ddl;
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
        String type = ClickHouseTypes.columnType(column);
        return type.startsWith("Nullable(") || type.startsWith("Array(") ? type : "Nullable(" + type + ")";
    }

    /**
     * The ClickHouse type of each source column once {@link #alterToFit} is applied, in source order: what
     * inserts must send, exactly (RowBinary carries no conversions). For a target that does not exist yet,
     * the types {@link #createSql} gives it.
     */
    public List<String> insertTypes(SourceTable source) {
        return source.columns().stream()
                .map(c -> !exists() ? ClickHouseTypes.columnType(c) : columns.getOrDefault(c.name(), addedType(c)))
                .toList();
    }

    /** CREATE TABLE for a target that mirrors the source, ordered by its key. */
    public static String createSql(String database, String table, SourceTable source, List<String> key,
                                   String createdColumn, String updatedColumn, String comment) {
        String columnList = source.columns().stream()
                .map(c -> "    " + Identifiers.ch(c.name()) + " " + ClickHouseTypes.columnType(c))
                .collect(Collectors.joining(",\n"));
        String version = "coalesce(" + Identifiers.ch(updatedColumn) + ", " + Identifiers.ch(createdColumn) + ")";
        return "CREATE TABLE IF NOT EXISTS " + Identifiers.ch(database, table) + " (\n"
                + columnList + ",\n"
                + "    " + Identifiers.ch(VERSION_COLUMN) + " DateTime64(6, 'UTC') MATERIALIZED " + version + "\n"
                + ") ENGINE = ReplacingMergeTree(" + Identifiers.ch(VERSION_COLUMN) + ")\n"
                + "ORDER BY (" + Identifiers.chList(key) + ")"
                + (comment == null ? "" : "\nCOMMENT " + Identifiers.chString(comment));
    }
}
