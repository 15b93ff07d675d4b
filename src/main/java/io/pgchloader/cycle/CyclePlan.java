package io.pgchloader.cycle;

import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.postgres.SourceTable;
import io.pgchloader.postgres.WriteHorizon;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code --plan}: what the next cycle of a table would do, worked out the way {@link TableSync#beginCycle}
 * decides it, and without writing anywhere: the DDL it would run, a backfill (PostgreSQL's estimate of its
 * rows, and its chunks), or the rows waiting in each stream below the write horizon.
 */
public final class CyclePlan {

    private static final DateTimeFormatter SHOWN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss xxx");

    private CyclePlan() {
    }

    /** The plan's lines for one table that passed the start-up checks (its {@link TableSync.Shape}). */
    public static List<String> of(TableSync sync, TableSync.Shape shape, WriteHorizon horizon) throws SQLException {
        SyncEnvironment env = sync.environment();
        SourceTable source = shape.source();
        TargetTable target = shape.target();
        List<String> lines = new ArrayList<>();
        if (!target.exists() && env.cluster() == null) {
            lines.add("create the target: " + oneLine(TargetTable.createSql(env.clickHouseDatabase(), sync.targetName(), source,
                    shape.key(), sync.getCreatedColumn(), sync.getUpdatedColumn(), shape.deleted(), null)));
        } else if (!target.exists()) {
            for (String statement : env.cluster().createSql(env.clickHouseDatabase(), sync.targetName(), source, shape.key(),
                    sync.getCreatedColumn(), sync.getUpdatedColumn(), shape.deleted(), null, env.cluster().replicated())) {
                lines.add("create the target on every host of cluster " + env.cluster().name() + ": " + oneLine(statement));
            }
        }
        shape.fitDdl().forEach(ddl -> lines.add("change the target (the columns changed in PostgreSQL): " + ddl));
        Optional<Instant> unfinished = target.exists() ? KeyBackfill.horizonIn(target.comment()) : Optional.empty();
        boolean backfill = shape.keyOrdered() && (unfinished.isPresent() || !target.exists() || target.isEmpty()
                && WatermarkLimits.userText(target.comment()).isEmpty());
        if (backfill) {
            Instant below = unfinished.orElse(horizon.bound());
            KeyBackfill plan = new KeyBackfill(source, shape.key(), below, sync.getBackfillChunkRows(), sync.getCreatedColumn(),
                    sync.getUpdatedColumn(), env.timestampZone());
            long rows = StreamProgress.plannedRows(env.postgres(), plan.estimateSql(), plan.estimateParameters());
            long chunks = Math.max(1, (rows + sync.getBackfillChunkRows() - 1) / sync.getBackfillChunkRows());
            int ranges = unfinished.isPresent() ? KeyBackfill.cutsIn(target.comment()).size() + 1 : sync.getBackfillParallelism();
            // every range ends with a short chunk of its own
            chunks = ranges == 1 ? chunks : ranges * Math.max(1, (rows / ranges + sync.getBackfillChunkRows() - 1) / sync.getBackfillChunkRows());
            lines.add((unfinished.isPresent() ? "resume the backfill in key order after the largest key ClickHouse holds: of about "
                    : "backfill in key order: about ") + String.format("%,d", rows) + " rows (PostgreSQL's estimate) in "
                    + (unfinished.isPresent() ? "up to " : "") + chunks + " chunk(s) of up to "
                    + String.format("%,d", sync.getBackfillChunkRows()) + " rows"
                    + (ranges == 1 && sync.getBackfillParallelism() == 1 ? ""
                    : ", " + (unfinished.isPresent() ? "in the " + ranges + " key ranges it began with" : "in up to " + ranges + " key ranges")
                    + ", up to " + sync.getBackfillParallelism() + " at once (backfillParallelism)"));
            return lines;
        }
        SyncCycle cycle = new SyncCycle(sync, source, shape.key(), horizon, env, shape.targetName(), List.of(), null,
                target.exists() ? target.comment() : "", target.exists() ? WatermarkLimits.in(target.comment()) : WatermarkLimits.NONE);
        if (target.exists()) {
            try (Connection c = env.clickHouse().getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery(cycle.getWatermarkSql())) {
                rs.next();
                Map<String, Object> row = new HashMap<>();
                for (String column : List.of("target_rows", "created_mark", "updated_mark", "created_keys_at_mark",
                        "updated_keys_at_mark", "created_ahead", "updated_ahead")) {
                    row.put(column, rs.getObject(column));
                }
                cycle.acceptWatermark(row);
            }
        }
        StringBuilder streams = new StringBuilder(cycle.isBackfill() ? "backfill through the streams (the key is not integer"
                + " columns): " : "");
        for (SyncCycle.Stream stream : List.of(SyncCycle.Stream.created, SyncCycle.Stream.updated)) {
            cycle.selectOnly(stream);
            streams.append(stream == SyncCycle.Stream.created ? "" : ", ").append(stream).append(" stream ")
                    .append(String.format("%,d", waiting(env, cycle))).append(" row(s) to read");
        }
        lines.add(streams + " (rows tied on a watermark only where ClickHouse lacks them)");
        if (target.exists()) {
            lines.add(reconciliation(sync));
        }
        return lines;
    }

    /**
     * When the table is next reconciled. reconcileCron counts from the start of a process, so a loader run
     * from cron with {@code --once} never reaches a fire: its reconciliation is the {@code --repair} line.
     */
    private static String reconciliation(TableSync sync) {
        return sync.nextReconciliation()
                .map(next -> "reconcile (tombstones for keys deleted in PostgreSQL, stale rows copied again) in the first"
                        + " cycle after " + SHOWN.format(ZonedDateTime.ofInstant(next, ZoneId.systemDefault())) + " (reconcileCron \"" + sync.getReconcileCron()
                        + "\") of a scheduled loader; under --once only --repair reconciles")
                .orElse("reconcile: never on its own (reconcileCron is empty); --repair reconciles");
    }

    private static long waiting(SyncEnvironment env, SyncCycle cycle) throws SQLException {
        try (Connection c = env.postgres().getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM (" + cycle.getSelectSql() + ") w")) {
                List<Object> parameters = cycle.getSelectParameters();
                for (int i = 0; i < parameters.size(); i++) {
                    ps.setObject(i + 1, parameters.get(i));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            } finally {
                c.rollback();
            }
        }
    }

    /** What holds the write horizon back, for the plan's last line. */
    public static String horizon(WriteHorizon horizon) {
        String line = "write horizon: rows stamped before " + horizon.bound() + " are read";
        if (horizon.holder() != null && horizon.lagSeconds() > 0) {
            line += "; held back " + horizon.lagSeconds() + " s by the open transaction of " + horizon.holder();
        }
        if (!horizon.complete()) {
            line += "; assumed to have begun up to SYNC_LOOKBACK_SECONDS before the loader saw them: "
                    + String.join(", ", horizon.assumed());
        }
        return line;
    }

    private static String oneLine(String sql) {
        return sql.replaceAll("\\(\\s*\\n\\s*", "(").replaceAll("\\s*\\n\\s*\\)", ")").replaceAll("\\s*\\n\\s*", " ");
    }
}
