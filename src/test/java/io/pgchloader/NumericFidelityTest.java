package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.sync.SyncStatus;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Numerics arrive exactly across the whole range each column holds: a dense sweep of values around every
 * power of ten and around 2^63, at every scale used, both signs, compared as text on both sides. Extremes
 * alone missed values whose unscaled form lands just above 2^63 - 1 (they wrapped and changed sign).
 */
class NumericFidelityTest extends LoaderTestBase {

    /** numeric(p, s) columns, and the unconstrained numeric (Decimal(76, 38) in ClickHouse) as p = 0. */
    private static final int[][] TYPES = {{18, 0}, {19, 2}, {20, 2}, {38, 18}, {38, 0}, {30, 5}, {0, 0}};

    /**
     * Unscaled values 10^k + d and 2^63 + d (d in -40..40), both signs, as numeric(p, s): every one the
     * column holds. For the unconstrained numeric, the same at scales 0, 3 and 7.
     */
    private static String sweep(String table, int precision, int scale) {
        String digits = Integer.toString(precision == 0 ? 38 : precision);
        String scales = precision == 0 ? "ARRAY[0, 3, 7]" : "ARRAY[" + scale + "]";
        String type = precision == 0 ? "numeric" : "numeric(" + precision + ", " + scale + ")";
        return "INSERT INTO " + table + " (v) SELECT DISTINCT v FROM ("
                + " SELECT (sgn * u * (10::numeric ^ (-s)))::" + type + " AS v, u, s"
                + " FROM unnest(" + scales + ") s, (VALUES (1), (-1)) sg(sgn),"
                + " LATERAL (SELECT (10::numeric ^ k) + d AS u FROM generate_series(0, " + digits + " - 1) k, generate_series(-40, 40) d"
                + "          UNION ALL SELECT 9223372036854775808::numeric + d FROM generate_series(-40, 40) d) us"
                + " WHERE u >= 0 AND u < 10::numeric ^ " + digits + ") x";
    }

    @Test
    void every_numeric_a_column_holds_arrives_exactly_around_each_power_of_ten_and_two_to_the_sixty_three() throws Exception {
        StringBuilder routes = new StringBuilder();
        List<String> setup = new ArrayList<>();
        for (int[] t : TYPES) {
            String table = "n_" + t[0] + "_" + t[1];
            routes.append(LoaderFixture.templatedRoute("sync-" + table.replace('_', '-'), "table", table));
            setup.add("CREATE TABLE " + table + " (id serial PRIMARY KEY, v " + (t[0] == 0 ? "numeric" : "numeric(" + t[0] + ", " + t[1] + ")")
                    + ", created_at timestamptz NOT NULL DEFAULT '2024-01-01', updated_at timestamptz)");
            setup.add(sweep(table, t[0], t[1]));
        }
        loader = new LoaderFixture(tmp).withRoutes("numerics.yaml", routes.toString());
        loader.pg(setup.toArray(String[]::new));
        loader.start();

        for (int[] t : TYPES) {
            String table = "n_" + t[0] + "_" + t[1];
            SyncStatus.Outcome outcome = loader.cycle("sync-" + table.replace('_', '-'));
            assertTrue(outcome.succeeded(), outcome.message());
            List<String> pg = loader.pgRows("SELECT id, trim_scale(v)::text FROM " + table + " ORDER BY id");
            assertTrue(pg.size() > 1000, table + " holds " + pg.size() + " values");
            assertEquals(pg, loader.chRows("SELECT id, toString(v) FROM " + table + " FINAL ORDER BY id"
                    + " SETTINGS output_format_decimal_trailing_zeros = 0"), table);
        }
    }

    @Test
    void a_numeric_key_near_two_to_the_sixty_three_keeps_every_row() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("prices.yaml", LoaderFixture.templatedRoute("sync-prices", "table", "prices"));
        loader.pg("CREATE TABLE prices (v numeric(20, 2) PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT '2024-01-01',"
                + " updated_at timestamptz)", sweep("prices", 20, 2));
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-prices");

        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(loader.pgLong("SELECT count(*) FROM prices"), loader.chLong("SELECT count() FROM prices FINAL"));
        assertEquals(loader.pgRows("SELECT trim_scale(v)::text FROM prices ORDER BY v"),
                loader.chRows("SELECT toString(v) FROM prices FINAL ORDER BY v SETTINGS output_format_decimal_trailing_zeros = 0"));
    }
}
