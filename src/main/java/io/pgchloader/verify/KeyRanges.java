package io.pgchloader.verify;

import io.pgchloader.common.Identifiers;
import io.pgchloader.postgres.PgColumn;
import java.math.BigInteger;
import java.util.List;
import java.util.Set;

/**
 * How a table's key space is cut into ranges, the same way in both databases.
 *
 * <ul>
 *   <li>An integer first key column (the usual {@code id}): {@code buckets} contiguous ranges of equal
 *   width between the smallest and the largest value either database holds. A differing range then
 *   names real key bounds ({@code id 1..15625}) that an operator can look at or re-sync, and ClickHouse
 *   reads only that range when it is examined row by row (the key is its sort order).</li>
 *   <li>Any other key (text, uuid, composite with a text first column): buckets by a hash of the key's
 *   canonical text. The two databases sort text differently (collations vs bytes), so ordered ranges
 *   would not agree; hashing spreads the rows evenly whatever the values look like.</li>
 * </ul>
 */
abstract class KeyRanges {

    private static final Set<String> INTEGERS = Set.of("int2", "int4", "int8");

    final int count;

    private KeyRanges(int count) {
        this.count = count;
    }

    static boolean integerFirstColumn(List<PgColumn> key) {
        return INTEGERS.contains(key.get(0).type().name());
    }

    /** Ranges of the first key column between lo and hi (inclusive); null bounds for an empty table. */
    static KeyRanges integers(PgColumn column, BigInteger lo, BigInteger hi, int buckets) {
        return new IntegerRanges(column, lo, hi, buckets);
    }

    static KeyRanges hashed(String pgKeyText, String chKeyText, int buckets) {
        return new HashRanges(pgKeyText, chKeyText, buckets);
    }

    /** The range number of a row, 0 to count - 1. */
    abstract String pgBucket();

    abstract String chBucket();

    /** The condition that selects range b. */
    abstract String pgWhere(int b);

    abstract String chWhere(int b);

    /** Range b for people: {@code id 1..15625}, or {@code hash bucket 3 of 64}. */
    abstract String describe(int b);

    /** All ranges, for the summary line: {@code 64 ranges of id 1..1000000}. */
    abstract String describeAll();

    /** Range b cut into ranges of its own, or null when that needs another scan of the whole table. */
    abstract KeyRanges split(int b);

    /**
     * The same key space in {@code parts} times as many ranges: range b here is ranges b * parts to
     * b * parts + parts - 1 there (while the key space has that many keys), for the bisection of a
     * reconciliation, one query per level for every range that still differs.
     */
    abstract KeyRanges refine(int parts);

    /** The range of {@code coarser}, which this grid was refined from (directly or not), that holds range b. */
    abstract int parentIn(KeyRanges coarser, int b);

    /** The condition that selects any of the given ranges. */
    abstract String pgWhereAny(List<Integer> buckets);

    abstract String chWhereAny(List<Integer> buckets);


    private static final class IntegerRanges extends KeyRanges {

        private final PgColumn column;
        private final int buckets;
        private final String name;
        private final String pgColumn;
        private final String chColumn;
        private final BigInteger lo;
        private final BigInteger span;
        private final boolean fitsLong;

        IntegerRanges(PgColumn column, BigInteger lo, BigInteger hi, int buckets) {
            super(lo == null ? 1 : hi.subtract(lo).add(BigInteger.ONE).min(BigInteger.valueOf(buckets)).intValueExact());
            this.column = column;
            this.buckets = buckets;
            this.name = column.name();
            this.pgColumn = Identifiers.pg(column.name());
            this.chColumn = Identifiers.ch(column.name());
            this.lo = lo == null ? BigInteger.ZERO : lo;
            this.span = lo == null ? BigInteger.ONE : hi.subtract(lo).add(BigInteger.ONE);
            // (k - lo) * count stays below 2^62: plain 64-bit arithmetic, else numeric / Int128
            this.fitsLong = span.multiply(BigInteger.valueOf(count)).bitLength() < 62;
        }

        @Override
        String pgBucket() {
            String raw = fitsLong
                    ? "((" + pgColumn + "::bigint - (" + lo + ")) * " + count + " / " + span + ")"
                    : "floor((" + pgColumn + "::numeric - (" + lo + ")) * " + count + " / " + span + ")::bigint";
            // rows written after the bounds were read may fall outside; they are newer than the cutoff anyway
            return "least(greatest(" + raw + ", 0), " + (count - 1) + ")";
        }

        @Override
        String chBucket() {
            return "least(greatest(" + chRawBucket() + ", 0), " + (count - 1) + ")";
        }

        /** The range number of keys between the bounds; below 0 or from count on for keys outside them. */
        private String chRawBucket() {
            return fitsLong
                    ? "intDiv((toInt64(" + chColumn + ") - (" + lo + ")) * " + count + ", " + span + ")"
                    : "toInt64(intDiv((toInt128(" + chColumn + ") - toInt128('" + lo + "')) * " + count + ", toInt128('" + span + "')))";
        }

        /** First key of range b: lo + ceil(b * span / count). */
        private BigInteger start(int b) {
            BigInteger[] qr = span.multiply(BigInteger.valueOf(b)).divideAndRemainder(BigInteger.valueOf(count));
            return lo.add(qr[0]).add(qr[1].signum() > 0 ? BigInteger.ONE : BigInteger.ZERO);
        }

        private BigInteger end(int b) {
            return start(b + 1).subtract(BigInteger.ONE);
        }

        @Override
        String pgWhere(int b) {
            return pgColumn + " BETWEEN " + start(b) + " AND " + end(b);
        }

        @Override
        String chWhere(int b) {
            return chColumn + " BETWEEN " + start(b) + " AND " + end(b);
        }

        @Override
        String describe(int b) {
            return name + " " + start(b) + ".." + end(b);
        }

        @Override
        String describeAll() {
            return count + (count == 1 ? " range" : " ranges") + " of " + name + " " + start(0) + ".." + end(count - 1);
        }

        @Override
        KeyRanges split(int b) {
            return new IntegerRanges(column, start(b), end(b), buckets);
        }

        @Override
        KeyRanges refine(int parts) {
            return new IntegerRanges(column, lo, lo.add(span).subtract(BigInteger.ONE), (int) Math.min((long) count * parts, Integer.MAX_VALUE / 2));
        }

        @Override
        int parentIn(KeyRanges coarser, int b) {
            IntegerRanges c = (IntegerRanges) coarser;
            // the same bounds: range b's first key k lies in floor((k - lo) * count / span) there
            return start(b).subtract(c.lo).multiply(BigInteger.valueOf(c.count)).divide(c.span).intValueExact();
        }

        @Override
        String pgWhereAny(List<Integer> buckets) {
            return runs(buckets, pgColumn);
        }

        /**
         * ClickHouse takes a thousand {@code OR}ed ranges badly (3.7 s for 200,000 rows, where the same rows
         * by their range number {@code IN} a set take 0.3 s): the range number in a set, within the span of
         * the first to the last range, which the primary key's index can use.
         */
        @Override
        String chWhereAny(List<Integer> buckets) {
            if (buckets.size() <= 1) {
                return runs(buckets, chColumn);
            }
            List<Integer> sorted = buckets.stream().sorted().toList();
            StringBuilder set = new StringBuilder();
            for (int b : sorted) {
                set.append(set.length() == 0 ? "" : ", ").append(b);
            }
            return "(" + chColumn + " BETWEEN " + start(sorted.get(0)) + " AND " + end(sorted.get(sorted.size() - 1)) + " AND "
                    + chRawBucket() + " IN (" + set + "))";
        }

        /** Consecutive ranges joined, so the database reads each run of the key in one index range. */
        private String runs(List<Integer> buckets, String column) {
            List<Integer> sorted = buckets.stream().sorted().toList();
            StringBuilder where = new StringBuilder();
            for (int i = 0; i < sorted.size(); ) {
                int first = sorted.get(i);
                int last = first;
                while (i + 1 < sorted.size() && sorted.get(i + 1) == last + 1) {
                    last = sorted.get(++i);
                }
                i++;
                where.append(where.length() == 0 ? "" : " OR ").append(column).append(" BETWEEN ").append(start(first))
                        .append(" AND ").append(end(last));
            }
            return where.length() == 0 ? "FALSE" : where.toString();
        }
    }

    /**
     * Buckets by a hash h of the key: bucket i holds the keys with {@code h % (modulus * count) = residue +
     * modulus * i}. At the top the modulus is 1 and the residue 0 ({@code h % count}); a split bucket's
     * sub-buckets are the same hash taken modulo a larger number, so they cover exactly that bucket.
     */
    private static final class HashRanges extends KeyRanges {

        private final String pgKeyText;
        private final String chKeyText;
        private final long modulus;
        private final long residue;

        HashRanges(String pgKeyText, String chKeyText, int buckets) {
            this(pgKeyText, chKeyText, buckets, 1, 0);
        }

        private HashRanges(String pgKeyText, String chKeyText, int buckets, long modulus, long residue) {
            super(buckets);
            this.pgKeyText = pgKeyText;
            this.chKeyText = chKeyText;
            this.modulus = modulus;
            this.residue = residue;
        }

        @Override
        String pgBucket() {
            return "((" + KeyText.pgHash(pgKeyText) + " % " + modulus * count + ") / " + modulus + ")";
        }

        @Override
        String chBucket() {
            return "toInt64(intDiv(" + KeyText.chHash(chKeyText) + " % " + modulus * count + ", " + modulus + "))";
        }

        @Override
        String pgWhere(int b) {
            return "(" + KeyText.pgHash(pgKeyText) + " % " + modulus * count + ") = " + (residue + modulus * b);
        }

        @Override
        String chWhere(int b) {
            return "(" + KeyText.chHash(chKeyText) + " % " + modulus * count + ") = " + (residue + modulus * b);
        }

        @Override
        String describe(int b) {
            return modulus == 1 ? "hash bucket " + b + " of " + count
                    : "hash bucket " + (residue + modulus * b) + " of " + modulus * count;
        }

        @Override
        String describeAll() {
            return count + " hash buckets of the key";
        }

        @Override
        KeyRanges split(int b) {
            return null;
        }

        @Override
        int parentIn(KeyRanges coarser, int b) {
            return b % coarser.count;
        }

        @Override
        KeyRanges refine(int parts) {
            // h % (count * parts) lies in bucket b of h % count exactly when it is b modulo count
            return new HashRanges(pgKeyText, chKeyText, count * parts, modulus, residue);
        }

        @Override
        String pgWhereAny(List<Integer> buckets) {
            return buckets.isEmpty() ? "FALSE" : "(" + KeyText.pgHash(pgKeyText) + " % " + modulus * count + ") IN ("
                    + values(buckets) + ")";
        }

        @Override
        String chWhereAny(List<Integer> buckets) {
            return buckets.isEmpty() ? "FALSE" : "(" + KeyText.chHash(chKeyText) + " % " + modulus * count + ") IN ("
                    + values(buckets) + ")";
        }

        private String values(List<Integer> buckets) {
            StringBuilder list = new StringBuilder();
            for (int b : buckets) {
                list.append(list.length() == 0 ? "" : ", ").append(residue + modulus * b);
            }
            return list.toString();
        }
    }
}
