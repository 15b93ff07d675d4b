package io.pgchloader.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import io.pgchloader.support.TestDatabases;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reading a target's sorting key, the Nullable form a column PostgreSQL dropped takes, and when the
 * watermark query may skip granules by version.
 */
class TargetTableTest {

    @Test
    void skips_by_version_only_where_the_version_is_the_loaders_own_and_indexed() throws Exception {
        String database = TestDatabases.freshDatabase("tt");
        String columns = "id Int64, `created at` DateTime64(6), updated_at Nullable(DateTime64(6)), _is_deleted UInt8 DEFAULT 0";
        String engine = " ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY id";
        try (Connection c = TestDatabases.clickHouse(database); Statement s = c.createStatement();
             HikariDataSource clickHouse = new HikariDataSource()) {
            clickHouse.setJdbcUrl(c.getMetaData().getURL());
            clickHouse.setUsername("default");
            clickHouse.setPassword(TestDatabases.servers().clickHousePassword());
            s.execute("CREATE TABLE own (" + columns + ", _version DateTime64(6, 'UTC') DEFAULT coalesce(updated_at, `created at`),"
                    + " " + TargetTable.versionIndexSql() + ", " + TargetTable.createdIndexSql("created at") + ")" + engine);
            s.execute("CREATE TABLE unindexed (" + columns + ", _version DateTime64(6, 'UTC') DEFAULT coalesce(updated_at,"
                    + " `created at`))" + engine);
            s.execute("CREATE TABLE other_version (" + columns + ", _version DateTime64(6, 'UTC') DEFAULT now64(6),"
                    + " " + TargetTable.versionIndexSql() + ")" + engine);
            s.execute("CREATE TABLE swapped (" + columns + ", _version DateTime64(6, 'UTC') DEFAULT coalesce(`created at`, updated_at),"
                    + " " + TargetTable.versionIndexSql() + ")" + engine);

            assertTrue(TargetTable.inspect(clickHouse, database, "own").prunesByVersion("created at", "updated_at"));
            assertFalse(TargetTable.inspect(clickHouse, database, "own").prunesByVersion("created_at", "updated_at"),
                    "another created column than the version follows");
            assertFalse(TargetTable.inspect(clickHouse, database, "unindexed").prunesByVersion("created at", "updated_at"));
            assertFalse(TargetTable.inspect(clickHouse, database, "other_version").prunesByVersion("created at", "updated_at"));
            assertFalse(TargetTable.inspect(clickHouse, database, "swapped").prunesByVersion("created at", "updated_at"));

            // a target made before the indexes gets them (a change of metadata), one with another version does not
            assertEquals(List.of(), TargetTable.inspect(clickHouse, database, "own").addWatermarkIndexes("created at", "updated_at"));
            assertEquals(List.of(), TargetTable.inspect(clickHouse, database, "other_version").addWatermarkIndexes("created at", "updated_at"));
            List<String> add = TargetTable.inspect(clickHouse, database, "unindexed").addWatermarkIndexes("created at", "updated_at");
            assertEquals(List.of("ALTER TABLE `" + database + "`.`unindexed` ADD INDEX pgch_version `_version` TYPE minmax GRANULARITY 1",
                    "ALTER TABLE `" + database + "`.`unindexed` ADD INDEX pgch_created `created at` TYPE minmax GRANULARITY 1"), add);
            for (String statement : add) {
                s.execute(statement);
            }
            assertTrue(TargetTable.inspect(clickHouse, database, "unindexed").prunesByVersion("created at", "updated_at"));
            assertEquals(List.of(), TargetTable.inspect(clickHouse, database, "unindexed").addWatermarkIndexes("created at", "updated_at"));
        }
    }

    @Test
    void reads_a_sorting_key_of_plain_and_quoted_column_names() {
        assertEquals(List.of("id"), TargetTable.sortingKeyColumns("id"));
        assertEquals(List.of("tenant", "seq"), TargetTable.sortingKeyColumns("tenant, seq"));
        assertEquals(List.of("Tenant Id", "select", "a`b"), TargetTable.sortingKeyColumns("`Tenant Id`, `select`, `a\\`b`"));
        assertEquals(List.of(), TargetTable.sortingKeyColumns(""));
        assertEquals("id", TargetTable.unwrapped("(id)"));
        assertEquals("a, `b)`", TargetTable.unwrapped("(a, `b)`)"));
        assertEquals("(a) + (b)", TargetTable.unwrapped("(a) + (b)"));
    }

    @Test
    void a_sorting_key_with_an_expression_is_no_column_list() {
        assertNull(TargetTable.sortingKeyColumns("toDate(created_at), id"));
        assertNull(TargetTable.sortingKeyColumns("id, -seq"));
        assertNull(TargetTable.sortingKeyColumns("tuple()"));
    }

    @Test
    void a_dropped_column_becomes_nullable_where_clickhouse_allows_it() {
        assertEquals("Nullable(Int32)", TargetTable.nullable("Int32"));
        assertEquals("LowCardinality(Nullable(String))", TargetTable.nullable("LowCardinality(String)"));
        assertNull(TargetTable.nullable("Nullable(String)"));
        assertNull(TargetTable.nullable("Array(Nullable(Int32))"));
    }
}
