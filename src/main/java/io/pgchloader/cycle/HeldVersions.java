package io.pgchloader.cycle;

import io.pgchloader.clickhouse.KeyTexts;
import io.pgchloader.common.Identifiers;
import io.pgchloader.postgres.PgColumn;
import io.pgchloader.postgres.SourceTable;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Which rows of a part of a stream ClickHouse already holds in the very version PostgreSQL has, so that
 * they are not sent again: the rows tied on a watermark (every cycle would read them again) and the rows
 * stamped in the future (read every cycle until their time comes).
 *
 * <p>Both databases list the part's keys, each with the stream column's value (the row's version there:
 * {@code created} of a never-updated row, {@code updated} of an updated one) in microseconds, ordered by
 * the keys' text; the loader walks both lists side by side and keeps the PostgreSQL keys ClickHouse lacks
 * at that version. Only keys and versions travel, never rows; memory holds at most the missing keys.
 *
 * <p>Keys are compared by their text, which both dialects render alike for the key types the loader can
 * compare: integers, {@code bool}, {@code uuid}, the text types ({@code char(n)} with its padding, as
 * the loader copies it), {@code numeric} without trailing zeros, dates and timestamps in ISO form with
 * microseconds ({@code timestamptz} in UTC), and the types the loader stores as their PostgreSQL text. A
 * text that differs between the two only makes the row count as missing, and it is sent again, as before;
 * each column is compared on its own, so two different keys never pass for one. Floating-point and array
 * keys are not compared (their texts differ): those parts are sent whole, as before.
 */
final class HeldVersions {

    /**
     * Beyond this many missing rows the part is sent whole: their keys would go into the stream's query
     * (an IN list), and so many arise only in a catch-up (a cycle killed in the middle of a large tie).
     */
    static final int MISSING_LIMIT = 10_000;

    private static final int FETCH_ROWS = 10_000;

    /** The rows of the part ClickHouse lacks: a filter for the stream's query, or null to send the part whole. */
    record Missing(int rows, String pgFilter) {

        boolean none() {
            return rows == 0;
        }
    }

    private HeldVersions() {
    }

    /** Whether the key's columns have a text both dialects render alike. */
    static boolean suits(SourceTable source, List<String> key) {
        for (String name : key) {
            PgColumn column = source.column(name).orElseThrow();
            String type = column.type().name();
            if (column.type().isArray() || type.equals("float4") || type.equals("float8")) {
                return false;
            }
        }
        return true;
    }

    /**
     * Compares one part of a stream.
     *
     * @param pgWhere  the part in PostgreSQL, with one parameter, {@code pgBound}
     * @param chWhere  the same part in ClickHouse
     * @param version  the stream column, whose value is the row's version in the part
     * @return the missing rows, or null when more than {@link #MISSING_LIMIT} are missing, or a key has no
     * text (the part is then sent whole)
     */
    static Missing compare(SyncEnvironment env, SourceTable source, List<String> key, String targetName, String pgWhere,
                           Object pgBound, String chWhere, String version) throws SQLException {
        List<PgColumn> columns = key.stream().map(k -> source.column(k).orElseThrow()).toList();
        String pgSql = "SELECT " + columns.stream().map(KeyTexts::pg).collect(Collectors.joining(", ")) + ", "
                + "(extract(epoch FROM " + Identifiers.pg(version) + ") * 1000000)::bigint"
                + " FROM " + Identifiers.pg(source.schema(), source.table()) + " WHERE " + pgWhere
                + " ORDER BY " + columns.stream().map(c -> KeyTexts.pg(c) + " COLLATE \"C\"").collect(Collectors.joining(", "));
        // ClickHouse compares strings by their bytes, as PostgreSQL's "C" collation does
        String chSql = "SELECT " + columns.stream().map(KeyTexts::ch).collect(Collectors.joining(", "))
                + ", toUnixTimestamp64Micro(" + Identifiers.ch(version) + ") FROM " + targetName + " WHERE " + chWhere
                + " ORDER BY " + String.join(", ", columns.stream().map(KeyTexts::ch).toList())
                + " SETTINGS output_format_decimal_trailing_zeros = 0";
        List<String> missing = new ArrayList<>();
        try (Connection pg = env.postgres().getConnection(); Connection ch = env.clickHouse().getConnection()) {
            try (PreparedStatement ps = pg.prepareStatement(pgSql); Statement cs = ch.createStatement()) {
                ps.setFetchSize(FETCH_ROWS);
                ps.setObject(1, pgBound);
                try (ResultSet pr = ps.executeQuery(); ResultSet cr = cs.executeQuery(chSql)) {
                    int n = columns.size();
                    Entry held = Entry.next(cr, n);
                    for (Entry row = Entry.next(pr, n); row != null; row = Entry.next(pr, n)) {
                        if (row.key == null) {
                            return null;
                        }
                        // a key counts as held only on equal texts and versions, so a difference in how the two
                        // databases order some text can make a row count as missing, never one pass for held
                        while (held != null && (held.key == null || held.compareTo(row) < 0)) {
                            held = Entry.next(cr, n);
                        }
                        boolean same = false;
                        // ClickHouse may hold several versions of a key until it merges them
                        while (held != null && held.compareTo(row) == 0) {
                            same |= held.micros == row.micros;
                            held = Entry.next(cr, n);
                        }
                        if (!same) {
                            if (missing.size() == MISSING_LIMIT) {
                                return null;
                            }
                            missing.add(String.join("\u001F", row.key));
                        }
                    }
                }
            } finally {
                pg.rollback();
            }
        }
        if (missing.isEmpty()) {
            return new Missing(0, null);
        }
        // the filter selects the missing rows by PostgreSQL's own text of their keys, so each matches itself;
        // a composite key joined by a separator can at worst select a held row too, which is harmless
        String joined = columns.stream().map(KeyTexts::pg).collect(Collectors.joining(" || chr(31) || "));
        return new Missing(missing.size(), joined + " IN (" + missing.stream().map(KeyTexts::pgLiteral)
                .collect(Collectors.joining(", ")) + ")");
    }


    /** One key of a list, its columns' texts (null when a text is NULL) and the version. */
    private record Entry(String[] key, byte[][] bytes, long micros) {

        static Entry next(ResultSet rs, int columns) throws SQLException {
            if (!rs.next()) {
                return null;
            }
            String[] key = new String[columns];
            byte[][] bytes = new byte[columns][];
            for (int i = 0; i < columns; i++) {
                key[i] = rs.getString(i + 1);
                if (key[i] == null) {
                    return new Entry(null, null, rs.getLong(columns + 1));
                }
                bytes[i] = key[i].getBytes(StandardCharsets.UTF_8);
            }
            return new Entry(key, bytes, rs.getLong(columns + 1));
        }

        /** Column by column, by the texts' bytes, as both queries order them. */
        int compareTo(Entry other) {
            for (int i = 0; i < bytes.length; i++) {
                int order = Arrays.compareUnsigned(bytes[i], other.bytes[i]);
                if (order != 0) {
                    return order;
                }
            }
            return 0;
        }
    }
}
