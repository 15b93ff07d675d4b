package io.pgchloader.demo;

import io.pgchloader.common.Identifiers;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Compares one table between PostgreSQL and ClickHouse (FINAL): rows, distinct keys, and a checksum of
 * every row's key and version (a watermark table) or of every row's key and values (a CDC table, whose
 * versions are WAL positions PostgreSQL does not hold). A lost, duplicated, stale or wrongly deleted row
 * changes at least one of them.
 */
public record TableComparison(String table, long pgRows, long chRows, long chDistinctKeys, String pgChecksum,
                              String chChecksum) {

    public boolean matches() {
        return pgRows == chRows && chRows == chDistinctKeys && pgChecksum.equals(chChecksum);
    }

    /** For tables keyed by a bigint {@code id} with created_at/updated_at, like the seed's. */
    public static TableComparison of(Connection pg, Connection ch, String table) throws SQLException {
        long pgRows;
        String pgChecksum;
        // checksum: sum over rows of id * 7919 + the version in microseconds (timestamp read as UTC on both sides)
        try (Statement s = pg.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*), coalesce(sum(id * 7919"
                     + " + (extract(epoch from coalesce(updated_at, created_at)) * 1000000)::bigint), 0)::text"
                     + " FROM " + Identifiers.pg(table))) {
            rs.next();
            pgRows = rs.getLong(1);
            pgChecksum = rs.getString(2);
        }
        try (Statement s = ch.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(), uniqExact(id), toString(sum(toInt128(id) * 7919"
                     + " + toUnixTimestamp64Micro(coalesce(updated_at, created_at))))"
                     + " FROM " + Identifiers.ch(table) + " FINAL")) {
            rs.next();
            return new TableComparison(table, pgRows, rs.getLong(1), rs.getLong(2), pgChecksum, rs.getString(3));
        }
    }

    /**
     * For a table synced by CDC: each row's key and values joined as text, hashed to 60 bits (the first 15 hex
     * digits of its MD5 on both sides) and summed. Only for columns both databases render alike as text
     * (integers, plain text).
     */
    public static TableComparison ofValues(Connection pg, Connection ch, String table, List<String> key, List<String> values)
            throws SQLException {
        List<String> columns = new ArrayList<>(key);
        columns.addAll(values);
        long pgRows;
        String pgChecksum;
        try (Statement s = pg.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*), coalesce(sum(('x' || substr(md5(concat_ws('|', "
                     + Identifiers.pgList(columns) + ")), 1, 15))::bit(60)::bigint), 0)::text FROM " + Identifiers.pg(table))) {
            rs.next();
            pgRows = rs.getLong(1);
            pgChecksum = rs.getString(2);
        }
        String chText = columns.stream().map(c -> "toString(" + Identifiers.ch(c) + ")").collect(Collectors.joining(", "));
        String chKey = key.stream().map(Identifiers::ch).collect(Collectors.joining(", "));
        try (Statement s = ch.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(), uniqExact(" + chKey + "), toString(sum(toUInt128("
                     + "bitShiftRight(halfMD5(concatWithSeparator('|', " + chText + ")), 4))))"
                     + " FROM " + Identifiers.ch(table) + " FINAL")) {
            rs.next();
            return new TableComparison(table + " (CDC)", pgRows, rs.getLong(1), rs.getLong(2), pgChecksum, rs.getString(3));
        }
    }

    @Override
    public String toString() {
        return String.format("%-22s postgres %8d rows | clickhouse FINAL %8d rows, %8d keys | checksum %s | %s",
                table, pgRows, chRows, chDistinctKeys, pgChecksum.equals(chChecksum) ? "equal" : pgChecksum + " vs " + chChecksum,
                matches() ? "OK" : "DIFFERENT");
    }
}
