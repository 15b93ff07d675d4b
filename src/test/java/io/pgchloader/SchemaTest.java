package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Names of every kind, keys, and tables that change shape after they were first synced. */
class SchemaTest extends LoaderTestBase {

    @Test
    void quotes_any_name_in_both_dialects() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("names.yaml", LoaderFixture.templatedRoute("sync-names",
                "schema", "Größe \"Schema\"", "table", "tëst `table` 'q'", "targetTable", "Ziel `table`",
                "createdColumn", "Erstellt am", "updatedColumn", "select"));
        loader.pg("CREATE SCHEMA \"Größe \"\"Schema\"\"\"",
                "CREATE TABLE \"Größe \"\"Schema\"\"\".\"tëst `table` 'q'\" (\"ID\" int PRIMARY KEY, \"from\" text,"
                        + " \"naïve \\ col\" text, \"Erstellt am\" timestamp NOT NULL, \"select\" timestamp)",
                "INSERT INTO \"Größe \"\"Schema\"\"\".\"tëst `table` 'q'\" VALUES (1, 'a', 'b', '2024-01-01', NULL),"
                        + " (2, 'c', 'd', '2024-01-02', '2024-02-01')");
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-names");

        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(List.of("1 | a | b", "2 | c | d"),
                loader.chRows("SELECT `ID`, `from`, `naïve \\\\ col` FROM `Ziel \\`table\\`` FINAL ORDER BY `ID`"));
    }

    @Test
    void refuses_a_table_without_a_primary_key_unless_told_which_columns_identify_a_row() throws Exception {
        loader = new LoaderFixture(tmp)
                .withRoutes("a.yaml", LoaderFixture.templatedRoute("sync-keyless", "table", "keyless"))
                .withRoutes("b.yaml", LoaderFixture.templatedRoute("sync-keyed", "table", "keyless", "targetTable", "keyed",
                        "primaryKey", "tenant, seq"));
        loader.pg("CREATE TABLE keyless (tenant text NOT NULL, seq int NOT NULL, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO keyless VALUES ('a', 1, '2024-01-01', NULL), ('a', 2, '2024-01-01', NULL), ('b', 1, '2024-01-01', NULL)");
        loader.start();

        SyncStatus.Outcome refused = loader.cycle("sync-keyless");
        SyncStatus.Outcome keyed = loader.cycle("sync-keyed");

        assertFalse(refused.succeeded());
        assertTrue(refused.message().contains("public.keyless has no primary key") && refused.message().contains("primaryKey"),
                refused.message());
        assertTrue(keyed.succeeded(), keyed.message());
        assertEquals(List.of("tenant, seq"), loader.chRows("SELECT sorting_key FROM system.tables"
                + " WHERE database = currentDatabase() AND name = 'keyed'"));
        assertEquals(3, loader.chLong("SELECT count() FROM keyed FINAL"));
    }

    @Test
    void a_column_added_in_postgres_appears_in_clickhouse_and_is_filled_from_then_on() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("items.yaml", LoaderFixture.templatedRoute("sync-items", "table", "items"));
        loader.pg("CREATE TABLE items (id int PRIMARY KEY, name text, created_at timestamp NOT NULL DEFAULT localtimestamp,"
                        + " updated_at timestamp)",
                "INSERT INTO items (id, name, created_at) VALUES (1, 'old', '2024-01-01'), (2, 'at the watermark', '2024-01-02')");
        loader.start();
        assertTrue(loader.cycle("sync-items").succeeded());

        loader.pg("ALTER TABLE items ADD COLUMN price numeric(10, 2) NOT NULL DEFAULT 0",
                "INSERT INTO items (id, name, price) VALUES (3, 'new', 9.99)");
        SyncStatus.Outcome outcome = loader.cycle("sync-items");

        assertTrue(outcome.succeeded(), outcome.message());
        // rows 1 and 2 were synced before the column existed and not read since: NULL, their value was never
        // read; row 2 sits on the watermark, but ClickHouse holds it in that version, so it is not read again
        assertEquals(List.of("1 | old | null", "2 | at the watermark | null", "3 | new | 9.99"),
                loader.chRows("SELECT id, name, toDecimalString(price, 2) FROM items FINAL ORDER BY id"));
        assertEquals(List.of("Nullable(Decimal(10, 2))"), loader.chRows("SELECT type FROM system.columns"
                + " WHERE database = currentDatabase() AND table = 'items' AND name = 'price'"));
    }

    @Test
    void a_dropped_or_renamed_column_never_drops_data_in_clickhouse() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("items.yaml", LoaderFixture.templatedRoute("sync-items", "table", "items"));
        loader.pg("CREATE TABLE items (id int PRIMARY KEY, name text, note text, created_at timestamp NOT NULL DEFAULT localtimestamp,"
                        + " updated_at timestamp)",
                "INSERT INTO items (id, name, note, created_at) VALUES (1, 'first', 'kept', '2024-01-01'),"
                        + " (2, 'second', 'kept too', '2024-01-02')");
        loader.start();
        assertTrue(loader.cycle("sync-items").succeeded());

        loader.pg("ALTER TABLE items DROP COLUMN note", "ALTER TABLE items RENAME COLUMN name TO title",
                "UPDATE items SET title = 'second, changed', updated_at = localtimestamp WHERE id = 2",
                "INSERT INTO items (id, title) VALUES (3, 'third')");
        SyncStatus.Outcome outcome = loader.cycle("sync-items");

        assertTrue(outcome.succeeded(), outcome.message());
        // ClickHouse keeps both old columns and every value in them; the renamed column arrives as a new
        // one. A row synced again after the change is its new version: PostgreSQL no longer has the old
        // columns, so that version has NULL there (the earlier version's values are replaced with it).
        assertEquals(List.of("1 | first | kept | null", "2 | null | null | second, changed", "3 | null | null | third"),
                loader.chRows("SELECT id, name, note, title FROM items FINAL ORDER BY id"));
    }

    @Test
    void a_dropped_not_null_column_keeps_its_values_and_holds_null_in_versions_written_after_the_drop() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("items.yaml", LoaderFixture.templatedRoute("sync-items", "table", "items"));
        loader.pg("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL DEFAULT 0, label text NOT NULL DEFAULT '',"
                        + " created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO items (id, qty, label, created_at) VALUES (1, 9, 'one', '2024-01-01'), (2, 9, 'two', '2024-01-02'),"
                        + " (3, 9, 'three', '2024-01-01')");
        loader.start();
        assertTrue(loader.cycle("sync-items").succeeded());

        loader.pg("ALTER TABLE items DROP COLUMN qty", "ALTER TABLE items DROP COLUMN label",
                "UPDATE items SET updated_at = '2024-02-01' WHERE id = 3");
        SyncStatus.Outcome outcome = loader.cycle("sync-items");

        assertTrue(outcome.succeeded(), outcome.message());
        // rows 1 and 2 were not written again (row 2 sits on the created watermark, in the version ClickHouse
        // holds): their values stay; row 3 was updated: a version without the columns, which holds NULL,
        // never a made-up 0 or ''
        assertEquals(List.of("1 | 9 | one", "2 | 9 | two", "3 | null | null"),
                loader.chRows("SELECT id, qty, label FROM items FINAL ORDER BY id"));
        assertEquals(List.of("qty | Nullable(Int32)", "label | Nullable(String)"), loader.chRows("SELECT name, type FROM system.columns"
                + " WHERE database = currentDatabase() AND table = 'items' AND name IN ('qty', 'label') ORDER BY position"));
    }

    @Test
    void stops_a_table_whose_primary_key_changed_in_postgres_instead_of_merging_rows() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("lines.yaml", LoaderFixture.templatedRoute("sync-lines", "table", "lines"));
        loader.pg("CREATE TABLE lines (id int PRIMARY KEY, line int NOT NULL DEFAULT 1, created_at timestamp NOT NULL"
                        + " DEFAULT localtimestamp, updated_at timestamp)",
                "INSERT INTO lines (id) VALUES (1), (2)");
        loader.start();
        assertTrue(loader.cycle("sync-lines").succeeded());

        loader.pg("ALTER TABLE lines DROP CONSTRAINT lines_pkey, ADD PRIMARY KEY (id, line)",
                "INSERT INTO lines (id, line) VALUES (1, 2), (2, 2)");
        SyncStatus.Outcome outcome = loader.cycle("sync-lines");

        assertFalse(outcome.succeeded());
        assertTrue(outcome.message().contains("is ordered by (id), but the key of public.lines is (id, line)")
                && outcome.message().contains("RENAME TABLE"), outcome.message());
        assertEquals(2, loader.chLong("SELECT count() FROM lines"), "nothing written under the wrong key");
    }

    @Test
    void stops_a_table_whose_primary_key_parameter_no_longer_matches_the_target() throws Exception {
        loader = new LoaderFixture(tmp)
                .withRoutes("a.yaml", LoaderFixture.templatedRoute("sync-by-tenant-and-seq", "table", "keyless",
                        "primaryKey", "tenant, seq"))
                .withRoutes("b.yaml", LoaderFixture.templatedRoute("sync-by-tenant", "table", "keyless", "targetTable", "keyless",
                        "primaryKey", "tenant"));
        loader.pg("CREATE TABLE keyless (tenant text NOT NULL, seq int NOT NULL, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO keyless VALUES ('a', 1, '2024-01-01', NULL), ('a', 2, '2024-01-01', NULL)");
        loader.start();
        assertTrue(loader.cycle("sync-by-tenant-and-seq").succeeded());

        SyncStatus.Outcome outcome = loader.cycle("sync-by-tenant");

        assertFalse(outcome.succeeded());
        assertTrue(outcome.message().contains("is ordered by (tenant, seq), but the key of public.keyless is (tenant)"),
                outcome.message());
        assertTrue(loader.cycle("sync-by-tenant-and-seq").succeeded(), "the matching key goes on");
        assertEquals(2, loader.chLong("SELECT count() FROM keyless FINAL"));
    }

    @Test
    void stops_a_table_whose_premade_target_is_ordered_by_fewer_columns_than_the_key() throws Exception {
        loader = new LoaderFixture(tmp)
                .withRoutes("a.yaml", LoaderFixture.templatedRoute("sync-coarse", "table", "orders", "targetTable", "coarse"))
                .withRoutes("b.yaml", LoaderFixture.templatedRoute("sync-exact", "table", "orders", "targetTable", "exact"));
        loader.pg("CREATE TABLE orders (\"Tenant Id\" int NOT NULL, seq int NOT NULL, created_at timestamp NOT NULL,"
                        + " updated_at timestamp, PRIMARY KEY (\"Tenant Id\", seq))",
                "INSERT INTO orders VALUES (1, 1, '2024-01-01', NULL), (1, 2, '2024-01-01', NULL)");
        String columns = "(`Tenant Id` Int32, seq Int32, created_at DateTime64(6, 'UTC'), updated_at Nullable(DateTime64(6, 'UTC')),"
                + " _version DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at)) ENGINE = ReplacingMergeTree(_version)";
        loader.ch("CREATE TABLE coarse " + columns + " ORDER BY `Tenant Id`",
                "CREATE TABLE exact " + columns + " ORDER BY (seq, `Tenant Id`)");
        loader.start();

        SyncStatus.Outcome coarse = loader.cycle("sync-coarse");
        SyncStatus.Outcome exact = loader.cycle("sync-exact");

        assertFalse(coarse.succeeded());
        assertTrue(coarse.message().contains("but the key of public.orders is (Tenant Id, seq)"), coarse.message());
        assertEquals(0, loader.chLong("SELECT count() FROM coarse"));
        assertTrue(exact.succeeded(), "the same columns in another order keep one row per key: " + exact.message());
        assertEquals(2, loader.chLong("SELECT count() FROM exact FINAL"));
    }

    @Test
    void refuses_an_existing_target_whose_column_would_not_hold_the_values_and_says_how_to_fix_it() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("items.yaml", LoaderFixture.templatedRoute("sync-items", "table", "items"));
        loader.pg("CREATE TABLE items (id int PRIMARY KEY, amount numeric(12, 4), created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO items VALUES (1, 1.2345, '2024-01-01', NULL)");
        loader.ch("CREATE TABLE items (id Int32, amount Nullable(Decimal(12, 2)), created_at DateTime64(6, 'UTC'),"
                + " updated_at Nullable(DateTime64(6, 'UTC'))) ENGINE = ReplacingMergeTree ORDER BY id");
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-items");

        assertFalse(outcome.succeeded());
        assertTrue(outcome.message().contains("public.items.amount") && outcome.message().contains("MODIFY COLUMN `amount` Nullable(Decimal(12, 4))"),
                outcome.message());
        assertEquals(0, loader.chLong("SELECT count() FROM items"), "nothing half-written");
    }

    @Test
    void writes_every_value_exactly_into_wider_columns_of_an_existing_target() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("wide.yaml", LoaderFixture.templatedRoute("sync-wide", "table", "wide"));
        loader.pg("CREATE TABLE wide (id smallint PRIMARY KEY, n int, price numeric(12, 2), small numeric(10, 3),"
                        + " big numeric(30, 5), ratio real, tag uuid, label text, day date, flag boolean, seen timestamptz,"
                        + " created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO wide VALUES"
                        + " (-32768, -2147483648, -9999999999.99, -0.001, -1234567890123456789012345.12345, -1.5,"
                        + "  '00000000-0000-0000-0000-00000000000a', 'ünï', '1900-01-01', true, '1900-01-01 00:00:00.000001+00', '2024-01-01', NULL),"
                        + " (32767, 2147483647, 0.01, 9999999.999, 99999999999999999.5, 3.4028235e38,"
                        + "  'ffffffff-ffff-ffff-ffff-ffffffffffff', '', '2299-12-31', false, '2262-04-11 23:47:16.854775+00', '2024-01-02', NULL),"
                        + " (0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-01 12:00:00', NULL)");
        loader.ch("CREATE TABLE wide (id Int64, n Nullable(Int64), price Nullable(Decimal(18, 4)), small Nullable(Decimal(38, 10)),"
                + " big Nullable(Decimal(40, 8)), ratio Nullable(Float64), tag Nullable(String), label LowCardinality(Nullable(String)),"
                + " day Nullable(Date32), flag Nullable(Bool), seen Nullable(DateTime64(9, 'UTC')), created_at DateTime64(9, 'UTC'),"
                + " updated_at Nullable(DateTime64(9, 'UTC')),"
                + " _version DateTime64(6, 'UTC')) ENGINE = ReplacingMergeTree(_version) ORDER BY id");
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-wide");

        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(List.of(
                        "-32768 | -2147483648 | -9999999999.9900 | -0.0010000000 | -1234567890123456789012345.12345000 | -1.5"
                                + " | 00000000-0000-0000-0000-00000000000a | ünï | 1900-01-01 | true | 1900-01-01 00:00:00.000001000"
                                + " | 2024-01-01 00:00:00.000000000",
                        "0 | null | null | null | null | null | null | null | null | null | null | 2024-01-01 12:00:00.000000000",
                        "32767 | 2147483647 | 0.0100 | 9999999.9990000000 | 99999999999999999.50000000 | 3.4028234663852886E38"
                                + " | ffffffff-ffff-ffff-ffff-ffffffffffff |  | 2299-12-31 | false | 2262-04-11 23:47:16.854775000"
                                + " | 2024-01-02 00:00:00.000000000"),
                loader.chRows("SELECT id, n, toDecimalString(price, 4), toDecimalString(small, 10), toDecimalString(big, 8), ratio,"
                        + " tag, label, day, flag, toString(seen), toString(created_at) FROM wide FINAL ORDER BY id"));

        // DateTime64(9) ends in 2262: a later value stops the table, named, at once (no retries)
        loader.pg("INSERT INTO wide (id, seen, created_at) VALUES (1, '2262-04-11 23:47:16.854776+00', '2024-01-03')");
        long started = System.nanoTime();
        SyncStatus.Outcome late = loader.cycle("sync-wide");
        assertFalse(late.succeeded());
        assertTrue(late.message().contains("column seen") && late.message().contains("Nullable(DateTime64(9, 'UTC'))")
                && late.message().contains("2262-04-11"), late.message());
        assertTrue(System.nanoTime() - started < 10_000_000_000L, "a value that cannot fit is not retried");
        assertEquals(3, loader.chLong("SELECT count() FROM wide FINAL"));
    }

    @Test
    void a_multi_dimensional_array_stops_the_table_with_the_column_named() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("grid.yaml", LoaderFixture.templatedRoute("sync-grid", "table", "grid"));
        loader.pg("CREATE TABLE grid (id int PRIMARY KEY, cells int[], created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO grid VALUES (1, '{{1,2},{3,4}}', '2024-01-01', NULL)");
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-grid");

        assertFalse(outcome.succeeded());
        assertTrue(outcome.message().contains("public.grid") && outcome.message().contains("column cells")
                && outcome.message().contains("multi-dimensional"), outcome.message());
    }

    @Test
    void a_timestamp_clickhouse_cannot_hold_stops_the_table_with_the_column_and_value_named() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("trips.yaml", LoaderFixture.templatedRoute("sync-trips", "table", "trips"));
        loader.pg("CREATE TABLE trips (id int PRIMARY KEY, ends_at timestamptz, starts_at timestamp,"
                        + " created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO trips VALUES (1, '2299-12-31 23:59:59.999999+00', '1900-01-01 00:00:00', '2024-01-01', NULL)");
        loader.start();
        assertTrue(loader.cycle("sync-trips").succeeded(), "the edges of DateTime64's range fit");
        assertEquals(List.of("2299-12-31 23:59:59.999999 | 1900-01-01 00:00:00.000000"),
                loader.chRows("SELECT toString(ends_at), toString(starts_at) FROM trips FINAL"));

        loader.pg("INSERT INTO trips VALUES (2, 'infinity', NULL, '2024-01-02', NULL)");
        SyncStatus.Outcome infinite = loader.cycle("sync-trips");
        assertFalse(infinite.succeeded());
        assertTrue(infinite.message().contains("column ends_at: value infinity is outside what ClickHouse can hold"),
                infinite.message());

        loader.pg("UPDATE trips SET ends_at = NULL, starts_at = '1899-12-31 23:59:59.999999' WHERE id = 2");
        SyncStatus.Outcome early = loader.cycle("sync-trips");
        assertFalse(early.succeeded());
        assertTrue(early.message().contains("column starts_at: value 1899-12-31T23:59:59.999999 is outside"), early.message());
        assertEquals(1, loader.chLong("SELECT count() FROM trips"), "nothing of the refused row was written");
    }
}
