package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgchloader.demo.Demo;
import org.junit.jupiter.api.Test;

/** The README's first command: the demo runs end to end and its PostgreSQL/ClickHouse comparison passes. */
class DemoTest {

    @Test
    void the_demo_ends_with_every_table_equal_in_postgres_and_clickhouse() throws Exception {
        assertEquals(Main.EXIT_OK, Demo.run());
    }
}
