package io.pgchloader.cycle;

import io.pgchloader.common.Identifiers;
import io.pgchloader.postgres.SourceTable;
import io.pgchloader.postgres.StreamWindow;
import io.pgchloader.postgres.WriteHorizon;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import javax.sql.DataSource;

/**
 * A backfill in primary-key order, in chunks of {@code backfillChunkRows} rows, each chunk its own short
 * query: killed halfway, the next run asks ClickHouse for the largest key it holds and goes on from there.
 *
 * <p>What it copies: every row whose current version is older than the backfill's horizon {@code H}
 * ({@code updated < H}, or never updated and {@code created < H}), fixed when the backfill began and kept
 * in the target table's comment until it ends, so every chunk (also after a restart) draws the same line.
 * Rows that change or arrive later are at or above {@code H}; the created and updated streams take them
 * from the watermarks ClickHouse holds afterwards, which are below {@code H}. Rows below {@code H} are all
 * committed before the first chunk runs (see {@link WriteHorizon}), so none can slip into a key range
 * already passed.
 *
 * <p>With {@code backfillParallelism} above 1 the key space is cut into that many contiguous ranges by the
 * first key column (the first from its lowest value, the last to its highest, so together they hold every
 * key there can be), and each range is a backfill of its own as above: in key order, resumed after the
 * largest key ClickHouse holds within it (see {@link KeyRange}). The cuts go into the comment with the
 * horizon, so a resumed backfill finds the same ranges whatever the parameter says by then.
 *
 * <p>Only for keys that PostgreSQL and ClickHouse order alike and that travel back as numbers: integer
 * columns. Tables with other keys backfill through the created and updated streams, which resume from
 * ClickHouse's watermarks just as well.
 */
public final class KeyBackfill {

    private static final String COMMENT_PREFIX = "pg-ch-loader: backfill in progress, rows below ";
    private static final String CUTS = "; key ranges cut at ";
    private static final Set<String> INTEGER_TYPES = Set.of("int2", "int4", "int8");

    private final SourceTable source;
    private final List<String> key;
    private final Instant horizon;
    private final int chunkRows;
    private final String createdColumn;
    private final String updatedColumn;
    private final ZoneId zone;
    /** Where each range after the first begins, in the first key column: ascending, empty for one range. */
    private final List<Long> cuts;
    private final List<KeyRange> ranges = new ArrayList<>();

    KeyBackfill(SourceTable source, List<String> key, Instant horizon, int chunkRows, String createdColumn,
                String updatedColumn, ZoneId zone) {
        this(source, key, horizon, chunkRows, createdColumn, updatedColumn, zone, List.of());
    }

    KeyBackfill(SourceTable source, List<String> key, Instant horizon, int chunkRows, String createdColumn,
                String updatedColumn, ZoneId zone, List<Long> cuts) {
        this.source = source;
        this.key = key;
        this.horizon = horizon;
        this.chunkRows = chunkRows;
        this.createdColumn = createdColumn;
        this.updatedColumn = updatedColumn;
        this.zone = zone;
        this.cuts = List.copyOf(cuts);
        for (int i = 0; i <= this.cuts.size(); i++) {
            ranges.add(new KeyRange(this, i == 0 ? null : this.cuts.get(i - 1), i == this.cuts.size() ? null : this.cuts.get(i)));
        }
    }

    /** Whether the key allows it: integer columns only. */
    static boolean suits(SourceTable source, List<String> key) {
        return key.stream().allMatch(k -> source.column(k).map(c -> INTEGER_TYPES.contains(c.type().name())).orElse(false));
    }

    /** The target comment that marks a backfill in progress and remembers its horizon and its ranges. */
    String comment() {
        return COMMENT_PREFIX + horizon + (cuts.isEmpty() ? "" : CUTS + String.join(", ", cuts.stream().map(String::valueOf).toList()));
    }

    /** The horizon of a backfill in progress, from the target's comment. */
    static Optional<Instant> horizonIn(String comment) {
        if (comment == null || !comment.startsWith(COMMENT_PREFIX)) {
            return Optional.empty();
        }
        String rest = comment.substring(COMMENT_PREFIX.length());
        int cut = rest.indexOf(CUTS);
        return Optional.of(Instant.parse((cut < 0 ? rest : rest.substring(0, cut)).strip()));
    }

    /** The cuts between the ranges of a backfill in progress, from the target's comment (none: one range). */
    static List<Long> cutsIn(String comment) {
        int at = comment == null ? -1 : comment.indexOf(CUTS);
        if (at < 0 || !comment.startsWith(COMMENT_PREFIX)) {
            return List.of();
        }
        return Arrays.stream(comment.substring(at + CUTS.length()).strip().split(",\\s*")).map(Long::valueOf).toList();
    }

    /**
     * Where to cut the key space into {@code parallelism} ranges of about equal rows: PostgreSQL's own
     * quantiles of the first key column (pg_stats, from the last ANALYZE), else even steps between its
     * smallest and largest value. Fewer cuts where the values are too few to tell ranges apart.
     */
    static List<Long> cuts(DataSource postgres, SourceTable source, List<String> key, int parallelism) throws SQLException {
        if (parallelism <= 1) {
            return List.of();
        }
        String column = key.get(0);
        TreeSet<Long> cuts = new TreeSet<>();
        try (Connection connection = postgres.getConnection()) {
            try {
                List<Long> bounds = new ArrayList<>();
                try (PreparedStatement ps = connection.prepareStatement("SELECT histogram_bounds::text FROM pg_stats"
                        + " WHERE schemaname = ? AND tablename = ? AND attname = ?")) {
                    ps.setString(1, source.schema());
                    ps.setString(2, source.table());
                    ps.setString(3, column);
                    try (ResultSet rs = ps.executeQuery()) {
                        String text = rs.next() ? rs.getString(1) : null;
                        if (text != null && text.length() > 2) {
                            for (String value : text.substring(1, text.length() - 1).split(",")) {
                                bounds.add(Long.parseLong(value.strip()));
                            }
                        }
                    }
                }
                if (bounds.size() > parallelism) {
                    for (int i = 1; i < parallelism; i++) {
                        cuts.add(bounds.get((int) ((long) i * (bounds.size() - 1) / parallelism)));
                    }
                } else {
                    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery("SELECT min("
                            + Identifiers.pg(column) + "), max(" + Identifiers.pg(column) + ") FROM "
                            + Identifiers.pg(source.schema(), source.table()))) {
                        rs.next();
                        long min = rs.getLong(1);
                        boolean empty = rs.wasNull();
                        long max = rs.getLong(2);
                        if (!empty) {
                            double step = ((double) max - (double) min) / parallelism;
                            for (int i = 1; i < parallelism; i++) {
                                long cut = (long) Math.floor(min + step * i);
                                if (cut > min) {
                                    cuts.add(cut);
                                }
                            }
                        }
                    }
                }
            } finally {
                connection.rollback();
            }
        }
        return List.copyOf(cuts);
    }

    Instant horizon() {
        return horizon;
    }

    /** The ranges, in key order: one, or one per cut and one more. */
    List<KeyRange> ranges() {
        return ranges;
    }

    List<Long> cuts() {
        return cuts;
    }

    /** Chunks copied by this run, all ranges together. */
    int chunks() {
        return ranges.stream().mapToInt(KeyRange::chunks).sum();
    }

    List<String> key() {
        return key;
    }

    int chunkRows() {
        return chunkRows;
    }

    /** Every row the backfill copies: its current version is below the horizon. */
    String belowHorizonSql() {
        String created = Identifiers.pg(createdColumn);
        String updated = Identifiers.pg(updatedColumn);
        return "SELECT " + Identifiers.pgList(source.columnNames())
                + " FROM " + Identifiers.pg(source.schema(), source.table())
                + " WHERE ((" + updated + " IS NULL AND " + created + " < ?) OR " + updated + " < ?)";
    }

    /**
     * The whole backfill as PostgreSQL estimates it for progress lines: its two kinds of rows, never updated
     * and updated, as two queries whose estimates add up. One query with the OR of both undercounts: the
     * planner takes {@code updated IS NULL} and {@code updated < H} for independent and subtracts their
     * overlap, which cannot exist (with 16 % of the rows updated it said 8.4 million of 10 million).
     */
    String estimateSql() {
        String created = Identifiers.pg(createdColumn);
        String updated = Identifiers.pg(updatedColumn);
        String from = "SELECT " + Identifiers.pgList(source.columnNames()) + " FROM " + Identifiers.pg(source.schema(), source.table());
        return from + " WHERE " + updated + " IS NULL AND " + created + " < ? UNION ALL " + from + " WHERE " + updated + " < ?";
    }

    List<Object> estimateParameters() {
        return List.of(StreamWindow.at(source.column(createdColumn).orElseThrow().type(), horizon, zone),
                StreamWindow.at(source.column(updatedColumn).orElseThrow().type(), horizon, zone));
    }
}
