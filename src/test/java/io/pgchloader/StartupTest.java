package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/**
 * Thousands of tables: the start says how far it is, and each table route costs Camel no model MBean
 * per step (those took 0.7 MB of heap per table, and 1,000 tables did not start in 256 MB).
 * {@code bench/StartupBenchmark} measures the cost per table; docs/many-tables.md has its figures.
 */
class StartupTest extends LoaderTestBase {

    static final int TABLES = 200;

    private String routes() {
        StringBuilder yaml = new StringBuilder();
        for (int i = 0; i < TABLES; i++) {
            // the tables need not exist: no cycle runs before 2098
            yaml.append(LoaderFixture.templatedRoute("sync-t" + i, "table", "t" + i, "cron", HealthAndMetricsTest.TEST_DRIVEN_CRON));
        }
        return yaml.toString();
    }

    @Test
    void the_start_of_many_table_routes_ends_with_one_line_saying_how_long_it_took() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", routes());
        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), loader.environment());
        process.awaitOutput("Started " + TABLES + " table route(s) in ", Duration.ofSeconds(120));
        assertTrue(process.output().matches("(?s).*Started 200 table route\\(s\\) in [\\d.]+ s \\([\\d.]+ ms per table\\).*"),
                process.output());
    }

    @Test
    void table_routes_get_route_mbeans_but_none_per_step_or_producer() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml", routes());
        loader.start(Map.of());
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        String context = "org.apache.camel:context=pg-ch-loader,";
        assertEquals(TABLES + 1, jmx.queryNames(new ObjectName(context + "type=routes,*"), null).size(), "and copy-stream");
        assertEquals(Set.of(), jmx.queryNames(new ObjectName(context + "type=processors,*"), null));
        assertEquals(Set.of(), jmx.queryNames(new ObjectName(context + "type=producers,*"), null));
        assertEquals(TABLES, jmx.queryNames(new ObjectName("io.pgchloader:context=pg-ch-loader,type=TableSync,*"), null).size());
    }
}
