package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A table the project has never seen, added with nothing but a templatedRoute: its ClickHouse target
 * is created from the PostgreSQL catalog, backfilled, then follows inserts and updates, and reruns add
 * no duplicates. Every column is compared row by row.
 */
class AddingATableTest extends LoaderTestBase {


    static final String ROUTE = LoaderFixture.templatedRoute("sync-order-lines",
            "schema", "Shop",
            "table", "Order Lines",
            "targetTable", "order_lines_ch",
            "primaryKey", "order_id, line_no",
            "createdColumn", "inserted_at",
            "updatedColumn", "changed_at",
            "batchSize", "700");

    // the same rows rendered as text on both sides, so a value changed in transit shows up as a diff
    static final String PG_ROWS = """
            SELECT order_id, line_no, sku, (qty * 1000)::bigint, coalesce(note, '<null>'), payload::text, ref::text,
                   delivery::text, to_char(inserted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
                   coalesce(to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '<null>'),
                   gift::text, coalesce(array_to_string(tags, ',', 'NULL'), ''), "select", price::text
              FROM "Shop"."Order Lines" ORDER BY order_id, line_no
            """;
    static final String CH_ROWS = """
            SELECT order_id, line_no, sku, toInt64(qty * 1000), ifNull(note, '<null>'), payload, toString(ref),
                   toString(delivery), toString(inserted_at), ifNull(toString(changed_at), '<null>'),
                   toString(gift), arrayStringConcat(arrayMap(x -> ifNull(toString(x), 'NULL'), tags), ','), `select`, price
              FROM order_lines_ch FINAL ORDER BY order_id, line_no
            """;

    @Test
    void syncs_a_table_added_by_yaml_alone() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("shop.yaml", ROUTE);
        loader.pg("CREATE SCHEMA \"Shop\"",
                "CREATE TABLE \"Shop\".\"Order Lines\" ("
                        + " order_id integer NOT NULL, line_no smallint NOT NULL, sku varchar(32) NOT NULL,"
                        + " qty numeric(10, 3) NOT NULL, note text, payload jsonb, ref uuid NOT NULL, delivery date,"
                        + " inserted_at timestamptz NOT NULL, changed_at timestamptz, gift boolean NOT NULL DEFAULT false,"
                        + " tags integer[], \"select\" text NOT NULL DEFAULT 'x', price money,"
                        + " PRIMARY KEY (order_id, line_no))",
                "INSERT INTO \"Shop\".\"Order Lines\" (order_id, line_no, sku, qty, note, payload, ref, delivery, inserted_at, tags, \"select\", price)"
                        + " SELECT g / 3, g % 3, 'SKU-' || g, g * 1.125, CASE WHEN g % 5 = 0 THEN NULL ELSE 'note \"' || g || E'\\'\\n✓' END,"
                        + " jsonb_build_object('g', g, 'tags', jsonb_build_array('a', 'b')), gen_random_uuid(),"
                        + " date '1960-02-29' + g, timestamptz '2024-03-31 01:59:59.999999+00' + g * interval '1 microsecond',"
                        + " CASE WHEN g % 4 = 0 THEN NULL ELSE ARRAY[g, NULL, -g] END, 'sel' || g, g"
                        + " FROM generate_series(1, 2000) g");
        loader.start();

        SyncStatus.Outcome backfill = loader.cycle("sync-order-lines");

        assertTrue(backfill.succeeded(), backfill.message());
        assertEquals(2_000, backfill.rowsCreated());
        assertEquals(List.of("ReplacingMergeTree | order_id, line_no"), loader.chRows(
                "SELECT engine, sorting_key FROM system.tables WHERE database = currentDatabase() AND name = 'order_lines_ch'"));
        assertEquals(loader.pgRows(PG_ROWS), loader.chRows(CH_ROWS));

        loader.pg("INSERT INTO \"Shop\".\"Order Lines\" (order_id, line_no, sku, qty, ref, inserted_at)"
                        + " SELECT 10000 + g, 1, 'NEW-' || g, 1, gen_random_uuid(), now() FROM generate_series(1, 50) g",
                "UPDATE \"Shop\".\"Order Lines\" SET qty = qty + 1, note = 'changed', changed_at = now() WHERE order_id < 10");
        SyncStatus.Outcome increment = loader.cycle("sync-order-lines");
        SyncStatus.Outcome rerun = loader.cycle("sync-order-lines");

        assertEquals(50, increment.rowsCreated(), increment.message());
        assertEquals(29, increment.rowsUpdated(), increment.message());
        assertEquals(0, rerun.rowsCreated() + rerun.rowsUpdated(), rerun.message());
        assertEquals(loader.pgRows(PG_ROWS), loader.chRows(CH_ROWS));
        assertEquals(0, loader.chLong("SELECT count() FROM (SELECT order_id, line_no FROM order_lines_ch FINAL"
                + " GROUP BY order_id, line_no HAVING count() > 1)"));
    }
}
