package io.pgchloader.verify;

import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.common.DeleteGuard;
import io.pgchloader.common.Identifiers;
import io.pgchloader.cycle.Reconciler;
import io.pgchloader.cycle.SyncEnvironment;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The cycle's {@link Reconciler}: the comparison of {@code --verify} ({@link TableCheck}), narrowed down
 * until the keys that differ are few, then mended.
 *
 * <ol>
 *   <li>Both sides count their rows and sum a hash of every key, version and value per key range (2,048
 *   of them), in one scan each. Equal ranges are done: a table without differences costs that one scan
 *   per side.</li>
 *   <li>Ranges that differ and hold more than {@link #FETCH_ROWS} rows (by default) are cut into
 *   {@link #PARTS} each and compared again, all of one level in one query per side (the bisection of
 *   data-diff); the small ones that differ are read key by key, all in one pass in key order.</li>
 *   <li>A key ClickHouse holds and PostgreSQL has in no version at all gets a tombstone; a row PostgreSQL
 *   has (compared, see TableCheck's cutoff) that ClickHouse lacks, holds in an older version, or holds
 *   with other values at the same version, is copied again by the cycle's repair stream (of two rows of
 *   one version, ReplacingMergeTree keeps the one inserted last).</li>
 * </ol>
 *
 * <p>The tombstone's version is one microsecond above the newest version ClickHouse holds for the key, and
 * only keys whose version lies below the cutoff minus that microsecond get one. The cutoff is at or below
 * the write horizon taken before PostgreSQL was read: every row PostgreSQL did not show was written by a
 * transaction that began at or after it, so its version is above the tombstone's and replaces it.
 * Never the time of the repair: a tombstone stamped with the clock would hide a row inserted again just
 * before it.
 */
public final class TableRepair implements Reconciler {

    /** A differing range is read key by key once neither side holds more rows than this. */
    static final long FETCH_ROWS = 100;
    /** How many parts a larger differing range is cut into. */
    static final int PARTS = 32;
    /** Levels of cutting at most: 64 * 32^4 ranges hold a billion rows a few each. */
    private static final int MAX_LEVELS = 4;
    /** Keys per tombstone INSERT: their literals travel in the query (ClickHouse parses 256 KiB by default). */
    private static final int TOMBSTONES_PER_INSERT = 1_000;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    /**
     * Ranges one query may list: ClickHouse parses 256 KiB of query by default, and a range number takes up
     * to 12 characters. More are selected by the ranges of a coarser level that hold them (see {@link Selection}).
     */
    static final int LISTED = 10_000;

    private final SyncEnvironment env;
    private final long fetchRows;
    private final int listed;

    public TableRepair(SyncEnvironment env) {
        this(env, FETCH_ROWS, LISTED);
    }

    TableRepair(SyncEnvironment env, long fetchRows, int listed) {
        this.env = env;
        this.fetchRows = fetchRows;
        this.listed = listed;
    }

    @Override
    public Result reconcile(Request request) throws SQLException {
        long started = System.nanoTime();
        VerifiedTable spec = new VerifiedTable(request.routeId(), request.schema(), request.table(), request.targetTable(),
                String.join(",", request.key()), request.createdColumn(), request.updatedColumn(), request.softDeleteColumn());
        ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "reconcile");
            t.setDaemon(true);
            return t;
        });
        try {
            TableCheck check = new TableCheck(spec, env, env.clickHouse(), executor);
            if (!check.prepare()) {
                return new Result(0, 0, 0, 0, 0, null, null, seconds(started), "ClickHouse has no table " + spec.targetTable());
            }
            if (check.farBehind()) {
                return new Result(0, 0, 0, 0, 0, null, null, seconds(started), "not reconciled: more than " + TableCheck.PENDING_LIMIT
                        + " rows changed since ClickHouse's newest version; the next reconciliation tries again");
            }
            return mend(request, check, started);
        } catch (VerifyException e) {
            throw new IllegalStateException(e.getMessage(), e);
        } finally {
            executor.shutdownNow();
        }
    }

    private Result mend(Request request, TableCheck check, long started) throws SQLException {
        // judged: versions below the cutoff; tombstoned: only where version + 1 µs stays below the horizon
        long belowMicros = Math.min(check.cutoffMicros(), check.horizonMicros() - 1);
        // rows stamped in the future are compared, but copied only by the cycle's future stream, which first
        // keeps the watermarks below them (a copy from here would let one pass for the stream's progress)
        long aheadMicros = check.horizonMicros();
        List<String> tombstones = new ArrayList<>();
        List<String> copies = new ArrayList<>();
        long[] versionsBack = new long[1];
        long[] keysRead = new long[1];
        long pgRows = 0;
        long chRows = 0;

        // level by level: one aggregate query per side over every range that still differs and is large;
        // the first level is already 32 times finer than --verify's, so scattered differences cost one scan
        List<KeyRanges> grids = new ArrayList<>(List.of(check.keyRanges().refine(PARTS)));
        Map<Integer, long[]>[] sums = check.aggregates(grids.get(0), "TRUE", "1");
        for (long[] p : sums[0].values()) {
            pgRows += p[0];
        }
        for (long[] c : sums[1].values()) {
            chRows += c[0];
        }
        Selection walked = new Selection(grids, listed);
        Set<Integer> large = null;
        for (int level = 0; ; level++) {
            KeyRanges grid = grids.get(level);
            Set<Integer> larger = new TreeSet<>();
            for (int bucket : differing(sums)) {
                // a coarser selection (see Selection) brings in ranges whose parent was equal: not this level's
                if (large != null && !large.contains(grid.parentIn(grids.get(level - 1), bucket))) {
                    continue;
                }
                long rows = Math.max(sums[0].getOrDefault(bucket, new long[4])[0], sums[1].getOrDefault(bucket, new long[4])[0]);
                if (rows > fetchRows && level < MAX_LEVELS) {
                    larger.add(bucket);
                } else {
                    walked.add(level, bucket);
                }
            }
            if (larger.isEmpty()) {
                break;
            }
            large = larger;
            Selection next = new Selection(grids, listed);
            large.forEach(b -> next.add(grids.size() - 1, b));
            grids.add(grid.refine(PARTS));
            sums = check.aggregates(grids.get(level + 1), next.pgWhere(), next.chWhere());
        }
        if (!walked.isEmpty()) {
            // one pass in key order over every small range that differs, both sides at once
            check.walk(walked.pgWhere(), walked.chWhere(), false, (pgRow, chRow, chCopies) -> {
                keysRead[0] += (pgRow == null ? 0 : 1) + chCopies;
                if (pgRow == null) {
                    if (chRow.version() < belowMicros) {
                        tombstones.add(chLiteral(check, chRow.key()));
                    }
                } else if (pgRow.settled() && pgRow.version() >= aheadMicros) {
                    // stamped in the future: the future stream's (see above)
                    return true;
                } else if (pgRow.settled() && (chRow == null || chRow.version() < pgRow.version()
                        || chRow.version() == pgRow.version() && chRow.hash() != pgRow.hash())) {
                    // missing, older, or with other values at the same version: a copy at that version replaces it
                    copies.add(pgRow.key());
                } else if (pgRow.settled() && chRow.version() > pgRow.version()) {
                    versionsBack[0]++;
                }
                return true;
            });
        }

        String note = "";
        long tombstoned = 0;
        long left = 0;
        if (!tombstones.isEmpty()) {
            String refused = refusal(request, tombstones.size(), pgRows, chRows);
            if (refused != null) {
                note = refused;
                left = tombstones.size();
            } else {
                tombstoned = writeTombstones(check, tombstones, belowMicros);
            }
        }
        if (versionsBack[0] > 0) {
            note = (note.isEmpty() ? "" : note + "; ") + versionsBack[0] + " row(s) have an older version in PostgreSQL than in"
                    + " ClickHouse (their " + request.updatedColumn() + " was set back): copying cannot mend them, --verify names them";
        }
        String condition = null;
        Object parameter = null;
        if (!copies.isEmpty()) {
            if (check.singleIntegerKey()) {
                condition = Identifiers.pg(check.key().get(0).name()) + " = ANY(?)";
                parameter = copies.stream().map(Long::valueOf).toArray(Long[]::new);
            } else {
                condition = "(" + check.pgKeyText() + ") = ANY(?)";
                parameter = copies.toArray(String[]::new);
            }
            // a row changed into the future since it was compared waits for the future stream, as above
            condition += " AND " + check.pgBelowHorizon();
        }
        return new Result(Math.max(pgRows, chRows), keysRead[0], tombstoned, left, copies.size(), condition, parameter,
                seconds(started), note);
    }

    /** Why the tombstones may not be written, or null when they may. */
    private static String refusal(Request request, int deletes, long pgRows, long chRows) {
        String table = request.schema() + "." + request.table();
        if (!request.targetHoldsDeletes()) {
            return deletes + " row(s) deleted in PostgreSQL are still in ClickHouse, whose table cannot hold deletes"
                    + " (ReplacingMergeTree(" + TargetTable.VERSION_COLUMN + ") without " + TargetTable.DELETED_COLUMN + "); to let"
                    + " the loader remove them, run: " + String.join("; ", request.migration());
        }
        return request.force() ? null
                : DeleteGuard.refusal(table, request.routeId(), pgRows, deletes, chRows, request.maxDeleteFraction());
    }

    private long writeTombstones(TableCheck check, List<String> keys, long belowMicros) throws SQLException {
        String keyExpression = check.singleIntegerKey() ? Identifiers.ch(check.key().get(0).name()) : check.chKeyText();
        String below = "toDateTime64('" + TIME.format(LocalDateTime.ofInstant(
                Instant.EPOCH.plus(belowMicros, ChronoUnit.MICROS), ZoneOffset.UTC)) + "', 6, 'UTC')";
        long written = 0;
        try (Connection c = env.clickHouse().getConnection(); Statement s = c.createStatement()) {
            for (int from = 0; from < keys.size(); from += TOMBSTONES_PER_INSERT) {
                List<String> chunk = keys.subList(from, Math.min(keys.size(), from + TOMBSTONES_PER_INSERT));
                String condition = keyExpression + " IN (" + String.join(", ", chunk) + ")";
                s.executeUpdate(TargetTable.tombstoneSql(check.chTable(), names(check), condition, below));
                written += chunk.size();
            }
        }
        return written;
    }

    private static List<String> names(TableCheck check) {
        return check.key().stream().map(column -> column.name()).toList();
    }

    /** A key's canonical text as ClickHouse compares it: a number as it is, any other as a string literal. */
    private static String chLiteral(TableCheck check, String keyText) {
        return check.singleIntegerKey() ? keyText : Identifiers.chString(keyText);
    }

    /** The ranges whose row count or hash sum differs between the two sides. */
    /**
     * The ranges of several levels one query selects, the same on both sides. When they are more than one
     * query may list, those of the finest level are replaced by their parents, level by level, until they
     * fit: a selection can grow (its extra rows are equal on both sides, and the walk finds nothing to do
     * with them, the aggregates drop ranges whose parent was not chosen), it never loses a row, and PostgreSQL
     * and ClickHouse always see the same rows, or a key one side left out would look deleted.
     */
    private static final class Selection {

        private final List<KeyRanges> grids;
        private final int listed;
        private final TreeMap<Integer, Set<Integer>> byLevel = new TreeMap<>();

        Selection(List<KeyRanges> grids, int listed) {
            this.grids = grids;
            this.listed = listed;
        }

        void add(int level, int bucket) {
            byLevel.computeIfAbsent(level, l -> new TreeSet<>()).add(bucket);
        }

        boolean isEmpty() {
            return byLevel.isEmpty();
        }

        String pgWhere() {
            return where(true);
        }

        String chWhere() {
            return where(false);
        }

        private String where(boolean postgres) {
            fit();
            List<String> parts = new ArrayList<>();
            byLevel.forEach((level, buckets) -> {
                List<Integer> list = List.copyOf(buckets);
                parts.add("(" + (postgres ? grids.get(level).pgWhereAny(list) : grids.get(level).chWhereAny(list)) + ")");
            });
            return String.join(" OR ", parts);
        }

        /** The finest level's ranges replaced by their parents while the whole list is too long (level 0 always fits). */
        private void fit() {
            while (byLevel.values().stream().mapToInt(Set::size).sum() > listed && byLevel.lastKey() > 0) {
                int finest = byLevel.lastKey();
                Set<Integer> buckets = byLevel.remove(finest);
                for (int b : buckets) {
                    add(finest - 1, grids.get(finest).parentIn(grids.get(finest - 1), b));
                }
            }
        }
    }

    private static List<Integer> differing(Map<Integer, long[]>[] sums) {
        Set<Integer> buckets = new TreeSet<>(sums[0].keySet());
        buckets.addAll(sums[1].keySet());
        List<Integer> differing = new ArrayList<>();
        for (int b : buckets) {
            long[] pg = sums[0].getOrDefault(b, new long[4]);
            long[] ch = sums[1].getOrDefault(b, new long[4]);
            if (pg[0] != ch[0] || pg[1] != ch[1] || pg[2] != ch[2]) {
                differing.add(b);
            }
        }
        return differing;
    }

    private static double seconds(long started) {
        return (System.nanoTime() - started) / 1e9;
    }

}
