package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.support.TwoShards;
import io.pgchloader.verify.Verifier;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A table synced into a ClickHouse cluster of two shards (CLICKHOUSE_CLUSTER): a Distributed target over
 * shard tables, with FINAL through the Distributed table equal to PostgreSQL.
 */
class ShardedClickHouseTest extends LoaderTestBase {

    private static final String ROUTE = "sync-items";
    private static final String PG_ROWS = "SELECT id || ' | ' || name || ' | ' || amount::text || ' | '"
            + " || (extract(epoch FROM created_at) * 1000000)::bigint || ' | '"
            + " || coalesce((extract(epoch FROM updated_at) * 1000000)::bigint, -1) FROM items ORDER BY id";
    private static final String CH_ROWS = "SELECT concat(toString(id), ' | ', name, ' | ', toDecimalString(amount, 2), ' | ',"
            + " toString(toUnixTimestamp64Micro(created_at)), ' | ', toString(coalesce(toUnixTimestamp64Micro(updated_at), -1)))"
            + " FROM items FINAL ORDER BY id";

    private Map<String, String> clusterSettings() {
        Map<String, String> settings = new HashMap<>();
        settings.put("CLICKHOUSE_HOST", TwoShards.HOSTS.get(0));
        settings.put("CLICKHOUSE_PORT", Integer.toString(TwoShards.httpPort()));
        settings.put("CLICKHOUSE_PASSWORD", "");
        settings.put("CLICKHOUSE_CLUSTER", TwoShards.CLUSTER);
        return settings;
    }

    /** PostgreSQL's items table of {@code rows} rows, the database on both shards, and a loader on the cluster. */
    private void items(int rows) throws Exception {
        items(rows, Map.of());
    }

    /** The same, with these settings besides the cluster's and these template parameters besides the table. */
    private void items(int rows, Map<String, String> settings, String... parameters) throws Exception {
        List<String> all = new ArrayList<>(List.of("table", "items"));
        all.addAll(List.of(parameters));
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute(ROUTE, all.toArray(String[]::new)));
        TwoShards.createDatabase(loader.database);
        loader.pg("CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2) NOT NULL,"
                        + " created_at timestamptz NOT NULL, updated_at timestamptz)",
                "INSERT INTO items SELECT g, 'item ' || g, g * 1.25, now() - interval '1 hour' + g * interval '1 ms', NULL"
                        + " FROM generate_series(1, " + rows + ") g");
        Map<String, String> cluster = clusterSettings();
        cluster.putAll(settings);
        loader.start(cluster);
    }

    private List<String> ch(String host, String sql) throws SQLException {
        try (Connection c = TwoShards.connect(host, loader.database); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        }
    }

    private void chExecute(String host, String sql) throws SQLException {
        try (Connection c = TwoShards.connect(host, loader.database); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private long shardRows(String host) throws SQLException {
        return Long.parseLong(ch(host, "SELECT count() FROM items_shard").get(0));
    }

    private void assertEqualToPostgres() throws SQLException {
        List<String> pg = loader.pgRows(PG_ROWS);
        assertEquals(pg, ch(TwoShards.HOSTS.get(0), CH_ROWS), "FINAL through the Distributed table, row by row");
        assertEquals(List.of("0"), ch(TwoShards.HOSTS.get(0),
                "SELECT count() FROM (SELECT id FROM items GROUP BY id HAVING uniqExact(_shard_num) > 1)"),
                "every version of a key is on one shard");
    }

    @Test
    void a_table_backfills_and_syncs_updates_into_two_shards_with_FINAL_equal_to_postgres_row_by_row() throws Exception {
        items(2_000);

        SyncStatus.Outcome backfill = loader.succeedingCycle(ROUTE);

        assertEquals(2_000, backfill.rowsCreated(), backfill.message());
        // read at once, each shard's own table: rows queued for a remote shard would not be there yet
        long first = shardRows(TwoShards.HOSTS.get(0));
        long second = shardRows(TwoShards.HOSTS.get(1));
        assertEquals(2_000, first + second, "every row is on its shard when the cycle ends");
        assertTrue(first > 500 && second > 500, "the key's hash spreads the rows over both shards: " + first + " and " + second);
        assertEquals(List.of("Distributed", "Distributed"), List.of(
                ch(TwoShards.HOSTS.get(0), "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'items'").get(0),
                ch(TwoShards.HOSTS.get(1), "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'items'").get(0)));
        assertEqualToPostgres();

        loader.pg("UPDATE items SET amount = amount + 1000, name = 'changed', updated_at = now() WHERE id % 40 = 0",
                "INSERT INTO items SELECT g, 'new ' || g, g, now(), NULL FROM generate_series(2001, 2100) g");
        SyncStatus.Outcome increment = loader.succeedingCycle(ROUTE);

        assertEquals(100, increment.rowsCreated(), increment.message());
        assertEquals(50, increment.rowsUpdated(), increment.message());
        assertEqualToPostgres();
        assertEquals(0, loader.succeedingCycle(ROUTE).rowsCreated(), "the watermarks across both shards say nothing is new");
    }

    @Test
    void drift_adds_the_new_column_to_the_shard_table_on_both_shards_and_to_the_distributed_tables() throws Exception {
        items(300);
        loader.succeedingCycle(ROUTE);

        loader.pg("ALTER TABLE items ADD COLUMN colour text", "UPDATE items SET colour = 'red', updated_at = now() WHERE id <= 10");
        loader.succeedingCycle(ROUTE);

        for (String host : TwoShards.HOSTS) {
            assertEquals(List.of("items | Nullable(String)", "items_shard | Nullable(String)"), ch(host,
                    "SELECT concat(table, ' | ', type) FROM system.columns WHERE database = currentDatabase() AND name = 'colour'"
                            + " ORDER BY table"), host);
        }
        assertEquals(List.of("10"), ch(TwoShards.HOSTS.get(1), "SELECT count() FROM items FINAL WHERE colour = 'red'"));
    }

    @Test
    void verify_finds_a_row_lost_on_the_second_shard_and_repair_copies_it_again() throws Exception {
        items(500);
        loader.succeedingCycle(ROUTE);
        assertEquals(Verifier.EQUAL, Verifier.of(loader.app()).run().exitCode());

        String lost = ch(TwoShards.HOSTS.get(1), "SELECT toString(min(id)) FROM items_shard").get(0);
        chExecute(TwoShards.HOSTS.get(1), "DELETE FROM items_shard WHERE id = " + lost);
        loader.pg("DELETE FROM items WHERE id = 1");
        Verifier.Report differs = Verifier.of(loader.app()).run();
        assertEquals(Verifier.DIFFERENT, differs.exitCode(), String.join("\n", differs.lines()));

        SyncStatus.Outcome repair = loader.app().cycles().repair(ROUTE, false);

        assertTrue(repair.succeeded(), repair.message());
        Verifier.Report after = Verifier.of(loader.app()).run();
        assertEquals(Verifier.EQUAL, after.exitCode(), String.join("\n", after.lines()));
        assertEqualToPostgres();
    }

    @Test
    void rows_an_insert_left_on_one_shard_only_when_the_other_refused_them_do_not_move_the_watermark_past_the_missing_ones()
            throws Exception {
        // no retries: the cycle fails at the first refusal
        items(300, Map.of("RETRY_MAX_ATTEMPTS", "0"));
        loader.succeedingCycle(ROUTE);
        // the second shard refuses the new rows: the first one takes its part of the same INSERT
        chExecute(TwoShards.HOSTS.get(1), "ALTER TABLE items_shard ADD CONSTRAINT old_rows_only CHECK id <= 300");
        loader.pg("INSERT INTO items SELECT g, 'new ' || g, g, now() - interval '10 minutes' + g * interval '1 ms', NULL FROM generate_series(301, 700) g");

        SyncStatus.Outcome failed = loader.cycle(ROUTE);

        assertFalse(failed.succeeded(), failed.message());
        assertTrue(shardRows(TwoShards.HOSTS.get(0)) + shardRows(TwoShards.HOSTS.get(1)) > 300,
                "the first shard holds some of the new rows, the second none");
        chExecute(TwoShards.HOSTS.get(1), "ALTER TABLE items_shard DROP CONSTRAINT old_rows_only");
        loader.succeedingCycle(ROUTE);
        assertEqualToPostgres();
        assertEquals(List.of(""), ch(TwoShards.HOSTS.get(0),
                "SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = 'items'"),
                "the watermark is no longer held once the window is in");
    }

    @Test
    void a_backfill_cut_short_while_one_shard_refused_its_rows_resumes_below_the_smallest_shards_largest_key() throws Exception {
        // no retries: the cycle fails at the first refusal
        items(0, Map.of("RETRY_MAX_ATTEMPTS", "0"), "backfillChunkRows", "200", "batchSize", "50", "insertRows", "50");
        loader.succeedingCycle(ROUTE);
        // the second shard takes keys up to 500 and refuses the others; the first shard takes all of its own
        chExecute(TwoShards.HOSTS.get(1), "ALTER TABLE items_shard ADD CONSTRAINT first_keys_only CHECK id <= 500");
        loader.pg("INSERT INTO items SELECT g, 'item ' || g, g * 1.25, now() - interval '1 hour' + g * interval '1 ms', NULL"
                + " FROM generate_series(1, 1000) g");

        SyncStatus.Outcome failed = loader.cycle(ROUTE);

        assertFalse(failed.succeeded(), failed.message());
        assertTrue(ch(TwoShards.HOSTS.get(0), "SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = 'items'")
                .get(0).startsWith("pg-ch-loader: backfill in progress"), "the backfill is unfinished");
        long first = Long.parseLong(ch(TwoShards.HOSTS.get(0), "SELECT max(id) FROM items_shard").get(0));
        assertTrue(first > 500, "the first shard holds keys past the refused ones: " + first);
        chExecute(TwoShards.HOSTS.get(1), "ALTER TABLE items_shard DROP CONSTRAINT first_keys_only");
        loader.succeedingCycle(ROUTE);
        assertEqualToPostgres();
    }

    @Test
    void a_range_cut_short_on_one_shard_fails_the_cycle_after_the_other_range_ends_and_resumes_below_its_smallest_shards_largest_key() throws Exception {
        items(0, Map.of("RETRY_MAX_ATTEMPTS", "0"), "backfillParallelism", "2", "backfillChunkRows", "100", "batchSize", "25",
                "insertRows", "25");
        loader.succeedingCycle(ROUTE);
        loader.pg("INSERT INTO items SELECT g, 'item ' || g, g * 1.25, now() - interval '1 hour' + g * interval '1 ms', NULL"
                + " FROM generate_series(1, 1000) g");
        // the second shard refuses the upper part of the second range (cut at 500, half way from 1 to 1000)
        chExecute(TwoShards.HOSTS.get(1), "ALTER TABLE items_shard ADD CONSTRAINT lower_parts_only CHECK id <= 750");

        SyncStatus.Outcome failed = loader.cycle(ROUTE);

        assertFalse(failed.succeeded(), failed.message());
        assertTrue(failed.message().contains("lower_parts_only"), "the shard's refusal is what the cycle reports: " + failed.message());
        assertEquals(List.of("499"), ch(TwoShards.HOSTS.get(0), "SELECT count() FROM items WHERE id < 500"),
                "the first range went on to its end while the second failed");
        String comment = ch(TwoShards.HOSTS.get(0), "SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = 'items'")
                .get(0);
        assertTrue(comment.startsWith("pg-ch-loader: backfill in progress") && comment.endsWith("key ranges cut at 500"), comment);
        chExecute(TwoShards.HOSTS.get(1), "ALTER TABLE items_shard DROP CONSTRAINT lower_parts_only");
        SyncStatus.Outcome resumed = loader.succeedingCycle(ROUTE);

        assertTrue(resumed.message().contains("in 2 key ranges"), resumed.message());
        assertEqualToPostgres();
    }

    @Test
    void the_same_batch_sent_again_lands_on_the_same_shard_and_FINAL_keeps_one_row_per_key() throws Exception {
        items(400);
        loader.succeedingCycle(ROUTE);

        // what a retried INSERT whose first attempt had reached ClickHouse leaves behind: every row twice
        chExecute(TwoShards.HOSTS.get(0), "INSERT INTO items SETTINGS distributed_foreground_insert = 1 SELECT * FROM items");

        assertEquals(800, shardRows(TwoShards.HOSTS.get(0)) + shardRows(TwoShards.HOSTS.get(1)), "the copies are there");
        assertEqualToPostgres();
        assertEquals(0, loader.succeedingCycle(ROUTE).rowsCreated());
    }

    @Test
    void a_plain_table_where_a_distributed_one_is_expected_stops_the_loader_with_exit_code_2_and_what_to_run() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute(ROUTE, "table", "items"));
        TwoShards.createDatabase(loader.database);
        loader.pg("CREATE TABLE items (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, updated_at timestamptz)",
                "INSERT INTO items VALUES (1, now(), NULL)");
        chExecute(TwoShards.HOSTS.get(0), "CREATE TABLE items (id Int64, created_at DateTime64(6, 'UTC'),"
                + " updated_at Nullable(DateTime64(6, 'UTC'))) ENGINE = ReplacingMergeTree ORDER BY id");
        Map<String, String> env = loader.environment();
        env.putAll(clusterSettings());

        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), env, "--once");

        assertEquals(2, process.awaitExit(Duration.ofSeconds(60)), process.output());
        assertTrue(process.output().contains("is a ReplacingMergeTree table, but with CLICKHOUSE_CLUSTER two_shards the target"
                + " must be a Distributed table over `" + loader.database + "`.`items_shard` on every shard: run RENAME TABLE"), process.output());
        assertEquals(List.of("0"), ch(TwoShards.HOSTS.get(1), "SELECT count() FROM system.tables WHERE database = currentDatabase()"),
                "nothing was created on the other shard");
    }

    @Test
    void a_distributed_target_that_shards_by_anything_but_the_key_hash_is_refused_and_nothing_is_written() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute(ROUTE, "table", "items"));
        TwoShards.createDatabase(loader.database);
        loader.pg("CREATE TABLE items (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, updated_at timestamptz)",
                "INSERT INTO items VALUES (1, now(), NULL)");
        for (String host : TwoShards.HOSTS) {
            chExecute(host, "CREATE TABLE items_shard (id Int64, created_at DateTime64(6, 'UTC'), updated_at Nullable(DateTime64(6, 'UTC')),"
                    + " _version DateTime64(6, 'UTC') DEFAULT coalesce(updated_at, created_at), _is_deleted UInt8 DEFAULT 0)"
                    + " ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY id");
            chExecute(host, "CREATE TABLE items AS items_shard ENGINE = Distributed('two_shards', currentDatabase(), 'items_shard', rand())");
        }
        loader.start(clusterSettings());

        SyncStatus.Outcome refused = loader.cycle(ROUTE);

        assertFalse(refused.succeeded());
        assertTrue(refused.message().contains("but the loader shards by cityHash64(id) so that every version of a key is on one shard"),
                refused.message());
        assertEquals(List.of("0"), ch(TwoShards.HOSTS.get(0), "SELECT count() FROM items"));
    }

    @Test
    void without_CLICKHOUSE_CLUSTER_a_distributed_target_is_refused_naming_the_setting() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute(ROUTE, "table", "items"));
        TwoShards.createDatabase(loader.database);
        loader.pg("CREATE TABLE items (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, updated_at timestamptz)",
                "INSERT INTO items VALUES (1, now(), NULL)");
        for (String host : TwoShards.HOSTS) {
            chExecute(host, "CREATE TABLE items_shard (id Int64, created_at DateTime64(6, 'UTC'), updated_at Nullable(DateTime64(6, 'UTC')),"
                    + " _version DateTime64(6, 'UTC') DEFAULT coalesce(updated_at, created_at), _is_deleted UInt8 DEFAULT 0)"
                    + " ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY id");
            chExecute(host, "CREATE TABLE items AS items_shard ENGINE = Distributed('two_shards', currentDatabase(), 'items_shard', cityHash64(id))");
        }
        Map<String, String> settings = clusterSettings();
        settings.remove("CLICKHOUSE_CLUSTER");
        loader.start(settings);

        SyncStatus.Outcome refused = loader.cycle(ROUTE);

        assertFalse(refused.succeeded());
        assertTrue(refused.message().contains("is a Distributed table, but CLICKHOUSE_CLUSTER is empty, so the loader expects a"
                + " ReplacingMergeTree: set CLICKHOUSE_CLUSTER"), refused.message());
        assertEquals(List.of("0"), ch(TwoShards.HOSTS.get(0), "SELECT count() FROM items"));
    }

    @Test
    void a_cluster_clickhouse_does_not_know_stops_the_loader_with_exit_code_2_naming_the_clusters_it_has() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute(ROUTE, "table", "items"));
        TwoShards.createDatabase(loader.database);
        loader.pg("CREATE TABLE items (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, updated_at timestamptz)");
        Map<String, String> env = loader.environment();
        env.putAll(clusterSettings());
        env.put("CLICKHOUSE_CLUSTER", "three_shards");

        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), env, "--once");

        assertEquals(2, process.awaitExit(Duration.ofSeconds(60)), process.output());
        assertTrue(process.output().contains("CLICKHOUSE_CLUSTER is three_shards, but ClickHouse's system.clusters has no such"
                + " cluster (it has: " + TwoShards.CLUSTER), process.output());
        for (String host : TwoShards.HOSTS) {
            assertEquals(List.of("0"), ch(host, "SELECT count() FROM system.tables WHERE database = currentDatabase()"), host);
        }
    }

    @Test
    void plan_lists_the_shard_table_and_the_distributed_table_it_would_create_and_writes_nothing() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", LoaderFixture.templatedRoute(ROUTE, "table", "items"));
        TwoShards.createDatabase(loader.database);
        loader.pg("CREATE TABLE items (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, updated_at timestamptz)");
        Map<String, String> env = loader.environment();
        env.putAll(clusterSettings());

        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), env, "--plan");

        assertEquals(0, process.awaitExit(Duration.ofSeconds(60)), process.output());
        assertTrue(process.output().contains("next cycle: create the target on every host of cluster two_shards: CREATE TABLE IF NOT"
                + " EXISTS `" + loader.database + "`.`items_shard`"), process.output());
        assertTrue(process.output().contains("ENGINE = Distributed('two_shards', '" + loader.database
                + "', 'items_shard', cityHash64(`id`))"), process.output());
        for (String host : TwoShards.HOSTS) {
            assertEquals(List.of("0"), ch(host, "SELECT count() FROM system.tables WHERE database = currentDatabase()"), host);
        }
    }
}
