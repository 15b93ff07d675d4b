package io.pgchloader.cycle;

import io.pgchloader.clickhouse.PgToClickHouse;
import io.pgchloader.clickhouse.RowBinary;
import io.pgchloader.clickhouse.RowBinaryInsert;
import io.pgchloader.clickhouse.RowCounts;
import io.pgchloader.clickhouse.StreamInsert;
import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.common.Identifiers;
import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.PgType;
import io.pgchloader.postgres.SourceRow;
import io.pgchloader.postgres.SourceTable;
import io.pgchloader.postgres.StreamWindow;
import io.pgchloader.postgres.WriteHorizon;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * One sync cycle of one table: the SQL it runs, the watermark ClickHouse reported and what was shipped.
 * Travels through the route in the exchange variable {@code cycle}.
 *
 * <p>Two streams, each in the order of its own timestamp column, each resuming from its own watermark:
 * <ul>
 *   <li><b>created</b>: rows never updated ({@code updated IS NULL}) with {@code created >= } the largest
 *   created value among never-updated rows in ClickHouse;</li>
 *   <li><b>updated</b>: rows with {@code updated >= } the largest updated value in ClickHouse.</li>
 * </ul>
 * Batches go in one after the other in that order, so whatever ClickHouse holds of a stream is a prefix
 * of it: a cycle that dies halfway leaves a watermark the next cycle can safely resume from. Rows tied on
 * the watermark are compared with the keys ClickHouse holds there, and those it lacks (a tie cut by a
 * crash, a row stamped with exactly that value later) are read again; the others are not sent again
 * (see {@link HeldVersions}). An empty target is a backfill: both streams unbounded.
 *
 * <p>Rows stamped in the future (beyond PostgreSQL's clock) follow in a stream of their own, those
 * ClickHouse does not hold in that version yet; they never move a watermark, which is taken only below
 * the limits the target's comment keeps while such rows are in it (see {@link WatermarkLimits}).
 */
public final class SyncCycle implements RowCounts {

    /**
     * The two incremental streams, the key-ordered backfill (see {@link KeyBackfill}), the rows a
     * reconciliation found missing or stale in ClickHouse (see {@link Reconciler}), and the rows of both
     * streams stamped in the future that ClickHouse does not hold in that version yet.
     */
    public enum Stream { created, updated, backfill, repair, future }

    private static final int STREAMS = Stream.values().length;

    private static final DateTimeFormatter CLICKHOUSE_DATETIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss[.SSSSSS]");

    /**
     * Clocks of other machines may run a little ahead; beyond this a timestamp is "in the future". No row
     * the database clock stamped can be that far ahead of it, so copying such rows early never races a
     * transaction still writing below them.
     */
    public static final Duration FUTURE_TOLERANCE = Duration.ofMinutes(1);

    /** How the current stream treats the rows tied on its watermark. */
    private enum Tie {
        /** no watermark, or the window starts below it (clocks went back): read as they come */
        NONE,
        /** ClickHouse holds every one: the window starts after the watermark */
        HELD,
        /** ClickHouse lacks some: those are read, the rest not */
        SOME_MISSING,
        /** not compared (key type, too many missing): all are read again */
        READ_AGAIN
    }

    private final TableSync table;
    private final SourceTable source;
    private final WriteHorizon horizon;
    private final SyncEnvironment environment;
    private final List<String> key;
    private final String targetName;
    private final List<String> targetDdl;
    private final long startNanos = System.nanoTime();
    private final Instant startedAt = Instant.now();

    private long targetRows;
    /** The watermarks of the table's last cycle, in microseconds: the query looks at or above them (null: everywhere). */
    private Long createdBound;
    private Long updatedBound;
    private boolean prunesByVersion;
    private boolean watermarkPending = true;
    private Instant createdMark;
    private Instant updatedMark;
    private Stream stream;
    /** The watermark the current stream started from, in microseconds as rows carry it (see PgToClickHouse). */
    private Long streamStartMark;
    private final RowBinaryInsert.Layout insertLayout;
    private int streamColumnIndex;
    private StreamInsert streamInsert;
    private StreamProgress progress;
    private KeyBackfill keyBackfill;
    /** A cycle of one key range of the backfill: its range, and the table's cycle it reports to. */
    private KeyRange keyRange;
    private SyncCycle parent;
    /** The table's cycle: the cycles of its key ranges, once the backfill asked for them. */
    private List<SyncCycle> rangeCycles;
    private volatile boolean closed;
    private ReadAhead reading;
    private StreamProgress backfillProgress;
    /** Per stream: rows past the watermark, rows exactly at it, rows behind it (lookback re-reads). */
    private final long[] rowsPast = new long[STREAMS];
    private final long[] rowsAtMark = new long[STREAMS];
    private final long[] rowsBehind = new long[STREAMS];
    /** Per stream: distinct keys ClickHouse already held at the watermark when the cycle began. */
    private final long[] keysAtMark = new long[STREAMS];
    /** Set when this cycle reconciles; its result once it has. */
    private Reconciler.Request reconciliation;
    private Reconciler.Result reconciled;
    private long batches;

    /** The target's comment as the cycle left it, and the watermark limits it holds (see WatermarkLimits). */
    private String comment;
    private WatermarkLimits limits;
    /** The limits when the cycle began: the watermark query counts the rows at or above them. */
    private final WatermarkLimits limitsAtStart;
    /** Per stream: rows ClickHouse held at or above the limit the stream will leave, when the cycle began. */
    private final long[] rowsAhead = new long[STREAMS];
    /** Per stream: rows stamped in the future in PostgreSQL when the cycle began. */
    private final long[] futureInPostgres = new long[STREAMS];
    /** Per stream (created, updated): rows shipped by the future stream. */
    private final long[] rowsFuture = new long[STREAMS];
    /** Per stream: whether the rows tied on the watermark were compared with ClickHouse's. */
    private final boolean[] tieCompared = new boolean[STREAMS];

    // the current stream's query, fixed by startStream
    private Object lower;
    private Object upper;
    private Tie tie = Tie.NONE;
    private String tieFilter;
    /** Per stream (created, updated): the future stream reads its rows above this bound; null for none. */
    private final Object[] futureBounds = new Object[2];
    /** Per stream: which of those rows, when ClickHouse holds some (null: all). */
    private final String[] futureFilters = new String[2];
    private final int updatedColumnIndex;

    SyncCycle(TableSync table, SourceTable source, List<String> key, WriteHorizon horizon, SyncEnvironment environment,
              String targetName, List<String> targetDdl, RowBinaryInsert.Layout insertLayout, String comment,
              WatermarkLimits limits) {
        this.table = table;
        this.source = source;
        this.key = key;
        this.horizon = horizon;
        this.environment = environment;
        this.targetName = targetName;
        this.targetDdl = targetDdl;
        this.insertLayout = insertLayout;
        this.comment = comment;
        this.limits = limits;
        this.limitsAtStart = limits;
        this.updatedColumnIndex = source.columnNames().indexOf(table.getUpdatedColumn());
    }

    /** Whether PostgreSQL held rows stamped in the future when the cycle began: the future stream runs then. */
    public boolean isFuturePending() {
        return futureInPostgres[Stream.created.ordinal()] + futureInPostgres[Stream.updated.ordinal()] > 0;
    }

    /** Rows PostgreSQL holds stamped in the future, per stream, as counted when the cycle began. */
    void futureRows(long created, long updated) {
        futureInPostgres[Stream.created.ordinal()] = created;
        futureInPostgres[Stream.updated.ordinal()] = updated;
    }

    /** CREATE TABLE for a missing target, ADD COLUMN for columns PostgreSQL gained; usually empty. */
    public List<String> getTargetDdl() {
        return targetDdl;
    }

    public int getBatchSize() {
        return table.getBatchSize();
    }

    /**
     * One row: how many rows the target holds, the watermark of each stream in microseconds since the epoch
     * (whatever time zone the column shows), taken below the stream's limit if it has one, how many
     * keys sit exactly at each watermark (so rows read again there are not reported as new), and how many
     * rows of each stream sit at or above the limit the stream will leave (see {@link WatermarkLimits}).
     */
    public String getWatermarkSql() {
        String created = Identifiers.ch(table.getCreatedColumn());
        String updated = Identifiers.ch(table.getUpdatedColumn());
        String keyTuple = "tuple(" + Identifiers.chList(key) + ")";
        Long createdLimit = limitsAtStart.created();
        Long updatedLimit = limitsAtStart.updated();
        String createdMark = "maxIfOrNull(" + created + ", isNull(" + updated + ")"
                + (createdLimit == null ? "" : " AND toUnixTimestamp64Micro(" + created + ") < " + createdLimit) + ")";
        String updatedMark = updatedLimit == null ? "maxOrNull(" + updated + ")"
                : "maxIfOrNull(" + updated + ", toUnixTimestamp64Micro(" + updated + ") < " + updatedLimit + ")";
        // Each part its own scan, each narrowed to the versions it can be about. A watermark is the largest
        // value at or above the last one, when any is there: the same as the largest of all. The conditions
        // on _version follow from the others (see TargetTable.prunesByVersion) and only let ClickHouse skip
        // granules by the index.
        return "WITH (SELECT " + createdMark + " FROM " + targetName + where(atOrAbove(created, createdBound)) + ") AS cm,"
                + " (SELECT " + updatedMark + " FROM " + targetName + where(atOrAbove(updated, updatedBound)) + ") AS um"
                + " SELECT (SELECT count() FROM " + targetName + ") AS target_rows,"
                + " toUnixTimestamp64Micro(cm) AS created_mark, toUnixTimestamp64Micro(um) AS updated_mark,"
                + " (SELECT uniqExact(" + keyTuple + ") FROM " + targetName + " WHERE " + versionAtLeast("cm")
                + "isNull(" + updated + ") AND " + created + " = cm) AS created_keys_at_mark,"
                + " (SELECT uniqExact(" + keyTuple + ") FROM " + targetName + " WHERE " + versionAtLeast("um")
                + updated + " = um) AS updated_keys_at_mark,"
                + " (SELECT count() FROM " + targetName + " WHERE " + versionAtLeast(limitToLeave(Stream.created))
                + "isNull(" + updated + ") AND toUnixTimestamp64Micro(" + created + ") >= " + limitToLeave(Stream.created)
                + ") AS created_ahead,"
                + " (SELECT count() FROM " + targetName + " WHERE " + versionAtLeast(limitToLeave(Stream.updated))
                + "toUnixTimestamp64Micro(" + updated + ") >= " + limitToLeave(Stream.updated) + ") AS updated_ahead";
    }

    /** Rows of the column at or above a bound in microseconds; null for none. */
    private String atOrAbove(String column, Long bound) {
        return bound == null ? null : versionAtLeast(bound) + "toUnixTimestamp64Micro(" + column + ") >= " + bound;
    }

    private static String where(String condition) {
        return condition == null ? "" : " WHERE " + condition;
    }

    /** The skipping condition for a bound in microseconds, followed by AND; nothing when the table cannot skip. */
    private String versionAtLeast(long micros) {
        return prunesByVersion ? Identifiers.ch(TargetTable.VERSION_COLUMN) + " >= fromUnixTimestamp64Micro(toInt64(" + micros
                + "), 'UTC') AND " : "";
    }

    /** The same for a bound that is a DateTime64 expression, such as a watermark of this query. */
    private String versionAtLeast(String expression) {
        return prunesByVersion ? Identifiers.ch(TargetTable.VERSION_COLUMN) + " >= " + expression + " AND " : "";
    }

    /**
     * Reads the watermarks at or above these (those of the last cycle, in microseconds; null where none),
     * and lets ClickHouse skip granules by the version index where the table allows it.
     */
    void readWatermarkAbove(Long createdBound, Long updatedBound, boolean prunesByVersion) {
        this.createdBound = createdBound;
        this.updatedBound = updatedBound;
        this.prunesByVersion = prunesByVersion;
    }

    /** Whether the watermark query is still to run (again, over the whole target, when the bounds found nothing). */
    public boolean isWatermarkPending() {
        return watermarkPending;
    }

    /**
     * The limit a stream leaves once its window is in: its upper bound (every row below it is in ClickHouse
     * then), or the limit it started with where that is higher (the horizon can go back, at a restart).
     */
    private long limitToLeave(Stream s) {
        Long atStart = limitsAtStart.of(s);
        long top = upperMicros(s);
        return atStart == null ? top : Math.max(atStart, top);
    }

    /** A stream's upper bound, the write horizon, in microseconds as rows carry it. */
    private long upperMicros(Stream s) {
        String column = s == Stream.updated ? table.getUpdatedColumn() : table.getCreatedColumn();
        return micros(StreamWindow.upper(source.column(column).orElseThrow().type(), horizon, environment.timestampZone()));
    }

    /** A bound as bound to PostgreSQL, in microseconds as ClickHouse stores the column. */
    private static long micros(Object bound) {
        return bound instanceof OffsetDateTime t ? PgToClickHouse.microsOf(t.toInstant())
                : PgToClickHouse.microsOf(((LocalDateTime) bound).toInstant(ZoneOffset.UTC));
    }

    /** Takes the row of {@link #getWatermarkSql()} as camel-jdbc returns it. */
    public void acceptWatermark(Object result) {
        Map<?, ?> row = result instanceof List<?> list ? (Map<?, ?>) list.get(0) : (Map<?, ?>) result;
        createdMark = parseMark(row.get("created_mark"));
        updatedMark = parseMark(row.get("updated_mark"));
        if ((createdBound != null && createdMark == null) || (updatedBound != null && updatedMark == null)) {
            // nothing at or above the last watermark any more (rows removed in ClickHouse): ask the whole target
            createdBound = null;
            updatedBound = null;
            return;
        }
        watermarkPending = false;
        table.rememberWatermarks(createdMark == null ? null : PgToClickHouse.microsOf(createdMark),
                updatedMark == null ? null : PgToClickHouse.microsOf(updatedMark));
        targetRows = ((Number) row.get("target_rows")).longValue();
        keysAtMark[Stream.created.ordinal()] = ((Number) row.get("created_keys_at_mark")).longValue();
        keysAtMark[Stream.updated.ordinal()] = ((Number) row.get("updated_keys_at_mark")).longValue();
        rowsAhead[Stream.created.ordinal()] = ((Number) row.get("created_ahead")).longValue();
        rowsAhead[Stream.updated.ordinal()] = ((Number) row.get("updated_ahead")).longValue();
    }

    private static Instant parseMark(Object micros) {
        return micros == null ? null : PgToClickHouse.instantOfMicros(((Number) micros).longValue());
    }

    public boolean isBackfill() {
        return keyBackfill != null || targetRows == 0;
    }

    /** Selects the stream the next SQL getters describe, and decides what it reads. */
    public void startStream(String name) throws SQLException {
        if (parent != null && parent.closed) {
            // the cycle ended: this range stops before its next chunk
            throw new SyncException(source.qualifiedName() + ": the cycle ended before key range " + keyRange.describe() + " was done");
        }
        stream = Stream.valueOf(name);
        streamStartMark = mark() == null ? null : PgToClickHouse.microsOf(mark());
        streamColumnIndex = source.columnNames().indexOf(streamColumn());
        streamInsert = new StreamInsert(this, insertLayout, table.getInsertRows());
        if (stream == Stream.created || stream == Stream.updated) {
            planWindow();
            if (environment.cluster() != null) {
                holdWatermarkWhileSending();
            }
        } else if (stream == Stream.future) {
            planFuture();
        }
        if (stream == Stream.backfill) {
            keyRange.chunkStarts(rowsPast[Stream.backfill.ordinal()]);
            // the table's progress: every chunk of every range, against the estimate of the whole backfill
            progress = null;
        } else {
            progress = new StreamProgress(source.qualifiedName() + (isBackfill() ? " (backfill)" : "") + ", "
                    + (stream == Stream.future ? "rows stamped in the future" : stream + " stream"),
                    environment.progressEvery(), environment.postgres(), getSelectSql(), getSelectParameters());
        }
    }

    /**
     * Selects a stream for its SQL only (the plan counts what it would read): no insert, no progress.
     * {@link #getSelectSql()} and {@link #getSelectParameters()} then describe it.
     */
    void selectOnly(Stream name) throws SQLException {
        stream = name;
        streamStartMark = mark() == null ? null : PgToClickHouse.microsOf(mark());
        planWindow();
    }

    /** The current stream's query: its window, and what it does with the rows tied on the watermark. */
    private void planWindow() throws SQLException {
        int s = stream.ordinal();
        lower = lowerBound();
        upper = StreamWindow.upper(streamType(), horizon, environment.timestampZone());
        tie = Tie.NONE;
        tieFilter = null;
        if (lower == null || streamStartMark == null || micros(lower) != streamStartMark) {
            return;
        }
        // The window starts at the watermark: rows tied on it were read before. Those ClickHouse holds at that
        // key and version need not go again (same key, same timestamp: the same write, see how-it-works.md);
        // those it lacks must (a tie a crash cut short, a row stamped with that value later): compare keys.
        String column = streamColumn();
        HeldVersions.Missing missing = HeldVersions.suits(source, key) ? HeldVersions.compare(environment, source, key,
                targetName, pgNeverUpdated(stream) + Identifiers.pg(column) + " = ?", lower,
                versionAtLeast(streamStartMark) + chNeverUpdated(stream) + "toUnixTimestamp64Micro(" + Identifiers.ch(column)
                        + ") = " + streamStartMark, column)
                : null;
        tieCompared[s] = missing != null;
        tie = missing == null ? Tie.READ_AGAIN : missing.none() ? Tie.HELD : Tie.SOME_MISSING;
        tieFilter = missing == null ? null : missing.pgFilter();
    }

    /**
     * The future stream's query: per stream with rows stamped in the future, those ClickHouse does not hold
     * in that version. The future begins {@link #FUTURE_TOLERANCE} after PostgreSQL's clock now, not when
     * the cycle began: a row the database clock stamped since then is no future.
     */
    private void planFuture() throws SQLException {
        WatermarkLimits next = limits;
        Instant soon = null;
        for (Stream s : List.of(Stream.created, Stream.updated)) {
            int i = s.ordinal();
            futureBounds[i] = null;
            futureFilters[i] = null;
            if (futureInPostgres[i] == 0) {
                continue;
            }
            soon = soon == null ? postgresNow().plus(FUTURE_TOLERANCE) : soon;
            String column = column(s);
            Object bound = StreamWindow.future(source.column(column).orElseThrow().type(), soon, environment.timestampZone());
            if (micros(bound) <= upperMicros(s)) {
                // never while clocks run forward; future rows must stay above the watermark's limit
                continue;
            }
            HeldVersions.Missing missing = HeldVersions.suits(source, key) ? HeldVersions.compare(environment, source, key,
                    targetName, pgNeverUpdated(s) + Identifiers.pg(column) + " > ?", bound,
                    versionAtLeast(micros(bound)) + chNeverUpdated(s) + "toUnixTimestamp64Micro(" + Identifiers.ch(column) + ") > "
                            + micros(bound), column)
                    : null;
            if (missing != null && missing.none()) {
                continue;
            }
            futureBounds[i] = bound;
            futureFilters[i] = missing == null ? null : missing.pgFilter();
            if (next.of(s) == null) {
                next = next.with(s, upperMicros(s));
            }
        }
        if (!next.equals(limits)) {
            // before the first future row goes in: from now on that watermark is taken below the horizon
            writeLimits(next);
        }
    }

    private String column(Stream s) {
        return s == Stream.updated ? table.getUpdatedColumn() : table.getCreatedColumn();
    }

    private String pgNeverUpdated(Stream s) {
        return s == Stream.created ? Identifiers.pg(table.getUpdatedColumn()) + " IS NULL AND " : "";
    }

    private String chNeverUpdated(Stream s) {
        return s == Stream.created ? "isNull(" + Identifiers.ch(table.getUpdatedColumn()) + ") AND " : "";
    }

    private Instant postgresNow() throws SQLException {
        try (Connection connection = environment.postgres().getConnection()) {
            try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery("SELECT now()")) {
                rs.next();
                return rs.getObject(1, OffsetDateTime.class).toInstant();
            } finally {
                connection.rollback();
            }
        }
    }

    private void writeLimits(WatermarkLimits next) throws SQLException {
        String text = next.comment(comment);
        try (Connection connection = environment.clickHouse().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(TargetTable.commentSql(targetName, text));
        }
        comment = text;
        limits = next;
    }

    /** Below every value a DateTime64 column holds: a watermark taken below it is none, and the stream reads everything. */
    private static final long BEFORE_ANY_ROW = PgToClickHouse.microsOf(Instant.parse("1900-01-01T00:00:00Z"));

    /**
     * A Distributed target splits each INSERT among the shards, and a failed one can leave its rows on
     * some shards only: the largest timestamp ClickHouse holds then no longer means every row below it is
     * there, which the watermark relies on. So while a stream sends, its watermark is taken below where
     * the stream starts (a limit as for future rows, see {@link WatermarkLimits}); {@link #streamDone}
     * lifts it once the whole window is in. A cycle that fails in between leaves the limit, and the next
     * one reads the window again: rows sent twice are the same versions, which FINAL and merges keep once.
     */
    private void holdWatermarkWhileSending() throws SQLException {
        long from = lower == null ? BEFORE_ANY_ROW : micros(lower);
        Long held = limits.of(stream);
        if (held == null || from < held) {
            writeLimits(limits.with(stream, from));
        }
    }

    /**
     * After a stream's last INSERT: every row below its window's upper bound is in ClickHouse now, so its
     * limit moves up to there, or goes away when ClickHouse holds none of its rows at or above it and
     * PostgreSQL none stamped in the future (the future stream, after this one, would set it again).
     */
    public void streamDone() throws SQLException {
        if (stream != Stream.created && stream != Stream.updated || limits.of(stream) == null) {
            return;
        }
        int s = stream.ordinal();
        Long next = rowsAhead[s] + futureInPostgres[s] > 0 ? limitToLeave(stream) : null;
        if (!Objects.equals(next, limits.of(stream))) {
            writeLimits(limits.with(stream, next));
        }
    }

    /** The current stream's reading thread, stopped at the latest when the cycle ends (see {@link #close}). */
    void readingFrom(ReadAhead batches) {
        reading = batches;
    }

    /**
     * Ends what the cycle still runs: a reading thread or an open INSERT a failed stream left behind, also
     * in the cycles of its key ranges (the split returns only once every range is back, so none should
     * still copy; one that did would stop within its chunk).
     */
    public void close() {
        closed = true;
        List<SyncCycle> ranges;
        synchronized (this) {
            ranges = rangeCycles == null ? List.of() : List.copyOf(rangeCycles);
        }
        for (SyncCycle range : ranges) {
            range.close();
        }
        if (reading != null) {
            reading.close();
        }
        if (streamInsert != null) {
            streamInsert.abandon();
        }
    }

    /** The key-ordered backfill this cycle runs before its streams, or null (see {@link KeyBackfill}). */
    public KeyBackfill getKeyBackfill() {
        return keyBackfill;
    }

    // not named keyBackfill(..): the route's ${variable.cycle.keyBackfill} would call it instead of the getter
    void useKeyBackfill(KeyBackfill backfill) {
        keyBackfill = backfill;
    }

    /** A key range's cycle: the range it copies (null in the table's cycle). */
    public KeyRange getKeyRange() {
        return keyRange;
    }

    /**
     * The backfill's key ranges, each as a cycle of its own that the route's split copies, up to
     * backfillParallelism at once: every stream state (its query, its INSERT, its reading thread) is per
     * range, the counts and the progress line add up here.
     */
    public synchronized List<SyncCycle> getBackfillRanges() {
        if (rangeCycles == null) {
            rangeCycles = new ArrayList<>();
            for (KeyRange range : keyBackfill.ranges()) {
                SyncCycle cycle = new SyncCycle(table, source, key, horizon, environment, targetName, List.of(), insertLayout,
                        comment, limits);
                cycle.parent = this;
                cycle.keyBackfill = keyBackfill;
                cycle.keyRange = range;
                rangeCycles.add(cycle);
            }
        }
        return rangeCycles;
    }

    /** A range's INSERT succeeded: the table's counts and its one progress line for the whole backfill. */
    private synchronized void rangeShipped(Tally tally) {
        rowsPast[Stream.backfill.ordinal()] += tally.past;
        batches += tally.batches;
        if (backfillProgress == null) {
            backfillProgress = new StreamProgress(source.qualifiedName() + " (backfill in key order"
                    + (keyBackfill.ranges().size() == 1 ? ")" : ", " + keyBackfill.ranges().size() + " key ranges)"),
                    environment.progressEvery(), environment.postgres(), keyBackfill.estimateSql(),
                    keyBackfill.estimateParameters());
        }
        backfillProgress.shipped(rowsPast[Stream.backfill.ordinal()]);
    }

    public String getBackfillPositionSql() {
        return resumesOnShards() ? keyRange.shardPositionsSql(targetName) : keyRange.positionSql(targetName);
    }

    /**
     * Whether the backfill's position is each shard's: before a run's first chunk only, when a failed run
     * may have left its last INSERT on some shards. A chunk this run sent whole is on every shard.
     */
    private boolean resumesOnShards() {
        return environment.cluster() != null && keyRange.firstChunk();
    }

    /** Ends the backfill: the target's comment no longer marks one in progress. */
    public String getBackfillDoneSql() {
        for (KeyRange range : keyBackfill.ranges()) {
            if (range.isPending()) {
                // never: the split ends only once every range has come back short, or fails
                throw new IllegalStateException(source.qualifiedName() + ": key range " + range.describe() + " is not done");
            }
        }
        return TargetTable.commentSql(targetName, "");
    }

    public void acceptBackfillPosition(Object rows) throws SQLException {
        if (!resumesOnShards()) {
            keyRange.acceptPosition((List<?>) rows);
        } else {
            keyRange.acceptPosition((List<?>) rows, environment.cluster().shards());
        }
    }

    public void backfillChunkDone() {
        keyRange.chunkDone(rowsPast[Stream.backfill.ordinal()]);
    }

    private Instant mark() {
        return switch (stream) {
            case created -> createdMark;
            case updated -> updatedMark;
            case backfill, repair, future -> null;
        };
    }

    void useReconciliation(Reconciler.Request request) {
        reconciliation = request;
    }

    /** Whether this cycle reconciles the table after its streams (reconcileCron, or --repair). */
    public boolean isReconciling() {
        return reconciliation != null;
    }

    Reconciler.Request reconciliation() {
        return reconciliation;
    }

    void reconciled(Reconciler.Result result) {
        reconciled = result;
    }

    /** Whether the reconciliation left rows to copy again (the repair stream). */
    public boolean isRepairPending() {
        return reconciled != null && reconciled.copies();
    }

    public Reconciler.Result getReconciled() {
        return reconciled;
    }

    /** The column a stream is ordered and counted by; the key-ordered backfill counts by created. */
    private String streamColumn() {
        return stream == Stream.updated ? table.getUpdatedColumn() : table.getCreatedColumn();
    }

    /**
     * The PostgreSQL query of the current stream: its window {@code [watermark, horizon)} (see
     * {@link StreamWindow}) without the tied rows ClickHouse holds, in the order of its timestamp; for the
     * future stream, the future rows ClickHouse lacks, in any order (they never move a watermark).
     */
    public String getSelectSql() {
        if (stream == Stream.backfill) {
            return keyRange.chunkSql();
        }
        if (stream == Stream.repair) {
            return "SELECT " + Identifiers.pgList(source.columnNames())
                    + " FROM " + Identifiers.pg(source.schema(), source.table())
                    + " WHERE " + reconciled.copyCondition();
        }
        String select = "SELECT " + Identifiers.pgList(source.columnNames())
                + " FROM " + Identifiers.pg(source.schema(), source.table()) + " WHERE ";
        if (stream == Stream.future) {
            List<String> parts = new ArrayList<>();
            for (Stream s : List.of(Stream.created, Stream.updated)) {
                int i = s.ordinal();
                if (futureBounds[i] != null) {
                    parts.add("(" + pgNeverUpdated(s) + Identifiers.pg(column(s)) + " > ?"
                            + (futureFilters[i] == null ? "" : " AND " + futureFilters[i]) + ")");
                }
            }
            return select + (parts.isEmpty() ? "FALSE" : String.join(" OR ", parts));
        }
        String column = Identifiers.pg(streamColumn());
        return select + pgNeverUpdated(stream)
                + (lower == null ? "" : column + (tie == Tie.HELD ? " > ? AND " : " >= ? AND "))
                + column + " < ?"
                // evaluated for the tied rows only, so the index still gives the range and the order
                + (tie == Tie.SOME_MISSING ? " AND (" + column + " > ? OR " + tieFilter + ")" : "")
                + " ORDER BY " + column;
    }

    /** The window's bounds, typed like the column so PostgreSQL compares exactly and uses its index. */
    public List<Object> getSelectParameters() {
        if (stream == Stream.backfill) {
            return keyRange.chunkParameters();
        }
        if (stream == Stream.repair) {
            return List.of(reconciled.copyParameter());
        }
        List<Object> parameters = new ArrayList<>();
        if (stream == Stream.future) {
            for (Object bound : futureBounds) {
                if (bound != null) {
                    parameters.add(bound);
                }
            }
            return parameters;
        }
        if (lower != null) {
            parameters.add(lower);
        }
        parameters.add(upper);
        if (tie == Tie.SOME_MISSING) {
            parameters.add(lower);
        }
        return parameters;
    }

    private Object lowerBound() {
        if (keyBackfill != null && keyBackfill.horizon().equals(horizon.bound())) {
            // a backfill begun in this cycle copied every row version below this very horizon: the
            // streams' windows are empty (the next cycle starts them from ClickHouse's watermarks)
            return StreamWindow.at(streamType(), horizon.bound(), environment.timestampZone());
        }
        return StreamWindow.lower(streamType(), mark(), horizon, environment.timestampZone(), environment.lookback());
    }

    private PgType streamType() {
        return source.column(streamColumn()).orElseThrow().type();
    }

    /** The ClickHouse insert of a batch: every source column by name, in RowBinary (see RowBinaryInsert). */
    public String getInsertSql() {
        return getInsertLayout().sql();
    }

    RowBinaryInsert.Layout getInsertLayout() {
        return insertLayout;
    }

    /** Rows of one stream counted on their way to ClickHouse, added to the cycle once their INSERT succeeded. */
    private final class Tally implements RowCounts.Count {
        long past;
        long atMark;
        long behind;
        /** Rows of the future stream, never updated and updated. */
        long futureCreated;
        long futureUpdated;
        long batches;
        /** The stream column's value in the last row, in microseconds. */
        Long last;

        @Override
        public long rows() {
            return past + atMark + behind + futureCreated + futureUpdated;
        }

        /**
         * Rows at the watermark the stream started from count as new only beyond the keys ClickHouse held
         * there; rows behind it (lookback) count as re-read; future rows are new and never move a watermark.
         */
        @Override
        public void count(SourceRow row) {
            if (stream == Stream.future) {
                if (row.values()[updatedColumnIndex] == null) {
                    futureCreated++;
                } else {
                    futureUpdated++;
                }
                return;
            }
            long value = row.micros(streamColumnIndex);
            int order = streamStartMark == null ? 1 : Long.compare(value, streamStartMark);
            if (order > 0) {
                past++;
            } else if (order == 0) {
                atMark++;
            } else {
                behind++;
            }
            last = value;
        }

        @Override
        public void batch() {
            batches++;
        }

        @Override
        public void add(RowCounts.Count other) {
            Tally later = (Tally) other;
            past += later.past;
            atMark += later.atMark;
            behind += later.behind;
            futureCreated += later.futureCreated;
            futureUpdated += later.futureUpdated;
            batches += later.batches;
            if (later.last != null) {
                last = later.last;
            }
        }

        @Override
        public Tally copy() {
            Tally t = new Tally();
            t.past = past;
            t.atMark = atMark;
            t.behind = behind;
            t.futureCreated = futureCreated;
            t.futureUpdated = futureUpdated;
            t.batches = batches;
            t.last = last;
            return t;
        }
    }

    @Override
    public RowCounts.Count newCount() {
        return new Tally();
    }

    /** Where the current stream's rows go: created at {@link #startStream}, one per stream. */
    StreamInsert streamInsert() {
        return streamInsert;
    }

    /** Rows ClickHouse accepted: counted, and the stream's watermark moves to the last of them. */
    @Override
    public void shipped(RowCounts.Count rows) {
        Tally tally = (Tally) rows;
        int s = stream.ordinal();
        rowsPast[s] += tally.past;
        rowsAtMark[s] += tally.atMark;
        rowsBehind[s] += tally.behind;
        rowsFuture[Stream.created.ordinal()] += tally.futureCreated;
        rowsFuture[Stream.updated.ordinal()] += tally.futureUpdated;
        batches += tally.batches;
        if (parent != null) {
            parent.rangeShipped(tally);
            return;
        }
        progress.shipped(rowsPast[s] + rowsAtMark[s] + rowsBehind[s] + rowsFuture[Stream.created.ordinal()]
                + rowsFuture[Stream.updated.ordinal()]);
        // the backfill and the repair go by key, future rows never count: only the two streams move a watermark
        if (tally.last != null && (stream == Stream.created || stream == Stream.updated)) {
            Instant last = PgToClickHouse.instantOfMicros(tally.last);
            if (stream == Stream.created) {
                createdMark = last;
            } else {
                updatedMark = last;
            }
        }
    }

    /** Rows of the current stream still on their way (none once the stream's last batch went). */
    public long rowsWaiting() {
        return streamInsert == null ? 0 : streamInsert.waitingRows();
    }

    public String tableName() {
        return source.qualifiedName();
    }

    /** A row's key for a message, e.g. {@code id = 42}. */
    String describeKey(SourceRow row) {
        StringBuilder text = new StringBuilder();
        for (String column : key) {
            int i = source.columnNames().indexOf(column);
            Object value = row.values()[i];
            SourceRow.Column c = row.shape().column(i);
            text.append(text.isEmpty() ? "" : ", ").append(column).append(" = ")
                    .append(value == null ? "NULL" : c.raw() ? PgToClickHouse.value(c, (byte[]) value) : value);
        }
        return text.toString();
    }

    /** Rows past the watermark, future rows, and tied rows ClickHouse lacked (compared, or beyond the keys it held). */
    private long newRows(Stream s) {
        int i = s.ordinal();
        return rowsPast[i] + rowsFuture[i] + (tieCompared[i] ? rowsAtMark[i] : Math.max(0, rowsAtMark[i] - keysAtMark[i]));
    }

    private long rereadRows() {
        long reread = 0;
        for (int i = 0; i < 2; i++) {
            reread += (tieCompared[i] ? 0 : Math.min(rowsAtMark[i], keysAtMark[i])) + rowsBehind[i];
        }
        return reread;
    }

    /** New rows: those of the created stream, and every row the key-ordered backfill copied. */
    public long rowsCreated() {
        return newRows(Stream.created) + rowsPast[Stream.backfill.ordinal()];
    }

    public long rowsUpdated() {
        return newRows(Stream.updated);
    }

    public long batches() {
        return batches;
    }

    public Instant startedAt() {
        return startedAt;
    }

    /** The write horizon the cycle read up to: every row version below it was in PostgreSQL's snapshot. */
    public WriteHorizon horizon() {
        return horizon;
    }

    public double seconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    public Instant createdMark() {
        return createdMark;
    }

    public Instant updatedMark() {
        return updatedMark;
    }

    /**
     * The newer of the two watermarks as an instant, or null while the target is empty. Watermarks of
     * {@code timestamp} columns are wall-clock values, read in {@code POSTGRES_TIMEZONE} here.
     */
    public Instant newestWatermark() {
        Instant newest = null;
        for (Stream s : List.of(Stream.created, Stream.updated)) {
            Instant mark = s == Stream.created ? createdMark : updatedMark;
            if (mark == null) {
                continue;
            }
            String column = s == Stream.created ? table.getCreatedColumn() : table.getUpdatedColumn();
            Instant instant = source.column(column).orElseThrow().type().name().equals("timestamptz") ? mark
                    : LocalDateTime.ofInstant(mark, ZoneOffset.UTC).atZone(environment.timestampZone()).toInstant();
            if (newest == null || instant.isAfter(newest)) {
                newest = instant;
            }
        }
        return newest;
    }

    /** The cycle's log line: rows per stream, batches, duration and the watermark it leaves behind. */
    public String summary() {
        return String.format("%s%s: created %d, updated %d rows (%d read again) in %d batches, %.2f s,"
                        + " watermark created %s, updated %s",
                source.qualifiedName(), keyBackfill != null ? " (backfill in key order, " + keyBackfill.chunks() + (keyBackfill.chunks() == 1 ? " chunk" : " chunks")
                        + (keyBackfill.ranges().size() == 1 ? ")" : " in " + keyBackfill.ranges().size() + " key ranges, up to "
                        + table.getBackfillParallelism() + " at once)")
                        : isBackfill() ? " (backfill)" : "", rowsCreated(), rowsUpdated(), rereadRows(), batches,
                seconds(), show(createdMark), show(updatedMark)) + reconciledSummary();
    }

    private String reconciledSummary() {
        if (reconciled == null) {
            return "";
        }
        return String.format(Locale.ROOT, "; reconciled %,d rows in %.2f s: %,d deleted (tombstones), %,d copied again%s",
                reconciled.comparedRows(), reconciled.seconds(), reconciled.tombstoned(), rowsRepaired(),
                reconciled.note().isEmpty() ? "" : "; " + reconciled.note());
    }

    /** Rows the repair stream copied again. */
    public long rowsRepaired() {
        return rowsPast[Stream.repair.ordinal()];
    }

    private static String show(Instant mark) {
        return mark == null ? "-" : CLICKHOUSE_DATETIME.format(LocalDateTime.ofInstant(mark, ZoneOffset.UTC));
    }
}
