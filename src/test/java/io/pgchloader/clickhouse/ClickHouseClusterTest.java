package io.pgchloader.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.postgres.PgColumn;
import io.pgchloader.postgres.PgType;
import io.pgchloader.postgres.SourceTable;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The statements of a sharded target that the embedded engine cannot run (ON CLUSTER, replicated shard
 * tables), checked as text: production clusters run them, these tests were never run against one.
 */
class ClickHouseClusterTest {

    private static final SourceTable ORDERS = new SourceTable("public", "orders", List.of(
            new PgColumn("tenant", new PgType("int8", 0, 0), true),
            new PgColumn("order_no", new PgType("int8", 0, 0), true),
            new PgColumn("created_at", new PgType("timestamptz", 0, 0), true),
            new PgColumn("updated_at", new PgType("timestamptz", 0, 0), false)),
            List.of("tenant", "order_no"), Set.of());

    private final ClickHouseCluster cluster = new ClickHouseCluster("prod shards", null, 8123, "loader", "secret");

    private List<String> create(boolean replicated) {
        return cluster.createSql("sales", "orders", ORDERS, List.of("tenant", "order_no"), "created_at", "updated_at", "0",
                "backfill", replicated);
    }

    @Test
    void shard_tables_of_shards_with_replicas_replicate_by_the_shard_and_replica_macros() {
        String shard = create(true).get(0);

        assertTrue(shard.startsWith("CREATE TABLE IF NOT EXISTS `sales`.`orders_shard` ("), shard);
        assertTrue(shard.contains(") ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/sales/orders_shard',"
                + " '{replica}', `_version`, `_is_deleted`)\nORDER BY (`tenant`, `order_no`)"), shard);
        assertFalse(shard.contains("COMMENT"), "the loader's comment lives on the Distributed table it reads");
    }

    @Test
    void shard_tables_of_single_replica_shards_are_plain_replacing_merge_trees() {
        String shard = create(false).get(0);

        assertTrue(shard.contains(") ENGINE = ReplacingMergeTree(`_version`, `_is_deleted`)\nORDER BY (`tenant`, `order_no`)"), shard);
        assertEquals(TargetTable.createSql("sales", "orders_shard", ORDERS, List.of("tenant", "order_no"), "created_at", "updated_at",
                "0", null), shard, "a shard table is the table the loader creates without a cluster, renamed");
    }

    @Test
    void the_distributed_target_takes_the_shard_tables_columns_and_shards_by_a_hash_of_the_whole_key() {
        assertEquals("CREATE TABLE IF NOT EXISTS `sales`.`orders` AS `sales`.`orders_shard` ENGINE = Distributed('prod shards',"
                + " 'sales', 'orders_shard', cityHash64(`tenant`, `order_no`)) COMMENT 'backfill'", create(false).get(1));
        assertEquals("Distributed('prod shards', 'sales', 'orders_shard', ", cluster.distributedEngine("sales", "orders"));
    }

    @Test
    void on_cluster_follows_the_table_name_of_every_create_and_alter() {
        List<String> statements = cluster.onCluster(List.of(create(false).get(1),
                "ALTER TABLE `sales`.`orders_shard` ADD COLUMN IF NOT EXISTS `note` Nullable(String)",
                "ALTER TABLE `we\\`ird`.`a.b` MODIFY COLUMN `x` Nullable(Int32)"));

        assertTrue(statements.get(0).startsWith("CREATE TABLE IF NOT EXISTS `sales`.`orders` ON CLUSTER `prod shards` AS"
                + " `sales`.`orders_shard` ENGINE = Distributed("), statements.get(0));
        assertEquals("ALTER TABLE `sales`.`orders_shard` ON CLUSTER `prod shards` ADD COLUMN IF NOT EXISTS `note` Nullable(String)",
                statements.get(1));
        assertEquals("ALTER TABLE `we\\`ird`.`a.b` ON CLUSTER `prod shards` MODIFY COLUMN `x` Nullable(Int32)", statements.get(2));
        assertTrue(create(false).get(0).startsWith("CREATE TABLE IF NOT EXISTS `sales`.`orders_shard` ("),
                "host by host, the statements carry no ON CLUSTER");
    }

    @Test
    void a_change_of_the_columns_reaches_the_shard_tables_before_the_distributed_table() {
        assertEquals(List.of("ALTER TABLE `sales`.`orders_shard` ADD COLUMN IF NOT EXISTS `note` Nullable(String)",
                        "ALTER TABLE `sales`.`orders` ADD COLUMN IF NOT EXISTS `note` Nullable(String)"),
                ClickHouseCluster.everyTable("ALTER TABLE `sales`.`orders` ADD COLUMN IF NOT EXISTS `note` Nullable(String)",
                        "sales", "orders"));
    }

    @Test
    void a_cluster_whose_shards_have_a_second_replica_is_replicated() {
        assertFalse(ClickHouseCluster.replicated(List.of(new ClickHouseCluster.Host(1, 1, "a"), new ClickHouseCluster.Host(2, 1, "b"))));
        assertTrue(ClickHouseCluster.replicated(List.of(new ClickHouseCluster.Host(1, 1, "a"), new ClickHouseCluster.Host(1, 2, "b"))));
    }
}
