package io.pgchloader.verify;

import io.pgchloader.clickhouse.TargetTable;
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
import java.util.Locale;
import java.util.Map;
import java.util.Set;
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

    private final SyncEnvironment env;
    private final long fetchRows;

    public TableRepair(SyncEnvironment env) {
        this(env, FETCH_ROWS);
    }

    TableRepair(SyncEnvironment env, long fetchRows) {
        this.env = env;
        this.fetchRows = fetchRows;
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
        KeyRanges grid = check.keyRanges().refine(PARTS);
        Map<Integer, long[]>[] sums = check.aggregates(grid, "TRUE", "1");
        for (long[] p : sums[0].values()) {
            pgRows += p[0];
        }
        for (long[] c : sums[1].values()) {
            chRows += c[0];
        }
        List<String> pgListed = new ArrayList<>();
        List<String> chListed = new ArrayList<>();
        for (int level = 0; ; level++) {
            List<Integer> large = new ArrayList<>();
            List<Integer> small = new ArrayList<>();
            for (int bucket : differing(sums)) {
                long rows = Math.max(sums[0].getOrDefault(bucket, new long[4])[0], sums[1].getOrDefault(bucket, new long[4])[0]);
                (rows > fetchRows && level < MAX_LEVELS ? large : small).add(bucket);
            }
            if (!small.isEmpty()) {
                pgListed.add("(" + grid.pgWhereAny(small) + ")");
                chListed.add("(" + grid.chWhereAny(small) + ")");
            }
            if (large.isEmpty()) {
                break;
            }
            KeyRanges finer = grid.refine(PARTS);
            sums = check.aggregates(finer, grid.pgWhereAny(large), grid.chWhereAny(large));
            grid = finer;
        }
        if (!pgListed.isEmpty()) {
            // one pass in key order over every small range that differs, both sides at once
            check.walk(String.join(" OR ", pgListed), String.join(" OR ", chListed), false, (pgRow, chRow, chCopies) -> {
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
        if (request.force()) {
            return null;
        }
        if (pgRows == 0) {
            return "nothing deleted: PostgreSQL's " + table + " shows no rows at all while ClickHouse holds " + chRows
                    + " (a wrong database, a dropped or emptied table, a role that sees nothing?); if it really was emptied,"
                    + " run --repair --force --table " + request.routeId();
        }
        if (deletes > request.maxDeleteFraction() * chRows) {
            return String.format(Locale.ROOT, "nothing deleted: %,d of %,d rows (%.1f %%) would go, more than maxDeleteFraction"
                            + " %.3f allows; if PostgreSQL really lost them, run --repair --force --table %s",
                    deletes, chRows, 100.0 * deletes / Math.max(1, chRows), request.maxDeleteFraction(), request.routeId());
        }
        return null;
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
