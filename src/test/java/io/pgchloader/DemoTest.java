package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.demo.Demo;
import io.pgchloader.demo.TableComparison;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's first command: the demo runs end to end and its PostgreSQL/ClickHouse comparison passes. */
class DemoTest {

    @Test
    void the_demo_ends_with_every_table_equal_in_postgres_and_clickhouse_the_cdc_table_included() throws Exception {
        Demo.Outcome outcome = Demo.play();
        List<String> tables = outcome.tables().stream().map(TableComparison::table).toList();
        assertEquals(List.of("branches", "cashiers", "app_users", "stores", "app_user_visits_fact", "store_stock (CDC)"), tables);
        outcome.tables().forEach(t -> assertTrue(t.matches(), t.toString()));
        assertTrue(outcome.cyclesSucceeded());
        // the CDC table's writes reached ClickHouse through the slot, every kind of them, not only through its snapshot
        assertTrue(outcome.cdcInserts() > 0 && outcome.cdcUpdates() > 0 && outcome.cdcDeletes() > 0, outcome.toString());
        assertEquals(Main.EXIT_OK, outcome.exitCode());
    }
}
