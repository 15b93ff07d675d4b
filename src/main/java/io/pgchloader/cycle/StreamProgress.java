package io.pgchloader.cycle;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress lines for a long stream (a backfill, a big catch-up): every PROGRESS_SECONDS while it runs,
 * rows in ClickHouse so far, rows/s, percent and time to go. Short streams, the usual incremental cycle,
 * never print one.
 *
 * <p>The total is PostgreSQL's own estimate for the stream's query (EXPLAIN, no rows read), asked only
 * once a stream has run long enough to need a progress line: exact counts of a large table would cost
 * a scan of their own.
 */
final class StreamProgress {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.sync");
    private static final Pattern PLAN_ROWS = Pattern.compile("\"Plan Rows\":\\s*(\\d+)");

    private final String label;
    private final DataSource postgres;
    private final String selectSql;
    private final List<Object> parameters;
    private final long everyNanos;
    private final long startNanos = System.nanoTime();
    private long lastLineNanos = startNanos;
    private Long estimate;

    StreamProgress(String label, Duration every, DataSource postgres, String selectSql, List<Object> parameters) {
        this.label = label;
        this.everyNanos = every.toNanos();
        this.postgres = postgres;
        this.selectSql = selectSql;
        this.parameters = parameters;
    }

    /** After an INSERT: a progress line when the last one is PROGRESS_SECONDS old. */
    void shipped(long rowsSoFar) {
        long now = System.nanoTime();
        if (now - lastLineNanos < everyNanos) {
            return;
        }
        lastLineNanos = now;
        double seconds = (now - startNanos) / 1e9;
        double rate = rowsSoFar / seconds;
        long total = Math.max(estimate(), rowsSoFar);
        if (total == 0) {
            LOG.info("{}: {} rows, {} rows/s", label, String.format("%,d", rowsSoFar), String.format("%,.0f", rate));
            return;
        }
        // the estimate can be short: never claim 100% before the stream has ended
        long percent = Math.min(99, rowsSoFar * 100 / total);
        LOG.info("{}: {} of about {} rows ({}%), {} rows/s, about {} to go", label, String.format("%,d", rowsSoFar),
                String.format("%,d", total), percent, String.format("%,.0f", rate), duration((total - rowsSoFar) / rate));
    }

    private long estimate() {
        if (estimate == null) {
            estimate = plannedRows();
        }
        return estimate;
    }

    private long plannedRows() {
        try {
            return plannedRows(postgres, selectSql, parameters);
        } catch (SQLException e) {
            // progress is a courtesy: without an estimate, lines show rows and rate only
            LOG.debug("{}: no row estimate: {}", label, e.getMessage());
            return 0;
        }
    }

    /** PostgreSQL's estimate of the rows a query returns (EXPLAIN: planned, never read); 0 when it shows none. */
    static long plannedRows(DataSource postgres, String selectSql, List<Object> parameters) throws SQLException {
        try (Connection connection = postgres.getConnection()) {
            try (PreparedStatement ps = connection.prepareStatement("EXPLAIN (FORMAT JSON) " + selectSql)) {
                for (int i = 0; i < parameters.size(); i++) {
                    ps.setObject(i + 1, parameters.get(i));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    Matcher m = PLAN_ROWS.matcher(rs.next() ? rs.getString(1) : "");
                    return m.find() ? Long.parseLong(m.group(1)) : 0;
                }
            } finally {
                connection.rollback();
            }
        }
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return (s / 60) + " min " + (s % 60) + " s";
        }
        return (s / 3600) + " h " + (s % 3600 / 60) + " min";
    }
}
