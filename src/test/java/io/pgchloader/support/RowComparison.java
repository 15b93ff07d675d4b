package io.pgchloader.support;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Every row of a table compared between PostgreSQL and ClickHouse ({@code FINAL}), by key. Each side is
 * given as a query returning the key ({@code bigint}) and then the row rendered as text in the same
 * format on both sides, so any value changed, lost or left at an older version shows up.
 *
 * @param pgRows     rows in PostgreSQL
 * @param chRows     rows ClickHouse returns under FINAL
 * @param lost       keys in PostgreSQL that ClickHouse does not have
 * @param phantom    keys in ClickHouse that PostgreSQL does not have
 * @param stale      keys present on both sides whose rows differ (an older version, or a value changed in transit)
 * @param duplicates keys ClickHouse returns more than once under FINAL
 * @param samples    a few differences, with both sides' text, for the failure message
 */
public record RowComparison(long pgRows, long chRows, List<Long> lost, List<Long> phantom, List<Long> stale,
                            List<Long> duplicates, List<String> samples) {

    private static final int SAMPLES = 12;

    public static RowComparison of(LoaderFixture loader, String pgSql, String chSql) throws SQLException {
        Map<Long, String> pg;
        try (Connection c = loader.postgres()) {
            pg = read(c, pgSql, null);
        }
        List<Long> duplicates = new ArrayList<>();
        Map<Long, String> ch;
        long chRows;
        try (Connection c = loader.clickHouse()) {
            ch = read(c, chSql, duplicates::add);
            chRows = ch.size() + duplicates.size();
        }
        List<Long> lost = new ArrayList<>();
        List<Long> stale = new ArrayList<>();
        List<String> samples = new ArrayList<>();
        for (Map.Entry<Long, String> row : new TreeMap<>(pg).entrySet()) {
            String other = ch.get(row.getKey());
            if (other == null) {
                lost.add(row.getKey());
                sample(samples, "lost    id " + row.getKey() + "\n  pg: " + row.getValue());
            } else if (!other.equals(row.getValue())) {
                stale.add(row.getKey());
                sample(samples, "stale   id " + row.getKey() + "\n  pg: " + row.getValue() + "\n  ch: " + other);
            }
        }
        List<Long> phantom = new ArrayList<>();
        for (Map.Entry<Long, String> row : new TreeMap<>(ch).entrySet()) {
            if (!pg.containsKey(row.getKey())) {
                phantom.add(row.getKey());
                sample(samples, "phantom id " + row.getKey() + "\n  ch: " + row.getValue());
            }
        }
        for (Long id : duplicates) {
            sample(samples, "duplicate id " + id + " under FINAL");
        }
        return new RowComparison(pg.size(), chRows, lost, phantom, stale, duplicates, samples);
    }

    /** Key to row text; a key seen again goes to {@code duplicates} (or fails, where there must be none). */
    private static Map<Long, String> read(Connection c, String sql, Consumer<Long> duplicates) throws SQLException {
        Map<Long, String> rows = new HashMap<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                long id = rs.getLong(1);
                StringBuilder text = new StringBuilder();
                for (int i = 2; i <= columns; i++) {
                    text.append(i > 2 ? " | " : "").append(rs.getString(i));
                }
                if (rows.put(id, text.toString()) != null) {
                    if (duplicates == null) {
                        throw new IllegalStateException("key " + id + " twice in: " + sql);
                    }
                    duplicates.accept(id);
                }
            }
        }
        return rows;
    }

    private static void sample(List<String> samples, String text) {
        if (samples.size() < SAMPLES) {
            samples.add(text);
        }
    }

    public boolean matches() {
        return lost.isEmpty() && phantom.isEmpty() && stale.isEmpty() && duplicates.isEmpty() && pgRows == chRows;
    }

    /** One line of figures, then the sample differences. */
    public String report() {
        StringBuilder out = new StringBuilder(String.format(
                "postgres %d rows, clickhouse FINAL %d rows: lost %d, duplicates %d, stale %d, phantom %d",
                pgRows, chRows, lost.size(), duplicates.size(), stale.size(), phantom.size()));
        for (String s : samples) {
            out.append('\n').append(s);
        }
        return out.toString();
    }
}
