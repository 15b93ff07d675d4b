package io.pgchloader.verify;

import io.pgchloader.clickhouse.PgToClickHouse;
import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.common.Identifiers;
import io.pgchloader.common.SyncException;
import io.pgchloader.cycle.SyncCycle;
import io.pgchloader.cycle.SyncEnvironment;
import io.pgchloader.cycle.WatermarkLimits;
import io.pgchloader.postgres.PgColumn;
import io.pgchloader.postgres.PostgresCatalog;
import io.pgchloader.postgres.SourceTable;
import io.pgchloader.postgres.StreamWindow;
import io.pgchloader.postgres.WriteHorizon;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * Compares one table: per key range, the number of rows and the sum of a 60-bit hash of every row's key
 * and version, computed by each database over its own rows in one scan (ClickHouse with {@code FINAL}),
 * at the same time. Only rows whose version is older than the cutoff are compared:
 *
 * <ul>
 *   <li>the cutoff is the older of the write horizon now (rows at or after it may still be in open
 *   transactions) and just after the newest version ClickHouse holds (rows written since the loader's last
 *   cycle are simply not synced yet), moved back by {@code SYNC_LOOKBACK_SECONDS} when the horizon is
 *   incomplete, exactly the window the loader itself re-reads;</li>
 *   <li>a row updated after the cutoff is left out on both sides: PostgreSQL no longer has the version
 *   ClickHouse legitimately still holds. PostgreSQL lists those keys (its index on the updated column
 *   finds them) and ClickHouse's scan skips them.</li>
 *   <li>rows stamped in the future (after PostgreSQL's clock and the loader's tolerance) are compared
 *   too: the loader copies them in the cycle after they are written, so one that ClickHouse lacks, or a
 *   change hidden behind such a version, shows.</li>
 * </ul>
 *
 * Ranges that differ are then read row by row (a few, and only small ones) to name example keys.
 */
final class TableCheck {

    enum Status { OK, DIFFERENT, NOT_VERIFIED }

    /** The outcome: a status, the summary line and the lines about differing ranges. */
    record Result(VerifiedTable table, Status status, String summary, List<String> details) {
    }

    static final int RANGES = 64;
    /** Rows changed after the cutoff that ClickHouse is told to skip, at most (the loader is far behind beyond). */
    static final int PENDING_LIMIT = 200_000;
    static final int EXAMPLE_RANGES = 3;
    static final int EXAMPLES_PER_RANGE = 5;
    /** Keys listed in numeric order. */
    private static final Set<String> INTEGER_KEYS = Set.of("int2", "int4", "int8");
    /** A range is read row by row for examples only when neither side holds more rows than this. */
    static final long EXAMPLE_RANGE_ROWS = 100_000;

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    private final VerifiedTable spec;
    private final SyncEnvironment env;
    private final DataSource clickHouse;
    private final Executor executor;

    private SourceTable source;
    private List<PgColumn> key;
    private String pgTable;
    private String chTable;
    private String pgKey;
    private String chKey;
    private String pgVersion;
    private String chVersionMicros;
    private String chCutoff;
    private Object pgCreatedCutoff;
    private Object pgUpdatedCutoff;
    private KeyRanges ranges;
    private String chSkipPending = "";
    private Instant cutoff;
    private String pgValues = "";
    private String chValues = "";
    private List<String> versionOnly = List.of();
    /** The write horizon as versions are stored, before the cutoff is moved back to ClickHouse's newest version. */
    private Instant horizonBound;
    private boolean farBehind;
    /** Versions after this are in the future, and compared too (as ClickHouse stores versions). */
    private Instant future;
    private String chFuture;

    /**
     * @param clickHouse a ClickHouse pool that accepts long queries (the skipped keys travel in the query)
     */
    TableCheck(VerifiedTable spec, SyncEnvironment env, DataSource clickHouse, Executor executor) {
        this.spec = spec;
        this.env = env;
        this.clickHouse = clickHouse;
        this.executor = executor;
    }

    Result run() throws SQLException {
        long started = System.nanoTime();
        if (!prepare()) {
            long rows = pgLong("SELECT count(*) FROM " + pgTable);
            return new Result(spec, Status.DIFFERENT, spec.qualifiedName() + ": DIFFERENT, ClickHouse has no table " + chTable
                    + " (PostgreSQL " + rows(rows) + ")", List.of());
        }
        if (farBehind) {
            return new Result(spec, Status.NOT_VERIFIED, spec.qualifiedName() + ": NOT VERIFIED, more than " + PENDING_LIMIT
                    + " rows changed in PostgreSQL after " + show(cutoff) + ", the newest version in ClickHouse: the loader is"
                    + " far behind; run --verify again once it has caught up", List.of());
        }

        Map<Integer, long[]>[] both = aggregates(ranges, "TRUE", "1");
        Map<Integer, long[]> pg = both[0];
        Map<Integer, long[]> ch = both[1];

        long pgRows = 0;
        long chRows = 0;
        long newer = 0;
        long ahead = 0;
        List<Integer> differing = new ArrayList<>();
        for (int b = 0; b < ranges.count; b++) {
            long[] p = pg.getOrDefault(b, new long[5]);
            long[] c = ch.getOrDefault(b, new long[5]);
            pgRows += p[0];
            chRows += c[0];
            newer += p[3];
            ahead += p[4];
            if (p[0] != c[0] || p[1] != c[1] || p[2] != c[2]) {
                differing.add(b);
            }
        }
        String compared = "versions before " + show(cutoff) + (ahead == 0 ? "" : " and " + rows(ahead) + " stamped in the future")
                + " compared" + (newer == 0 ? ""
                : ", " + rows(newer) + " newer in PostgreSQL not yet") + String.format(Locale.ROOT, " (%.2f s)", (System.nanoTime() - started) / 1e9) + versionOnlyNote();
        if (differing.isEmpty()) {
            return new Result(spec, Status.OK, spec.qualifiedName() + ": OK, " + rows(pgRows) + " equal in "
                    + ranges.describeAll() + "; " + compared, List.of());
        }
        List<String> details = new ArrayList<>();
        for (int i = 0; i < differing.size(); i++) {
            int b = differing.get(i);
            long[] p = pg.getOrDefault(b, new long[4]);
            long[] c = ch.getOrDefault(b, new long[4]);
            details.add("  " + spec.qualifiedName() + " " + ranges.describe(b) + ": " + counts(p, c));
            if (i < EXAMPLE_RANGES) {
                explain(ranges, b, Math.max(p[0], c[0]), "    ", details);
            }
        }
        return new Result(spec, Status.DIFFERENT, spec.qualifiedName() + ": DIFFERENT, PostgreSQL " + rows(pgRows) + ", ClickHouse "
                + rows(chRows) + ", " + differing.size() + " of " + ranges.count + " ranges differ; " + compared, details);
    }

    /**
     * Describes both sides and fixes what is compared: the cutoff, the key ranges, the keys ClickHouse is
     * told to skip. False when ClickHouse has no such table.
     */
    boolean prepare() throws SQLException {
        describe();
        TargetTable target = TargetTable.inspect(env.clickHouse(), env.clickHouseDatabase(), spec.targetTable(), env.cluster());
        if (!target.exists()) {
            return false;
        }
        values(target);
        cutoff = cutoff(target);
        chCutoff = "toDateTime64('" + TIME.format(LocalDateTime.ofInstant(cutoff, ZoneOffset.UTC)) + "', 6, 'UTC')";
        chFuture = "toDateTime64('" + TIME.format(LocalDateTime.ofInstant(future, ZoneOffset.UTC)) + "', 6, 'UTC')";
        pgCreatedCutoff = pgValue(spec.createdColumn(), cutoff);
        pgUpdatedCutoff = pgValue(spec.updatedColumn(), cutoff);
        ranges = ranges();
        List<String> pending = pendingKeys();
        farBehind = pending.size() > PENDING_LIMIT;
        if (!pending.isEmpty() && !farBehind) {
            chSkipPending = " AND " + (singleIntegerKey() ? Identifiers.ch(key.get(0).name()) : chKey) + " NOT IN ("
                    + String.join(", ", pending) + ")";
        }
        return true;
    }

    boolean farBehind() {
        return farBehind;
    }

    KeyRanges keyRanges() {
        return ranges;
    }

    /** The cutoff in microseconds, as versions are compared (see {@link #cutoff}). */
    long cutoffMicros() {
        return micros(cutoff);
    }

    /** The write horizon in microseconds, as versions are stored: every row PostgreSQL did not show is at or above it. */
    long horizonMicros() {
        return micros(horizonBound);
    }

    private static long micros(Instant instant) {
        return instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1000;
    }

    List<PgColumn> key() {
        return key;
    }

    String pgKeyText() {
        return pgKey;
    }

    String chKeyText() {
        return chKey;
    }

    String chTable() {
        return chTable;
    }

    boolean singleIntegerKey() {
        return key.size() == 1 && KeyRanges.integerFirstColumn(key);
    }

    /**
     * What each row's hash covers besides key and version: every other column both tables have, in a text
     * both render alike; the columns that cannot be rendered so are named and compared by version only.
     */
    private void values(TargetTable target) {
        KeyText.ValueTexts texts = KeyText.ValueTexts.of(source.columns(), key, target);
        pgValues = texts.pg();
        chValues = texts.ch();
        versionOnly = texts.skipped();
    }

    /** Columns compared by version only, for the summary line. */
    private String versionOnlyNote() {
        return versionOnly.isEmpty() ? "" : "; compared by version only: " + String.join(", ", versionOnly);
    }

    /** The hash of each row's key, version and values, in PostgreSQL. */
    private String pgRowHash() {
        return KeyText.pgHash(pgKey + " || chr(31) || (" + pgVersion + ")::text" + pgValues);
    }

    private String chRowHash() {
        return KeyText.chHash("concat(" + chKey + ", '\\x1F', toString(" + chVersionMicros + ")" + chValues + ")");
    }

    /** The source's shape, its key and the SQL fragments that render them. */
    private void describe() throws SQLException {
        try {
            source = PostgresCatalog.describe(env.postgres(), spec.schema(), spec.table());
        } catch (SyncException e) {
            throw new VerifyException(e.getMessage());
        }
        List<String> names = spec.primaryKey().isBlank() ? source.primaryKey()
                : Arrays.stream(spec.primaryKey().split(",")).map(String::strip).toList();
        if (names.isEmpty()) {
            throw new VerifyException(spec.qualifiedName() + " has no primary key: set the templatedRoute parameter primaryKey.");
        }
        key = new ArrayList<>();
        for (String name : names) {
            PgColumn column = source.column(name).orElseThrow(() -> new VerifyException("primaryKey column " + name
                    + " does not exist in " + spec.qualifiedName() + ": fix the templatedRoute parameter primaryKey."));
            KeyText.check(column);
            key.add(column);
        }
        for (String name : List.of(spec.createdColumn(), spec.updatedColumn())) {
            PgColumn column = source.column(name).orElseThrow(() -> new VerifyException(spec.qualifiedName()
                    + " has no column " + name + ": set the templatedRoute parameters createdColumn and updatedColumn."));
            if (!PgToClickHouse.isTimestamp(column.type())) {
                throw new VerifyException(spec.qualifiedName() + "." + name + " is not a timestamp or timestamptz column.");
            }
        }
        pgTable = Identifiers.pg(spec.schema(), spec.table());
        chTable = Identifiers.ch(env.clickHouseDatabase(), spec.targetTable());
        pgKey = KeyText.pg(key);
        chKey = KeyText.ch(key);
        pgVersion = KeyText.pgVersion(spec.createdColumn(), spec.updatedColumn());
        chVersionMicros = KeyText.chVersionMicros(spec.createdColumn(), spec.updatedColumn());
    }

    /**
     * The older of the write horizon and the newest version in ClickHouse (the loader's watermarks, taken
     * below the limits the target's comment holds while rows stamped in the future are in it), as
     * ClickHouse stores versions: wall-clock values of {@code timestamp} columns, instants of {@code timestamptz}.
     * Also sets {@link #future}, the later of the columns' bounds for a timestamp in the future.
     */
    private Instant cutoff(TargetTable target) throws SQLException {
        WriteHorizon horizon = env.openTransactions().horizon();
        Instant cutoff = null;
        future = null;
        for (String column : List.of(spec.createdColumn(), spec.updatedColumn())) {
            Instant bound = timestamptz(column) ? horizon.bound()
                    : LocalDateTime.ofInstant(horizon.bound(), env.timestampZone()).toInstant(ZoneOffset.UTC);
            cutoff = cutoff == null || bound.isBefore(cutoff) ? bound : cutoff;
            Object ahead = StreamWindow.future(source.column(column).orElseThrow().type(),
                    horizon.now().plus(SyncCycle.FUTURE_TOLERANCE), env.timestampZone());
            Instant aheadInstant = ahead instanceof OffsetDateTime t ? t.toInstant() : ((LocalDateTime) ahead).toInstant(ZoneOffset.UTC);
            future = future == null || aheadInstant.isAfter(future) ? aheadInstant : future;
        }
        horizonBound = cutoff;
        String created = Identifiers.ch(spec.createdColumn());
        String updated = Identifiers.ch(spec.updatedColumn());
        WatermarkLimits limits = WatermarkLimits.in(target.comment());
        String createdMark = "maxIfOrNull(" + created + ", isNull(" + updated + ")"
                + (limits.created() == null ? "" : " AND toUnixTimestamp64Micro(" + created + ") < " + limits.created()) + ")";
        String updatedMark = limits.updated() == null ? "maxOrNull(" + updated + ")"
                : "maxIfOrNull(" + updated + ", toUnixTimestamp64Micro(" + updated + ") < " + limits.updated() + ")";
        try (Connection c = env.clickHouse().getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT toString(greatest(" + createdMark + ", " + updatedMark + ")), toString("
                     + createdMark + ") FROM " + chTable)) {
            rs.next();
            // greatest() is NULL when either is: take the created mark alone then (no update synced yet)
            String newest = rs.getString(1) != null ? rs.getString(1) : rs.getString(2);
            if (newest != null && !newest.isEmpty()) {
                // the newest version itself is included: its ties all arrived (they are below the loader's horizon)
                Instant position = LocalDateTime.parse(newest, DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss[.SSSSSS]"))
                        .toInstant(ZoneOffset.UTC).plus(1, ChronoUnit.MICROS);
                cutoff = position.isBefore(cutoff) ? position : cutoff;
            }
        }
        return cutoff;
    }

    private boolean timestamptz(String column) {
        return source.column(column).orElseThrow().type().name().equals("timestamptz");
    }

    /** The cutoff as a value of the column's type, to bind in PostgreSQL. */
    private Object pgValue(String column, Instant cutoff) {
        return timestamptz(column) ? cutoff.atOffset(ZoneOffset.UTC) : LocalDateTime.ofInstant(cutoff, ZoneOffset.UTC);
    }

    /** Whether a PostgreSQL row is compared: its version before the cutoff (two parameters), or in the future. */
    private String pgSettled() {
        String created = Identifiers.pg(spec.createdColumn());
        String updated = Identifiers.pg(spec.updatedColumn());
        return "CASE WHEN " + updated + " IS NULL THEN " + created + " < ? OR " + created + " > " + pgFuture(spec.createdColumn())
                + " ELSE " + updated + " < ? OR " + updated + " > " + pgFuture(spec.updatedColumn()) + " END";
    }

    /** The bound of the future as a literal of the column's type. */
    private String pgFuture(String column) {
        return pgLiteral(column, future);
    }

    /** A version as a literal of the column's type. */
    private String pgLiteral(String column, Instant version) {
        String text = TIME.format(LocalDateTime.ofInstant(version, ZoneOffset.UTC));
        return timestamptz(column) ? "timestamptz '" + text + "+00'" : "timestamp '" + text + "'";
    }

    /** PostgreSQL rows whose version lies below the write horizon: never one stamped in the future. */
    String pgBelowHorizon() {
        String created = Identifiers.pg(spec.createdColumn());
        String updated = Identifiers.pg(spec.updatedColumn());
        return "CASE WHEN " + updated + " IS NULL THEN " + created + " < " + pgLiteral(spec.createdColumn(), horizonBound)
                + " ELSE " + updated + " < " + pgLiteral(spec.updatedColumn(), horizonBound) + " END";
    }

    /** Whether a ClickHouse row is compared, as {@link #pgSettled()}. */
    private String chSettled() {
        String version = KeyText.chVersion(spec.createdColumn(), spec.updatedColumn());
        return "(" + version + " < " + chCutoff + " OR " + version + " > " + chFuture + ")";
    }

    /** Versions after this are stamped in the future, in microseconds as versions are compared. */
    long futureMicros() {
        return micros(future);
    }

    private KeyRanges ranges() throws SQLException {
        if (!KeyRanges.integerFirstColumn(key)) {
            return KeyRanges.hashed(pgKey, chKey, RANGES);
        }
        String first = key.get(0).name();
        BigInteger lo = null;
        BigInteger hi = null;
        for (String[] bounds : List.of(
                pgRow("SELECT min(" + Identifiers.pg(first) + ")::text, max(" + Identifiers.pg(first) + ")::text FROM " + pgTable),
                chRow("SELECT toString(minOrNull(" + Identifiers.ch(first) + ")), toString(maxOrNull(" + Identifiers.ch(first)
                        + ")) FROM " + chTable))) {
            if (bounds[0] != null && !bounds[0].isEmpty() && !bounds[0].equals("NULL") && !bounds[0].equals("\\N")) {
                BigInteger min = new BigInteger(bounds[0]);
                BigInteger max = new BigInteger(bounds[1]);
                lo = lo == null || min.compareTo(lo) < 0 ? min : lo;
                hi = hi == null || max.compareTo(hi) > 0 ? max : hi;
            }
        }
        return KeyRanges.integers(key.get(0), lo, hi, RANGES);
    }

    /**
     * Keys of rows that existed before the cutoff (or in the future) but changed after it and not into the
     * future (as literals for ClickHouse), at most {@link #PENDING_LIMIT} + 1.
     */
    private List<String> pendingKeys() throws SQLException {
        String text = singleIntegerKey() ? Identifiers.pg(key.get(0).name()) + "::text" : pgKey;
        String created = Identifiers.pg(spec.createdColumn());
        String updated = Identifiers.pg(spec.updatedColumn());
        List<String> keys = new ArrayList<>();
        try (Connection c = env.postgres().getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + text + " FROM " + pgTable + " WHERE "
                    + updated + " >= ? AND " + updated + " <= " + pgFuture(spec.updatedColumn())
                    + " AND (" + created + " < ? OR " + created + " > " + pgFuture(spec.createdColumn()) + ")"
                    + " LIMIT " + (PENDING_LIMIT + 1))) {
                ps.setFetchSize(10_000);
                ps.setObject(1, pgUpdatedCutoff);
                ps.setObject(2, pgCreatedCutoff);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        keys.add(singleIntegerKey() ? rs.getString(1) : Identifiers.chString(rs.getString(1)));
                    }
                }
            } finally {
                c.rollback();
            }
        }
        return keys;
    }

    private static String counts(long[] pg, long[] ch) {
        return "PostgreSQL " + rows(pg[0]) + ", ClickHouse " + rows(ch[0]) + (pg[0] == ch[0] ? ", checksums differ" : "");
    }

    /**
     * Names the keys behind differing range b: read row by row when small enough, else (integer ranges)
     * cut into sub-ranges that are compared the same way, which reads only that range, down to a size
     * that can be listed.
     */
    private void explain(KeyRanges within, int b, long rows, String indent, List<String> out) throws SQLException {
        if (rows <= EXAMPLE_RANGE_ROWS) {
            examples(within, b).forEach(line -> out.add(indent + line));
            return;
        }
        KeyRanges sub = within.split(b);
        if (sub == null) {
            out.add(indent + "(too many rows to list keys; the range is a hash bucket, so it cannot be narrowed cheaply)");
            return;
        }
        Map<Integer, long[]>[] both = aggregates(sub, within.pgWhere(b), within.chWhere(b));
        int shown = 0;
        for (int s = 0; s < sub.count && shown < EXAMPLE_RANGES; s++) {
            long[] p = both[0].getOrDefault(s, new long[5]);
            long[] c = both[1].getOrDefault(s, new long[5]);
            if (p[0] != c[0] || p[1] != c[1] || p[2] != c[2]) {
                shown++;
                out.add(indent + "narrowed down: " + sub.describe(s) + ": " + counts(p, c));
                explain(sub, s, Math.max(p[0], c[0]), indent + "  ", out);
            }
        }
    }

    /** Both sides' per-range sums, computed at the same time: [PostgreSQL, ClickHouse]. */
    @SuppressWarnings("unchecked")
    Map<Integer, long[]>[] aggregates(KeyRanges r, String pgWhere, String chWhere) throws SQLException {
        CompletableFuture<Map<Integer, long[]>> pgCounts = CompletableFuture.supplyAsync(() -> pgAggregate(r, pgWhere), executor);
        CompletableFuture<Map<Integer, long[]>> chCounts = CompletableFuture.supplyAsync(() -> chAggregate(r, chWhere), executor);
        try {
            return new Map[] {pgCounts.join(), chCounts.join()};
        } catch (CompletionException e) {
            if (e.getCause() instanceof UncheckedSql sql) {
                throw sql.getCause();
            }
            throw e;
        }
    }

    /**
     * Per range: settled rows, the high and low 64 bits of their hash sum, rows newer than the cutoff, and
     * the settled rows stamped in the future.
     */
    private Map<Integer, long[]> pgAggregate(KeyRanges r, String where) {
        String sql = "SELECT b, count(*) FILTER (WHERE s), coalesce(sum(h), 0)::text, count(*) FILTER (WHERE NOT s),"
                + " count(*) FILTER (WHERE s AND v > " + futureMicros() + ")"
                + " FROM (SELECT " + r.pgBucket() + " AS b, " + pgSettled() + " AS s, " + pgVersion + " AS v,"
                + " CASE WHEN " + pgSettled() + " THEN " + pgRowHash()
                + " END AS h FROM " + pgTable + " WHERE " + where + pgLive() + ") x GROUP BY b";
        try (Connection c = env.postgres().getConnection()) {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                // no fetch size: the result is small, and PostgreSQL plans a parallel scan only without a cursor
                ps.setObject(1, pgCreatedCutoff);
                ps.setObject(2, pgUpdatedCutoff);
                ps.setObject(3, pgCreatedCutoff);
                ps.setObject(4, pgUpdatedCutoff);
                try (ResultSet rs = ps.executeQuery()) {
                    return sums(rs, true);
                }
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw new UncheckedSql(e);
        }
    }

    private Map<Integer, long[]> chAggregate(KeyRanges r, String where) {
        String sql = "SELECT b, count(), toString(sum(toUInt128(h))) FROM (SELECT " + r.chBucket() + " AS b, "
                + chRowHash() + " AS h"
                + " FROM " + chTable + " FINAL WHERE " + where + " AND " + chSettled()
                + chSkipPending + ") GROUP BY b SETTINGS output_format_decimal_trailing_zeros = 0";
        try (Connection c = clickHouse.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return sums(rs, false);
        } catch (SQLException e) {
            throw new UncheckedSql(e);
        }
    }

    private static Map<Integer, long[]> sums(ResultSet rs, boolean withNewer) throws SQLException {
        Map<Integer, long[]> result = new HashMap<>();
        while (rs.next()) {
            BigInteger sum = new BigInteger(rs.getString(3));
            result.put(rs.getInt(1), new long[] {rs.getLong(2), sum.longValue(), sum.shiftRight(64).longValue(),
                    withNewer ? rs.getLong(4) : 0, withNewer ? rs.getLong(5) : 0});
        }
        return result;
    }

    /**
     * Reads range b from both sides in key order and names up to {@link #EXAMPLES_PER_RANGE} keys that
     * differ. Text keys are ordered by their bytes on both sides.
     */
    private List<String> examples(KeyRanges ranges, int b) throws SQLException {
        String name = key.size() == 1 ? key.get(0).name()
                : "(" + key.stream().map(PgColumn::name).collect(Collectors.joining(", ")) + ")";
        // each line with the key it names, so integer keys can be listed in their numeric order
        List<Map.Entry<String, String>> found = new ArrayList<>();
        walk(ranges.pgWhere(b), ranges.chWhere(b), true, (pgRow, chRow, copies) -> {
            if (chRow == null) {
                if (pgRow.settled) {
                    found.add(Map.entry(pgRow.key, name + " " + display(pgRow.key) + ": missing in ClickHouse (PostgreSQL has version "
                            + show(pgRow.version) + ")"));
                }
            } else if (pgRow == null) {
                found.add(Map.entry(chRow.key, name + " " + display(chRow.key) + ": only in ClickHouse (version "
                        + show(chRow.version) + "), deleted in PostgreSQL?"));
            } else if (copies > 1) {
                found.add(Map.entry(chRow.key, name + " " + display(chRow.key) + ": ClickHouse holds this key " + copies + " times"));
            } else if (pgRow.settled && chRow.version == pgRow.version && chRow.hash != pgRow.hash) {
                found.add(Map.entry(chRow.key, name + " " + display(chRow.key) + ": same version " + show(chRow.version)
                        + ", different values in ClickHouse (changed behind the loader's back?); --repair copies it again"));
            } else if (pgRow.settled && chRow.version != pgRow.version) {
                // a version that went back can never replace the newer one ClickHouse keeps
                found.add(Map.entry(chRow.key, name + " " + display(chRow.key) + ": ClickHouse has version " + show(chRow.version)
                        + ", PostgreSQL " + show(pgRow.version) + (chRow.version <= pgRow.version ? ""
                        : chRow.version > futureMicros()
                        ? " (older: ClickHouse keeps the version stamped in the future over every later change stamped"
                        + " before it; it is replaced once the row changes after that time)"
                        : " (older: its " + spec.updatedColumn() + " was set back, or to NULL, which breaks"
                        + " that column's contract; touch the row with " + spec.updatedColumn() + " = now())")));
            }
            return found.size() < EXAMPLES_PER_RANGE;
        });
        // the walk runs in the keys' text order (the one both sides share); people read 2 before 10
        if (key.stream().allMatch(k -> INTEGER_KEYS.contains(k.type().name()))) {
            found.sort(Comparator.comparing(e -> Arrays.stream(e.getKey().split("\u001F", -1)).map(Long::parseLong).toList(),
                    TableCheck::compareNumbers));
        }
        return found.stream().map(Map.Entry::getValue).toList();
    }

    private static int compareNumbers(List<Long> a, List<Long> b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = Long.compare(a.get(i), b.get(i));
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(a.size(), b.size());
    }

    /** What {@link #walk} shows for each key: the PostgreSQL row, ClickHouse's, and how many copies ClickHouse has. */
    @FunctionalInterface
    interface KeyVisitor {
        /** Either row may be null (the key is on one side only); false stops the walk. */
        boolean visit(Row pgRow, Row chRow, int chCopies) throws SQLException;
    }

    /**
     * Reads the rows the two conditions select (the same keys on each side) in key order and shows each
     * key once. {@code onlyCompared} keeps to the
     * rows the checksums cover (created and, in ClickHouse, versioned before the cutoff); without it every
     * row of the range is shown, PostgreSQL's with whether it is settled, so a key PostgreSQL still has (in
     * any version) is never taken for one it lacks.
     */
    void walk(String pgWhere, String chWhere, boolean onlyCompared, KeyVisitor visitor) throws SQLException {
        String created = Identifiers.pg(spec.createdColumn());
        String pgSql = "SELECT k, v, s, h FROM (SELECT " + pgKey + " AS k, " + pgVersion + " AS v, " + pgSettled() + " AS s, "
                + pgRowHash() + " AS h FROM "
                + pgTable + " WHERE (" + pgWhere + ")" + pgLive() + (onlyCompared ? " AND (" + created + " < ? OR " + created + " > "
                + pgFuture(spec.createdColumn()) + ")" : "")
                + ") x ORDER BY k COLLATE \"C\"";
        String chSql = "SELECT " + chKey + " AS k, " + chVersionMicros + " AS v, " + chRowHash() + " AS h FROM " + chTable + " FINAL WHERE "
                + "(" + chWhere + ")" + (onlyCompared ? " AND " + chSettled() : "")
                + " ORDER BY k SETTINGS output_format_decimal_trailing_zeros = 0";
        try (Connection p = env.postgres().getConnection(); Connection c = env.clickHouse().getConnection()) {
            try (PreparedStatement ps = p.prepareStatement(pgSql); Statement cs = c.createStatement()) {
                ps.setFetchSize(10_000);
                ps.setObject(1, pgCreatedCutoff);
                ps.setObject(2, pgUpdatedCutoff);
                if (onlyCompared) {
                    ps.setObject(3, pgCreatedCutoff);
                }
                try (ResultSet pr = ps.executeQuery(); ResultSet cr = cs.executeQuery(chSql)) {
                    Row pgRow = Row.next(pr, true);
                    Row chRow = Row.next(cr, false);
                    boolean going = true;
                    while ((pgRow != null || chRow != null) && going) {
                        int order = pgRow == null ? 1 : chRow == null ? -1 : pgRow.compareTo(chRow);
                        if (order < 0) {
                            going = visitor.visit(pgRow, null, 0);
                            pgRow = Row.next(pr, true);
                        } else if (order > 0) {
                            going = visitor.visit(null, chRow, 1);
                            chRow = Row.next(cr, false);
                        } else {
                            int copies = 0;
                            Row same = chRow;
                            while (chRow != null && chRow.compareTo(same) == 0) {
                                copies++;
                                chRow = Row.next(cr, false);
                            }
                            going = visitor.visit(pgRow, same, copies);
                            pgRow = Row.next(pr, true);
                        }
                    }
                }
            } finally {
                p.rollback();
            }
        }
    }

    /** Leaves out rows the soft-delete column marks deleted: ClickHouse's FINAL does too. */
    private String pgLive() {
        if (spec.softDeleteColumn().isBlank()) {
            return "";
        }
        String column = Identifiers.pg(spec.softDeleteColumn());
        PgColumn soft = source.column(spec.softDeleteColumn()).orElse(null);
        return soft != null && soft.type().name().equals("bool")
                ? " AND " + column + " IS NOT TRUE" : " AND " + column + " IS NULL";
    }

    /** A key's canonical text for people: a composite key as {@code (a, b)}. */
    private String display(String keyText) {
        return key.size() == 1 ? keyText : "(" + String.join(", ", keyText.split("\u001F", -1)) + ")";
    }

    /** One row of a range read row by row: canonical key text, version in microseconds, whether it is compared. */
    record Row(String key, byte[] bytes, long version, boolean settled, long hash) {

        static Row next(ResultSet rs, boolean withSettled) throws SQLException {
            if (!rs.next()) {
                return null;
            }
            String key = rs.getString(1);
            return new Row(key, key.getBytes(StandardCharsets.UTF_8), rs.getLong(2), !withSettled || rs.getBoolean(3),
                    rs.getLong(withSettled ? 4 : 3));
        }

        int compareTo(Row other) {
            return Arrays.compareUnsigned(bytes, other.bytes);
        }
    }

    private long pgLong(String sql) throws SQLException {
        return Long.parseLong(pgRow(sql)[0]);
    }

    private String[] pgRow(String sql) throws SQLException {
        try (Connection c = env.postgres().getConnection()) {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
                rs.next();
                String[] row = new String[rs.getMetaData().getColumnCount()];
                for (int i = 0; i < row.length; i++) {
                    row[i] = rs.getString(i + 1);
                }
                return row;
            } finally {
                c.rollback();
            }
        }
    }

    private String[] chRow(String sql) throws SQLException {
        try (Connection c = env.clickHouse().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            String[] row = new String[rs.getMetaData().getColumnCount()];
            for (int i = 0; i < row.length; i++) {
                row[i] = rs.getString(i + 1);
            }
            return row;
        }
    }

    private static String show(Instant instant) {
        return TIME.format(LocalDateTime.ofInstant(instant, ZoneOffset.UTC));
    }

    private static String show(long micros) {
        return show(Instant.EPOCH.plus(micros, ChronoUnit.MICROS));
    }

    private static String rows(long n) {
        return String.format(Locale.ROOT, "%,d %s", n, n == 1 ? "row" : "rows");
    }

    /** An SQLException crossing a CompletableFuture. */
    private static final class UncheckedSql extends RuntimeException {

        UncheckedSql(SQLException cause) {
            super(cause);
        }

        @Override
        public synchronized SQLException getCause() {
            return (SQLException) super.getCause();
        }
    }
}
