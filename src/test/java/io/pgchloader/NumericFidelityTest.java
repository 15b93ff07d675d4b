package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every numeric the ClickHouse Decimal can hold arrives exactly, also where the loader's fast path (the
 * unscaled value in a long) ends and the exact one begins: just below and just above each power of ten a
 * column can hold and 2^63, in both signs, in a key as well as in plain columns. PostgreSQL's own text of
 * each value is the reference.
 */
class NumericFidelityTest extends LoaderTestBase {

    private static final BigInteger TWO_TO_THE_63 = BigInteger.ONE.shiftLeft(63);

    /** The columns and the ClickHouse scale each is compared at: the declared one, 38 for plain numeric. */
    private static final Map<String, Integer> SCALES = new LinkedHashMap<>();

    static {
        SCALES.put("key", 2);
        SCALES.put("c19_2", 2);
        SCALES.put("c20_2", 2);
        SCALES.put("c38_18", 18);
        SCALES.put("c18_0", 0);
        SCALES.put("c38_0", 0);
        SCALES.put("c76_38", 38);
        SCALES.put("c_free", 38);
    }

    @Test
    void every_numeric_the_decimal_holds_arrives_exactly_around_each_power_of_ten_and_two_to_the_sixty_three()
            throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("numbers.yaml", LoaderFixture.templatedRoute("sync-numbers", "table", "numbers"));
        loader.pg("CREATE TABLE numbers (key numeric(20, 2) PRIMARY KEY, c19_2 numeric(19, 2), c20_2 numeric(20, 2),"
                + " c38_18 numeric(38, 18), c18_0 numeric(18, 0), c38_0 numeric(38, 0), c76_38 numeric(76, 38), c_free numeric,"
                + " created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz)");
        List<List<BigDecimal>> columns = List.of(
                // the key needs a value for every row: denser around 2^63, where keys used to collide
                sweep(20, 2, 12, 2500),
                sweep(19, 2, 12, 300),
                sweep(20, 2, 12, 300),
                sweep(38, 18, 12, 300),
                sweep(18, 0, 12, 300),
                sweep(38, 0, 12, 300),
                sweep(76, 38, 12, 300),
                free());
        int rows = insert(columns);
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-numbers");

        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(rows, outcome.rowsCreated());
        assertEquals(rows, loader.chLong("SELECT count() FROM numbers FINAL"));
        List<String> postgres = loader.pgRows("SELECT " + String.join(", ", SCALES.entrySet().stream()
                // a plain numeric keeps its own display scale; shown at the Decimal's, it is the same number
                .map(c -> "coalesce(round(" + c.getKey() + ", " + c.getValue() + ")::text, 'null')").toList())
                + " FROM numbers ORDER BY key");
        // toString would drop trailing zeros; toDecimalString shows exactly the scale asked for
        List<String> clickHouse = loader.chRows("SELECT " + String.join(", ", SCALES.entrySet().stream()
                .map(c -> "ifNull(toDecimalString(" + c.getKey() + ", " + c.getValue() + "), 'null')").toList())
                + " FROM numbers FINAL ORDER BY key");
        List<String> differences = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            if (!postgres.get(i).equals(clickHouse.get(i)) && differences.size() < 10) {
                differences.add("PostgreSQL " + postgres.get(i) + "\n  ClickHouse " + clickHouse.get(i));
            }
        }
        assertEquals(List.of(), differences);
    }

    /**
     * Every value of numeric(precision, scale) within {@code reach} units of the last place of each power
     * of ten it holds, and within {@code reachOfTwoToThe63} of 2^63 (where the unscaled value stops fitting
     * a long), in both signs.
     */
    private static List<BigDecimal> sweep(int precision, int scale, int reach, int reachOfTwoToThe63) {
        BigInteger limit = BigInteger.TEN.pow(precision);
        TreeSet<BigInteger> unscaled = new TreeSet<>();
        for (int k = 0; k <= precision; k++) {
            around(BigInteger.TEN.pow(k), reach, limit, unscaled);
        }
        around(TWO_TO_THE_63, reachOfTwoToThe63, limit, unscaled);
        return unscaled.stream().map(u -> new BigDecimal(u, scale)).toList();
    }

    private static void around(BigInteger center, int reach, BigInteger limit, TreeSet<BigInteger> into) {
        for (int offset = -reach; offset <= reach; offset++) {
            BigInteger magnitude = center.add(BigInteger.valueOf(offset));
            if (magnitude.signum() >= 0 && magnitude.compareTo(limit) < 0) {
                into.add(magnitude);
                into.add(magnitude.negate());
            }
        }
    }

    /**
     * Plain numeric, which the loader stores as Decimal(76, 38): the sweep of that Decimal, integers around
     * 2^63, and some values written with more fraction digits than 38, all of them zeros (PostgreSQL keeps
     * that display scale).
     */
    private static List<BigDecimal> free() {
        List<BigDecimal> values = new ArrayList<>(sweep(76, 38, 12, 300));
        TreeSet<BigInteger> integers = new TreeSet<>();
        around(TWO_TO_THE_63, 300, BigInteger.TEN.pow(38), integers);
        integers.forEach(i -> values.add(new BigDecimal(i)));
        List<BigDecimal> padded = new ArrayList<>();
        for (int i = 0; i < values.size(); i += 7) {
            padded.add(values.get(i).setScale(38 + 1 + i % 5));
        }
        values.addAll(padded);
        return values;
    }

    /** Row i holds the i-th value of each column, NULL where a column has fewer; the key has the most. */
    private int insert(List<List<BigDecimal>> columns) throws Exception {
        int rows = columns.get(0).size();
        for (List<BigDecimal> column : columns) {
            assertTrue(column.size() <= rows, "the key column must have a value for every row");
        }
        try (Connection pg = loader.postgres(); PreparedStatement insert = pg.prepareStatement("INSERT INTO numbers"
                + " (key, c19_2, c20_2, c38_18, c18_0, c38_0, c76_38, c_free) VALUES (?::numeric, ?::numeric, ?::numeric,"
                + " ?::numeric, ?::numeric, ?::numeric, ?::numeric, ?::numeric)")) {
            for (int i = 0; i < rows; i++) {
                for (int c = 0; c < columns.size(); c++) {
                    List<BigDecimal> values = columns.get(c);
                    // as text, so that PostgreSQL parses exactly what is written, display scale included
                    insert.setString(c + 1, i < values.size() ? values.get(i).toPlainString() : null);
                }
                insert.addBatch();
            }
            insert.executeBatch();
        }
        return rows;
    }
}
