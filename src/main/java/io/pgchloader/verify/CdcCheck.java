package io.pgchloader.verify;

import io.pgchloader.cdc.CdcStream;
import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.common.DeleteGuard;
import io.pgchloader.common.Identifiers;
import io.pgchloader.postgres.PgColumn;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Compares one CDC table: PostgreSQL's rows in a snapshot against ClickHouse's {@code FINAL}, by count and
 * by the sum of a 60-bit hash of every row's key and values, then row by row for examples when they differ.
 *
 * <p>A CDC target's versions are LSNs (commit LSN × 2^64 + position), so the comparison is made at a WAL
 * position, not a time. The check reads the WAL position {@code L0} and waits until every transaction that
 * was running then has ended; it then takes a snapshot {@code S} and reads the position {@code L1} in it,
 * and waits until the slot holds no change committed before {@code L1} that ClickHouse lacks (a streaming
 * loader confirms past it; a slot nobody reads is peeked). Every transaction that committed before
 * {@code L0} is then visible in {@code S} and in ClickHouse; one that committed after it may be in either,
 * and the keys it touched carry a version of at least {@code L0 × 2^64} in ClickHouse: those keys are left
 * out on both sides. What remains is, on both sides, the state after the transactions that committed before
 * {@code L0}, and must be equal.
 */
final class CdcCheck {

    /** How long the slot may take to be confirmed past the snapshot before the table is NOT VERIFIED. */
    private static final long CATCH_UP_SECONDS = 30;
    /** Keys changed since the check began that can be left out, at most. */
    private static final int SKIP_LIMIT = 200_000;
    private static final int EXAMPLES = 5;

    private final CdcStream stream;
    private final CdcStream.Target table;
    private final DataSource postgres;
    private final DataSource clickHouse;
    private final String clickHouseDatabase;
    private final String targetName;
    private final boolean mend;
    private final boolean force;
    /** Keys to copy again (PostgreSQL's text) and to tombstone (ClickHouse's), filled by the row-by-row pass. */
    private final List<String> toCopy = new ArrayList<>();
    private final List<String> toTombstone = new ArrayList<>();

    /**
     * @param mend  whether to write what differs ({@code --repair}) instead of naming a few examples
     * @param force whether to tombstone past the delete guard ({@code --repair --force})
     */
    CdcCheck(CdcStream stream, CdcStream.Target table, DataSource postgres, DataSource clickHouse, String clickHouseDatabase,
             String targetName, boolean mend, boolean force) {
        this.mend = mend;
        this.force = force;
        this.stream = stream;
        this.table = table;
        this.postgres = postgres;
        this.clickHouse = clickHouse;
        this.clickHouseDatabase = clickHouseDatabase;
        this.targetName = targetName;
    }

    TableCheck.Result run() throws SQLException {
        long started = System.nanoTime();
        String name = table.source().qualifiedName();
        VerifiedTable spec = VerifiedTable.cdc(table.routeId(), table.source().schema(), table.source().table(), targetName);
        TargetTable target = TargetTable.inspect(clickHouse, clickHouseDatabase, targetName);
        if (!target.exists()) {
            return new TableCheck.Result(spec, TableCheck.Status.DIFFERENT, name + ": DIFFERENT, ClickHouse has no table "
                    + table.qualifiedTarget(), List.of());
        }
        List<PgColumn> key = table.key().stream().map(k -> table.source().column(k).orElseThrow()).toList();
        key.forEach(KeyText::check);
        KeyText.ValueTexts values = KeyText.ValueTexts.of(table.source().columns(), key, target);
        String pgValues = values.pg();
        String chValues = values.ch();
        List<String> skipped = values.skipped();
        String pgKey = KeyText.pg(key);
        String chKey = KeyText.ch(key);
        String pgHash = KeyText.pgHash(pgKey + pgValues);
        String chHash = KeyText.chHash("concat(" + chKey + chValues + ")");
        String pgTable = Identifiers.pg(table.source().schema(), table.source().table());

        try (Connection c = postgres.getConnection()) {
            c.setAutoCommit(true);
            long l0;
            String xmax;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT pg_current_wal_insert_lsn()::text, pg_snapshot_xmax(pg_current_snapshot())::text")) {
                rs.next();
                l0 = LogSequenceNumber.valueOf(rs.getString(1)).asLong();
                xmax = rs.getString(2);
            }
            // a transaction that committed before L0 but was still running then must be visible in the snapshot
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CATCH_UP_SECONDS);
            while (!single(c, "SELECT (pg_snapshot_xmin(pg_current_snapshot()) >= '" + xmax + "'::xid8)::text").equals("true")) {
                if (System.nanoTime() > deadline) {
                    return notVerified(spec, name + ": NOT VERIFIED, a transaction open since the check began is still running");
                }
                sleep();
            }
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                long l1 = LogSequenceNumber.valueOf(single(c, "SELECT pg_current_wal_insert_lsn()::text")).asLong();
                String behind = awaitSlot(l1, deadline);
                if (behind != null) {
                    return notVerified(spec, name + ": NOT VERIFIED, " + behind);
                }
                // one ClickHouse scan decides both which keys changed since L0 and the sums of the others, so the
                // keys left out of PostgreSQL's side are exactly those left out of ClickHouse's
                // a change committed after L0 has a commit LSN of at least L0 and a position of at least 1: above
                // L0 × 2^64, where a snapshot load taken at L0 itself sits
                long since = l0;
                List<String> changed = new ArrayList<>();
                BigInteger[] chSums;
                try (Connection ch = clickHouse.getConnection(); Statement st = ch.createStatement();
                     ResultSet rs = st.executeQuery("SELECT toString(countIf(NOT changed AND d = 0)),"
                             + " toString(sumIf(toUInt128(h), NOT changed AND d = 0)), toString(countIf(changed)),"
                             + " groupArrayIf(" + (SKIP_LIMIT + 1) + ")(k, changed) FROM " + newest(chKey, chHash, since))) {
                    rs.next();
                    chSums = new BigInteger[] {new BigInteger(rs.getString(1)), new BigInteger(rs.getString(2))};
                    if (Long.parseLong(rs.getString(3)) > SKIP_LIMIT) {
                        return notVerified(spec, name + ": NOT VERIFIED, more than " + SKIP_LIMIT + " keys changed while the"
                                + " check ran; run --verify again when fewer change");
                    }
                    for (Object k : (Object[]) rs.getArray(4).getArray()) {
                        changed.add(k.toString());
                    }
                }
                Array skip = c.createArrayOf("text", changed.toArray());
                BigInteger[] pg;
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*), coalesce(sum(" + pgHash + "), 0) FROM " + pgTable
                        + " WHERE NOT ((" + pgKey + ")::text = ANY (?))")) {
                    ps.setArray(1, skip);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        pg = new BigInteger[] {BigInteger.valueOf(rs.getLong(1)), rs.getBigDecimal(2).toBigInteger()};
                    }
                }
                String compared = "at WAL position " + LogSequenceNumber.valueOf(l0).asString()
                        + (changed.isEmpty() ? "" : ", " + changed.size() + " key(s) changed since not compared")
                        + String.format(Locale.ROOT, " (%.2f s)", (System.nanoTime() - started) / 1e9)
                        + (skipped.isEmpty() ? "" : "; compared by key only: " + String.join(", ", skipped));
                if (pg[0].equals(chSums[0]) && pg[1].equals(chSums[1])) {
                    return new TableCheck.Result(spec, TableCheck.Status.OK, name + ": OK, " + pg[0] + " rows equal (CDC) "
                            + compared, List.of());
                }
                List<String> details = examples(c, skip, pgTable, pgKey, pgHash, chKey, chHash, since);
                if (mend) {
                    details.add(mended(c, pgKey, chKey, l0, pg[0].longValue(), chSums[0].longValue()));
                }
                return new TableCheck.Result(spec, TableCheck.Status.DIFFERENT, name + ": DIFFERENT (CDC), PostgreSQL " + pg[0]
                        + " rows, ClickHouse " + chSums[0] + " rows " + compared, details);
            } finally {
                c.rollback();
            }
        }
    }

    /**
     * Each key's newest row, as FINAL shows it (the highest version wins, a tombstone hides the key), with
     * whether that version is a change committed at or after {@code since}: k, h (hash of key and values), d
     * (deleted), changed.
     */
    private String newest(String chKey, String chHash, long since) {
        String version = Identifiers.ch(TargetTable.VERSION_COLUMN);
        return "(SELECT k, argMax(hh, vv) AS h, argMax(del, vv) AS d, max(vv) > toUInt128('"
                + BigInteger.valueOf(since).shiftLeft(64) + "') AS changed FROM (SELECT " + chKey + " AS k, " + chHash + " AS hh, " + version + " AS vv, "
                + Identifiers.ch(TargetTable.DELETED_COLUMN) + " AS del FROM " + table.qualifiedTarget() + ") GROUP BY k)";
    }

    /** Null once ClickHouse holds every change committed before {@code upTo}, else why not. */
    private String awaitSlot(long upTo, long deadline) throws SQLException {
        while (true) {
            try (Connection c = postgres.getConnection()) {
                c.setAutoCommit(true);
                String confirmed;
                boolean active;
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = ?")) {
                    ps.setString(1, stream.slot());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            return "the replication slot " + stream.slot() + " does not exist";
                        }
                        confirmed = rs.getString(1);
                        active = rs.getBoolean(2);
                    }
                }
                if (LogSequenceNumber.valueOf(confirmed).asLong() >= upTo) {
                    return null;
                }
                boolean nobodyApplies = false;
                if (!active) {
                    if (!stream.holdsChangesBefore(c, upTo)) {
                        return null;
                    }
                    // no loader streams: nobody will apply them while we wait
                    nobodyApplies = true;
                }
                if (nobodyApplies || System.nanoTime() > deadline) {
                    return "ClickHouse lacks changes the slot " + stream.slot() + " holds (confirmed at " + confirmed + ", PostgreSQL at "
                            + LogSequenceNumber.valueOf(upTo).asString() + "): run --once, or let the loader stream, then --verify again";
                }
            }
            sleep();
        }
    }

    /** A few keys that differ, both sides read in key order (their text, byte order on both sides). */
    private List<String> examples(Connection c, Array skip, String pgTable, String pgKey, String pgHash, String chKey,
                                  String chHash, long since) throws SQLException {
        List<String> lines = new ArrayList<>();
        long missing = 0;
        long extra = 0;
        long changed = 0;
        try (PreparedStatement ps = c.prepareStatement("SELECT (" + pgKey + ")::text, " + pgHash + " FROM " + pgTable
                + " WHERE NOT ((" + pgKey + ")::text = ANY (?)) ORDER BY (" + pgKey + ")::text COLLATE \"C\"");
             Connection ch = clickHouse.getConnection(); Statement st = ch.createStatement()) {
            ps.setArray(1, skip);
            ps.setFetchSize(10_000);
            try (ResultSet p = ps.executeQuery(); ResultSet h = st.executeQuery("SELECT k, h FROM " + newest(chKey, chHash, since)
                    + " WHERE NOT changed AND d = 0 ORDER BY k")) {
                boolean hasP = p.next();
                boolean hasH = h.next();
                while (hasP || hasH) {
                    int order = !hasP ? 1 : !hasH ? -1 : compareBytes(p.getString(1), h.getString(1));
                    String key = order > 0 ? h.getString(1) : p.getString(1);
                    String text;
                    if (order < 0) {
                        missing++;
                        text = "key " + p.getString(1) + ": missing in ClickHouse";
                        hasP = p.next();
                    } else if (order > 0) {
                        extra++;
                        text = "key " + h.getString(1) + ": in ClickHouse only (deleted in PostgreSQL)";
                        hasH = h.next();
                    } else {
                        boolean same = p.getLong(2) == h.getLong(2);
                        text = same ? null : "key " + p.getString(1) + ": values differ";
                        if (!same) {
                            changed++;
                        }
                        hasP = p.next();
                        hasH = h.next();
                    }
                    if (mend && text != null) {
                        (order > 0 ? toTombstone : toCopy).add(key);
                    }
                    if (text != null && lines.size() < EXAMPLES) {
                        lines.add("  " + table.source().qualifiedName() + " " + text);
                    }
                }
            }
        }
        lines.add(0, "  " + table.source().qualifiedName() + ": " + missing + " missing in ClickHouse, " + extra
                + " only in ClickHouse, " + changed + " with other values");
        return lines;
    }

    /**
     * Writes what differs, at the version {@code L0 × 2^64 - 1}: above every change committed before L0 (their
     * commit LSN is at most L0 - 1, their position below 2^64 - 1), so the copy or tombstone overrides the wrong
     * row; below every change committed after L0 (at least L0 × 2^64 + 1), so a change the stream applies later
     * overrides the copy, whichever reaches ClickHouse first. The keys written were not set aside, so nothing
     * after L0 touched them in the snapshot: the copies show exactly the state after the commits before L0.
     */
    private String mended(Connection snapshot, String pgKey, String chKey, long l0, long pgRows, long chRows) throws SQLException {
        BigInteger version = BigInteger.valueOf(l0).shiftLeft(64).subtract(BigInteger.ONE);
        long copied = toCopy.isEmpty() ? 0 : stream.copy(snapshot, table.routeId(), " WHERE (" + pgKey + ")::text = ANY (?)",
                snapshot.createArrayOf("text", toCopy.toArray()), version);
        String refused = force ? null : DeleteGuard.refusal(table.source().qualifiedName(), table.routeId(), pgRows,
                toTombstone.size(), chRows, table.maxDeleteFraction());
        if (refused != null) {
            return "  " + table.source().qualifiedName() + ": repaired at version " + version + ": " + copied
                    + " row(s) copied again; " + refused;
        }
        if (!toTombstone.isEmpty()) {
            String keys = Identifiers.chList(table.key());
            StringBuilder in = new StringBuilder();
            for (String k : toTombstone) {
                in.append(in.length() == 0 ? "" : ", ").append('\'').append(k.replace("\\", "\\\\").replace("'", "\\'")).append('\'');
            }
            try (Connection ch = clickHouse.getConnection(); Statement st = ch.createStatement()) {
                st.execute("INSERT INTO " + table.qualifiedTarget() + " (" + keys + ", " + Identifiers.ch(TargetTable.VERSION_COLUMN)
                        + ", " + Identifiers.ch(TargetTable.DELETED_COLUMN) + ") SELECT " + keys + ", toUInt128('" + version
                        + "'), 1 FROM " + table.qualifiedTarget() + " FINAL WHERE " + chKey + " IN (" + in + ")");
            }
        }
        return "  " + table.source().qualifiedName() + ": repaired at version " + version + " (just below WAL position "
                + LogSequenceNumber.valueOf(l0).asString() + "): " + copied + " row(s) copied again, " + toTombstone.size()
                + " tombstoned";
    }

    private static int compareBytes(String a, String b) {
        return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    private static TableCheck.Result notVerified(VerifiedTable spec, String line) {
        return new TableCheck.Result(spec, TableCheck.Status.NOT_VERIFIED, line, List.of());
    }

    private static String single(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VerifyException("interrupted");
        }
    }
}
