package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.Http;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.verify.Verifier;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Deleted rows leave ClickHouse's FINAL: soft deletes through the updated stream, hard deletes through a
 * reconciliation that tombstones the keys PostgreSQL no longer has and copies again what ClickHouse lacks,
 * never hiding a row a later write brought, and never emptying a target on an empty source unless told.
 */
class DeletesTest extends LoaderTestBase {

    private static final String EVENTS = "CREATE TABLE events (id bigint PRIMARY KEY, name text, created_at timestamptz NOT NULL,"
            + " updated_at timestamptz)";

    private void events(int rows) throws Exception {
        loader.pg(EVENTS, "INSERT INTO events SELECT g, 'event ' || g, now() - interval '1 day' + g * interval '1 ms', NULL"
                + " FROM generate_series(1, " + rows + ") g");
    }

    private long finalCount(String table) throws Exception {
        return loader.chLong("SELECT count() FROM " + table + " FINAL");
    }

    private SyncStatus.Outcome repair(String routeId, boolean force) {
        SyncStatus.Outcome outcome = loader.app().cycles().repair(routeId, force);
        assertTrue(outcome.succeeded(), outcome.message());
        return outcome;
    }

    private int verify() {
        Verifier.Report report = Verifier.of(loader.app()).run();
        return report.exitCode();
    }

    @Test
    void soft_deleted_rows_leave_final_in_the_next_cycle_and_come_back_when_undeleted() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-items", "table", "items", "softDeleteColumn", "deleted")
                        + LoaderFixture.templatedRoute("sync-notes", "table", "notes", "softDeleteColumn", "deleted_at"));
        loader.pg("CREATE TABLE items (id int PRIMARY KEY, deleted boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL,"
                        + " updated_at timestamptz)",
                "INSERT INTO items SELECT g, false, now() - interval '1 hour', NULL FROM generate_series(1, 100) g",
                "CREATE TABLE notes (id int PRIMARY KEY, deleted_at timestamp, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO notes SELECT g, NULL, localtimestamp - interval '1 hour', NULL FROM generate_series(1, 50) g");
        loader.start();
        loader.succeedingCycle("sync-items");
        loader.succeedingCycle("sync-notes");
        assertEquals(100, finalCount("items"));

        loader.pg("UPDATE items SET deleted = true, updated_at = now() WHERE id % 10 = 0",
                "UPDATE notes SET deleted_at = localtimestamp, updated_at = localtimestamp WHERE id <= 5");
        loader.succeedingCycle("sync-items");
        loader.succeedingCycle("sync-notes");
        assertEquals(90, finalCount("items"));
        assertEquals(45, finalCount("notes"));
        assertEquals(0, loader.chLong("SELECT count() FROM items FINAL WHERE id % 10 = 0"));
        assertEquals(0, verify(), "soft-deleted rows are left out on both sides");

        loader.pg("UPDATE items SET deleted = false, updated_at = now() WHERE id = 10");
        loader.succeedingCycle("sync-items");
        assertEquals(91, finalCount("items"));
        assertEquals(1, loader.chLong("SELECT count() FROM items FINAL WHERE id = 10"));
    }

    @Test
    void hard_deletes_scattered_and_in_a_block_get_tombstones_and_verify_is_then_equal() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events"));
        events(20_000);
        loader.start();
        loader.succeedingCycle("sync-events");
        loader.pg("DELETE FROM events WHERE id IN (3, 777, 1234, 5000, 9999, 12345, 15000, 17171, 18000, 19998, 20000)",
                "DELETE FROM events WHERE id BETWEEN 6001 AND 6300");
        assertEquals(1, verify(), "the deletes are a difference before the repair");

        SyncStatus.Outcome outcome = repair("sync-events", false);

        assertEquals(20_000 - 311, finalCount("events"));
        assertTrue(outcome.message().contains("311 deleted (tombstones)"), outcome.message());
        assertEquals(0, verify());
        assertEquals(0, loader.chLong("SELECT count() FROM events FINAL WHERE id BETWEEN 6001 AND 6300 OR id = 20000"));
    }

    @Test
    void tombstones_never_move_a_watermark() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events"));
        events(1_000);
        loader.pg("UPDATE events SET updated_at = now() - interval '2 hours' WHERE id <= 10");
        loader.start();
        loader.succeedingCycle("sync-events");
        List<String> marks = loader.chRows("SELECT toString(maxIf(created_at, updated_at IS NULL)), toString(max(updated_at)) FROM events");
        // the newest created row and an updated one: their tombstones must not become the next watermarks
        loader.pg("DELETE FROM events WHERE id IN (5, 1000)");

        repair("sync-events", false);

        assertEquals(998, finalCount("events"));
        assertEquals(marks, loader.chRows("SELECT toString(maxIf(created_at, updated_at IS NULL)), toString(max(updated_at)) FROM events"));
    }

    @Test
    void a_key_deleted_and_inserted_again_is_present_with_its_newest_values_before_and_after_a_repair() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events"));
        events(500);
        loader.start();
        loader.succeedingCycle("sync-events");

        // before: deleted and back again when the repair looks; it must not be taken for a deleted key
        loader.pg("DELETE FROM events WHERE id IN (10, 20)", "INSERT INTO events VALUES (10, 'back before', now(), NULL)");
        repair("sync-events", false);
        assertEquals(List.of("back before"), loader.chRows("SELECT name FROM events FINAL WHERE id = 10"));
        assertEquals(0, loader.chLong("SELECT count() FROM events FINAL WHERE id = 20"));

        // after: the tombstone of 20 must lose against the row inserted again later
        loader.pg("INSERT INTO events VALUES (20, 'back after', now(), NULL)");
        loader.succeedingCycle("sync-events");
        assertEquals(List.of("back after"), loader.chRows("SELECT name FROM events FINAL WHERE id = 20"));
        repair("sync-events", false);
        assertEquals(List.of("back after"), loader.chRows("SELECT name FROM events FINAL WHERE id = 20"));
        assertEquals(0, verify());
    }

    @Test
    void rows_missing_in_clickhouse_are_copied_again() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events"));
        events(3_000);
        loader.start();
        loader.succeedingCycle("sync-events");
        loader.ch("ALTER TABLE events DELETE WHERE id IN (1, 2, 1500, 2999) SETTINGS mutations_sync = 2");
        assertEquals(2_996, finalCount("events"));

        SyncStatus.Outcome outcome = repair("sync-events", false);

        assertEquals(3_000, finalCount("events"));
        assertTrue(outcome.message().contains("4 copied again"), outcome.message());
        assertEquals(0, verify());
    }

    @Test
    void a_table_emptied_in_postgres_is_not_emptied_in_clickhouse_without_force() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events"));
        events(2_000);
        loader.start();
        loader.succeedingCycle("sync-events");
        loader.pg("DELETE FROM events");

        SyncStatus.Outcome guarded = repair("sync-events", false);
        assertEquals(2_000, finalCount("events"));
        assertTrue(guarded.message().contains("nothing deleted: PostgreSQL's public.events shows no rows at all"), guarded.message());

        repair("sync-events", true);
        assertEquals(0, finalCount("events"));
    }

    @Test
    void more_deletes_than_max_delete_fraction_wait_for_force() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "maxDeleteFraction", "0.1"));
        events(1_000);
        loader.start();
        loader.succeedingCycle("sync-events");
        loader.pg("DELETE FROM events WHERE id <= 150");

        SyncStatus.Outcome guarded = repair("sync-events", false);
        assertEquals(1_000, finalCount("events"));
        assertTrue(guarded.message().contains("150 of 1,000 rows (15.0 %) would go, more than maxDeleteFraction 0.100"),
                guarded.message());

        loader.pg("INSERT INTO events VALUES (1, 'back', now(), NULL)");
        repair("sync-events", true);
        assertEquals(851, finalCount("events"));
        assertEquals(List.of("back"), loader.chRows("SELECT name FROM events FINAL WHERE id = 1"));
    }

    @Test
    void text_and_composite_keys_get_tombstones_too() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-tags", "table", "tags")
                        + LoaderFixture.templatedRoute("sync-lines", "table", "lines"));
        loader.pg("CREATE TABLE tags (name text PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO tags SELECT 'tag ' || g || ' ü''\\', localtimestamp - interval '1 hour', NULL FROM generate_series(1, 2000) g",
                "CREATE TABLE lines (order_no int, code text, created_at timestamptz NOT NULL, updated_at timestamptz,"
                        + " PRIMARY KEY (order_no, code))",
                "INSERT INTO lines SELECT g / 3, 'c' || g % 3, now() - interval '1 hour', NULL FROM generate_series(0, 2999) g");
        loader.start();
        loader.succeedingCycle("sync-tags");
        loader.succeedingCycle("sync-lines");
        loader.pg("DELETE FROM tags WHERE name LIKE 'tag 1__ %'", "DELETE FROM lines WHERE order_no IN (7, 500) OR code = 'c2' AND order_no < 10");

        String tags = repair("sync-tags", false).message();
        String lines = repair("sync-lines", false).message();

        assertEquals(loader.pgLong("SELECT count(*) FROM tags"), finalCount("tags"), tags);
        assertEquals(loader.pgLong("SELECT count(*) FROM lines"), finalCount("lines"), lines);
        assertEquals(0, verify());
    }

    @Test
    void a_target_created_before_deletes_is_told_what_to_run() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events")
                        + LoaderFixture.templatedRoute("sync-items", "table", "items", "softDeleteColumn", "deleted"));
        events(100);
        loader.pg("CREATE TABLE items (id int PRIMARY KEY, deleted boolean, created_at timestamptz NOT NULL, updated_at timestamptz)");
        // as earlier versions of the loader created targets
        loader.ch("CREATE TABLE events (id Int64, name Nullable(String), created_at DateTime64(6, 'UTC'),"
                        + " updated_at Nullable(DateTime64(6, 'UTC')), _version DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at))"
                        + " ENGINE = ReplacingMergeTree(_version) ORDER BY (id)",
                "CREATE TABLE items (id Int32, deleted Nullable(Bool), created_at DateTime64(6, 'UTC'),"
                        + " updated_at Nullable(DateTime64(6, 'UTC')), _version DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at))"
                        + " ENGINE = ReplacingMergeTree(_version) ORDER BY (id)");
        loader.start();
        loader.succeedingCycle("sync-events");
        loader.pg("DELETE FROM events WHERE id <= 2");

        SyncStatus.Outcome outcome = repair("sync-events", false);
        assertEquals(100, finalCount("events"));
        assertTrue(outcome.message().contains("2 row(s) deleted in PostgreSQL are still in ClickHouse, whose table cannot hold deletes"),
                outcome.message());
        assertTrue(outcome.message().contains("EXCHANGE TABLES"), outcome.message());

        SyncStatus.Outcome refused = loader.cycle("sync-items");
        assertFalse(refused.succeeded());
        assertTrue(refused.message().contains("cannot hold deletes") && refused.message().contains("softDeleteColumn deleted"),
                refused.message());
    }

    @Test
    void a_scheduled_reconciliation_runs_when_reconcile_cron_fires() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events",
                "cron", "0/1 * * * * ?", "reconcileCron", "0/2 * * * * ?"));
        events(1_000);
        loader.startScheduled(Map.of("HTTP_PORT", Integer.toString(Http.freePort())));
        awaitFinalCount("events", 1_000, Duration.ofSeconds(30));
        loader.pg("DELETE FROM events WHERE id % 100 = 0");

        awaitFinalCount("events", 990, Duration.ofSeconds(30));
        PrometheusMeterRegistry metrics = loader.app().camelContext().getRegistry().findSingleByType(PrometheusMeterRegistry.class);
        String scrape = metrics.scrape();
        assertTrue(scrape.contains("pgch_reconciled_rows_total{action=\"tombstoned\",route=\"sync-events\",table=\"public.events\"} 10.0"),
                scrape.lines().filter(l -> l.startsWith("pgch_reconcil")).toList().toString());
    }

    private void awaitFinalCount(String table, long expected, Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        long last = -1;
        while (System.nanoTime() < deadline) {
            try {
                last = finalCount(table);
            } catch (SQLException e) {
                last = -1; // the first cycle has not created the table yet
            }
            if (last == expected) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(table + " holds " + last + " rows under FINAL, not " + expected + ", after " + limit.toSeconds() + " s");
    }

    @Test
    void a_value_changed_in_clickhouse_behind_the_loaders_back_is_found_by_verify_and_mended_by_repair() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-things", "table", "things"));
        loader.pg("CREATE TABLE things (id int PRIMARY KEY, n bigint, amount numeric(20,0), price numeric(12,4), label text,"
                        + " code char(5), ok boolean, day date, seen timestamptz, local timestamp, uid uuid, doc jsonb, raw bytea,"
                        + " score float8, tags int[], created_at timestamptz NOT NULL, updated_at timestamptz)",
                "INSERT INTO things SELECT g, g::bigint * 1000000007, 9223372036854775000 + g, g * 1.25, 'label ' || g || ' ü''\\',"
                        + " 'c' || (g % 10), g % 2 = 0, date '2024-02-28' + g, timestamptz '2024-03-31 01:30:00.123456+00' + g * interval '1 h',"
                        + " timestamp '2024-10-27 02:30:00' + g * interval '1 min', md5(g::text)::uuid, jsonb_build_object('k', g, 'a', array[g, 2]),"
                        + " decode(md5(g::text), 'hex'), g / 3.0, array[g, NULL], now() - interval '1 hour' + g * interval '1 ms',"
                        + " CASE WHEN g % 3 = 0 THEN now() - interval '30 minutes' + g * interval '1 ms' END"
                        + " FROM generate_series(1, 300) g",
                "UPDATE things SET label = NULL, code = NULL, ok = NULL, doc = NULL, raw = NULL WHERE id % 7 = 0");
        loader.start();
        loader.succeedingCycle("sync-things");
        Verifier.Report equal = Verifier.of(loader.app()).run();
        assertEquals(0, equal.exitCode(), String.join("\n", equal.lines()));
        assertTrue(String.join("\n", equal.lines()).contains("compared by version only: score (float8), tags (_int4)"),
                String.join("\n", equal.lines()));

        // the corruption of the adversarial round: a value near 2^63 with its sign flipped, version untouched
        loader.ch("ALTER TABLE things UPDATE amount = -amount WHERE id = 5 SETTINGS mutations_sync = 2",
                "ALTER TABLE things UPDATE label = 'tampered' WHERE id = 200 SETTINGS mutations_sync = 2");
        Verifier.Report different = Verifier.of(loader.app()).run();
        assertEquals(1, different.exitCode(), String.join("\n", different.lines()));
        assertTrue(String.join("\n", different.lines()).contains("different values in ClickHouse"), String.join("\n", different.lines()));

        SyncStatus.Outcome outcome = repair("sync-things", false);

        assertTrue(outcome.message().contains("2 copied again"), outcome.message());
        assertEquals(List.of("9223372036854775005"), loader.chRows("SELECT toString(amount) FROM things FINAL WHERE id = 5"));
        assertEquals(0, verify());
    }
}
