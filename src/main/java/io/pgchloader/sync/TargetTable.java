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

    private TargetTable(String database, String table, Map<String, String> columns, String engine) {
        this.database = database;
        this.table = table;
        this.columns = columns;
        this.engine = engine;
    }

    public static TargetTable inspect(DataSource clickHouse, String database, String table) throws SQLException {
        Map<String, String> columns = new LinkedHashMap<>();
        String engine = null;
        try (Connection connection = clickHouse.getConnection()) {
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT engine FROM system.tables WHERE database = " + Identifiers.chString(database)
                            + " AND name = " + Identifiers.chString(table));
                 ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    engine = rs.getString(1);
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
        return new TargetTable(database, table, columns, engine);
    }

    public boolean exists() {
        return engine != null;
    }

    public String qualifiedName() {
        return Identifiers.ch(database, table);
    }

    /** Refuses a target the loader cannot keep free of duplicates or cannot fill completely. */
    public void checkFits(SourceTable source) {
        if (!engine.contains("ReplacingMergeTree")) {
            throw new SyncException("ClickHouse table " + database + "." + table + " uses engine " + engine
                    + ", so reruns would duplicate rows: recreate it as ReplacingMergeTree (or drop it and let the loader create it).");
        }
        List<String> missing = source.columnNames().stream().filter(c -> !columns.containsKey(c)).toList();
        if (!missing.isEmpty()) {
            throw new SyncException("ClickHouse table " + database + "." + table + " lacks source column(s) "
                    + String.join(", ", missing) + ": add them with ALTER TABLE ... ADD COLUMN (types as in README) or drop the table to have it recreated.");
        }
    }

    /** CREATE TABLE for a target that mirrors the source, ordered by its key. */
    public static String createSql(String database, String table, SourceTable source, List<String> key,
                                   String createdColumn, String updatedColumn) {
        String columnList = source.columns().stream()
                .map(c -> "    " + Identifiers.ch(c.name()) + " " + ClickHouseTypes.columnType(c))
                .collect(Collectors.joining(",\n"));
        String version = "coalesce(" + Identifiers.ch(updatedColumn) + ", " + Identifiers.ch(createdColumn) + ")";
        return "CREATE TABLE IF NOT EXISTS " + Identifiers.ch(database, table) + " (\n"
                + columnList + ",\n"
                + "    " + Identifiers.ch(VERSION_COLUMN) + " DateTime64(6, 'UTC') MATERIALIZED " + version + "\n"
                + ") ENGINE = ReplacingMergeTree(" + Identifiers.ch(VERSION_COLUMN) + ")\n"
                + "ORDER BY (" + Identifiers.chList(key) + ")";
    }
}
