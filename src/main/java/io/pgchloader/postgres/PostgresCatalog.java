package io.pgchloader.postgres;

import io.pgchloader.common.SyncException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.sql.DataSource;

/** Reads a table's shape from the PostgreSQL catalog. */
public final class PostgresCatalog {

    // Domains are resolved to their base type (one level, like PostgreSQL's wire protocol does), so the
    // catalog and a result set's metadata name the same type.
    private static final String COLUMNS = """
            SELECT a.attname,
                   a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS not_null,
                   CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END AS type_name,
                   CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS type_mod
              FROM pg_catalog.pg_attribute a
              JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
              LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
             WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
               AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum
            """;

    private static final String PRIMARY_KEY = """
            SELECT a.attname
              FROM pg_catalog.pg_index i
              JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE n.nspname = ? AND c.relname = ? AND i.indisprimary
             ORDER BY array_position(i.indkey::int2[], a.attnum)
            """;

    // Columns some valid index of the table starts with: what lets a stream's range and order use it.
    private static final String LEADING_INDEX_COLUMNS = """
            SELECT DISTINCT a.attname
              FROM pg_catalog.pg_index i
              JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE n.nspname = ? AND c.relname = ? AND i.indisvalid
            """;

    private static final String TYPE = """
            SELECT CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END AS type_name,
                   CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE ?::int4 END AS type_mod
              FROM pg_catalog.pg_type t
              LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
             WHERE t.oid = ?::oid
            """;

    private PostgresCatalog() {
    }

    /**
     * The type with this oid and modifier, as {@link #describe} names a column's (domains resolved): what a
     * replication stream's relation message carries, which may be older than the table's catalog.
     */
    public static PgType type(Connection connection, int oid, int typeMod) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(TYPE)) {
            ps.setInt(1, typeMod);
            ps.setLong(2, Integer.toUnsignedLong(oid));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SyncException("PostgreSQL has no type with oid " + Integer.toUnsignedLong(oid) + " any more");
                }
                return type(rs.getString("type_name"), rs.getInt("type_mod"));
            }
        }
    }

    private static PgType type(String name, int typeMod) {
        return name.equals("numeric") || name.equals("_numeric") ? PgType.numeric(name, typeMod) : new PgType(name, 0, 0);
    }

    /** The table's description, or a {@link SyncException} when PostgreSQL has no such table. */
    public static SourceTable describe(DataSource dataSource, String schema, String table) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
            try {
                List<PgColumn> columns = new ArrayList<>();
                try (PreparedStatement ps = connection.prepareStatement(COLUMNS)) {
                    ps.setString(1, schema);
                    ps.setString(2, table);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            columns.add(new PgColumn(rs.getString("attname"), type(rs.getString("type_name"), rs.getInt("type_mod")),
                                    rs.getBoolean("not_null")));
                        }
                    }
                }
                if (columns.isEmpty()) {
                    throw new SyncException("PostgreSQL has no table " + schema + "." + table
                            + " (or the loader's role cannot see it): check the templatedRoute's schema and table parameters"
                            + " (names are case-sensitive) and the role's privileges.");
                }
                List<String> primaryKey = new ArrayList<>();
                try (PreparedStatement ps = connection.prepareStatement(PRIMARY_KEY)) {
                    ps.setString(1, schema);
                    ps.setString(2, table);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            primaryKey.add(rs.getString(1));
                        }
                    }
                }
                Set<String> indexed = new HashSet<>();
                try (PreparedStatement ps = connection.prepareStatement(LEADING_INDEX_COLUMNS)) {
                    ps.setString(1, schema);
                    ps.setString(2, table);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            indexed.add(rs.getString(1));
                        }
                    }
                }
                return new SourceTable(schema, table, List.copyOf(columns), List.copyOf(primaryKey), Set.copyOf(indexed));
            } finally {
                // The pool hands out connections with autocommit off (cursors need it): end the read.
                connection.rollback();
            }
        }
    }
}
