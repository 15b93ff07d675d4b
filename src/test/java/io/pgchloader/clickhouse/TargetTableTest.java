package io.pgchloader.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading a target's sorting key, and the Nullable form a column PostgreSQL dropped takes. */
class TargetTableTest {

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
