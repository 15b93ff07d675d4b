package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.config.ConfigurationException;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.apache.camel.component.quartz.QuartzComponent;
import org.junit.jupiter.api.Test;
import org.quartz.CronTrigger;
import org.quartz.Scheduler;
import org.quartz.TriggerKey;
import org.quartz.impl.matchers.GroupMatcher;

/**
 * Names are data, whoever chose them: a table, target or column name may hold what URIs, ClickHouse
 * or log lines read as syntax, and must reach each of them as a plain name or be refused at start.
 */
class HostileNamesTest extends LoaderTestBase {

    static final String NEVER = HealthAndMetricsTest.TEST_DRIVEN_CRON;

    @Test
    void a_table_named_like_a_uri_query_syncs_and_cannot_inject_quartz_options() throws Exception {
        String uriLike = "q?a=b&c";
        String injecting = "evil?cron=0/1 * * * * ?&stateful=false";
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-q", "table", uriLike, "targetTable", "q_abc", "cron", NEVER)
                        + LoaderFixture.templatedRoute("sync-evil", "table", injecting, "targetTable", "evil", "cron", NEVER)
                        + LoaderFixture.templatedRoute("sync ~odd/id", "table", "plain", "cron", NEVER));
        for (String table : new String[] {uriLike, injecting, "plain"}) {
            String quoted = "\"" + table + "\"";
            loader.pg("CREATE TABLE " + quoted + " (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                    "INSERT INTO " + quoted + " SELECT g, timestamp '2025-01-01' FROM generate_series(1, 3) g");
        }
        loader.start(Map.of());

        Scheduler scheduler = loader.app().camelContext().getComponent("quartz", QuartzComponent.class).getScheduler();
        Set<TriggerKey> triggers = scheduler.getTriggerKeys(GroupMatcher.triggerGroupEquals("pg-to-clickhouse"));
        assertEquals(Set.of(new TriggerKey("sync-q", "pg-to-clickhouse"), new TriggerKey("sync-evil", "pg-to-clickhouse"),
                new TriggerKey("sync~20~7Eodd~2Fid", "pg-to-clickhouse")), triggers, "named after the route ids, escaped");
        for (TriggerKey key : triggers) {
            assertEquals(NEVER, ((CronTrigger) scheduler.getTrigger(key)).getCronExpression(),
                    key + " keeps the route's cron: the table name set no option");
        }
        loader.succeedingCycle("sync-q");
        loader.succeedingCycle("sync-evil");
        loader.succeedingCycle("sync ~odd/id");
        assertEquals(3, loader.chLong("SELECT count() FROM q_abc FINAL"));
        assertEquals(3, loader.chLong("SELECT count() FROM evil FINAL"));
    }

    @Test
    void refuses_at_start_a_target_name_that_the_local_engines_default_database_reads_as_a_file_glob() throws Exception {
        String glob = "pb_{x:String}_" + ProcessHandle.current().pid();
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-glob", "table", "events", "targetTable", glob, "cron", NEVER)
                        + LoaderFixture.templatedRoute("sync-plain", "table", "events", "targetTable", "plain_events", "cron", NEVER));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO events SELECT g, timestamp '2025-01-01' FROM generate_series(1, 3) g");

        // the embedded engine's "default" database is an Overlay with a Filesystem database in it
        ConfigurationException refused = assertThrows(ConfigurationException.class,
                () -> loader.start(Map.of("CLICKHOUSE_DB", "default")));
        assertTrue(refused.getMessage().startsWith("route sync-glob: the ClickHouse table name '" + glob
                + "' (parameter targetTable) holds * ? { or }, which ClickHouse's local engine reads as a file glob"
                + " in CLICKHOUSE_DB default"), refused.getMessage());
        assertTrue(refused.getMessage().contains("Set targetTable to a name without these characters, or set CLICKHOUSE_DB to"
                + " a database created for the loader"), refused.getMessage());
        assertFalse(refused.getMessage().contains("sync-plain"), refused.getMessage());
        loader.close();

        // in a database of its own the same engine takes the name as a name, as a ClickHouse server does
        loader = new LoaderFixture(tmp.resolve("own")).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-glob", "table", "events", "targetTable", "pb_{x:String}", "cron", NEVER));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO events SELECT g, timestamp '2025-01-01' FROM generate_series(1, 3) g");
        loader.start(Map.of());
        loader.succeedingCycle("sync-glob");
        assertEquals(3, loader.chLong("SELECT count() FROM `pb_{x:String}` FINAL"));
    }

    @Test
    void line_breaks_in_table_and_column_names_never_start_a_log_line_of_their_own() throws Exception {
        String forged = "2030-01-01 00:00:00 | ERROR | loader | forged";
        String table = "t\n" + forged;
        String column = "c\r\n" + forged;
        // a terminal escape (clear screen) and a vertical tab; the child's output is ASCII, so only ASCII is tried
        String missing = "gone\u001b[2J\u000b" + forged;
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-t", "table", table, "targetTable", "t_events")
                        + LoaderFixture.templatedRoute("sync-gone", "table", missing));
        String quoted = "\"" + table.replace("\"", "\"\"") + "\"";
        loader.pg("CREATE TABLE " + quoted + " (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO " + quoted + " VALUES (1, timestamp '2025-01-01')");
        Path work = Files.createDirectories(tmp.resolve("work"));
        // the start-up check refuses the run over the missing table, naming it escaped
        LoaderProcess refused = LoaderProcess.start(work, loader.environment(), "--once");
        assertEquals(2, refused.awaitExit(Duration.ofSeconds(90)), "sync-gone cannot be synced:\n" + refused.output());
        assertOnlyLoaderLines(refused, forged);
        assertTrue(refused.output().contains("public.gone\\u001b[2J\\u000b" + forged), "the failing table is named, escaped:\n"
                + refused.output());
        // without it, the other table syncs; a column added later is logged with the ALTER TABLE that adds it
        loader.withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-t", "table", table, "targetTable", "t_events")
                + LoaderFixture.templatedRoute("sync-gone", "table", missing, "enabled", "false"));
        assertEquals(0, LoaderProcess.start(work, loader.environment(), "--once").awaitExit(Duration.ofSeconds(90)));
        loader.pg("ALTER TABLE " + quoted + " ADD COLUMN \"" + column + "\" int");
        process = LoaderProcess.start(work, loader.environment(), "--once");
        assertEquals(0, process.awaitExit(Duration.ofSeconds(90)), process.output());

        String output = process.output();
        assertOnlyLoaderLines(process, forged);
        assertTrue(output.contains("public.t\\n" + forged + ": the columns changed in PostgreSQL: ALTER TABLE")
                && output.contains("`c\\r\\n" + forged + "`"), output);
        assertEquals(1, loader.chLong("SELECT count() FROM t_events FINAL"));
    }

    private static void assertOnlyLoaderLines(LoaderProcess run, String forged) {
        for (String line : run.lines()) {
            assertTrue(LoaderProcess.LOG_LINE.matcher(line).matches() || line.startsWith("\t") || line.startsWith("Caused by"),
                    "a line the loader did not write:\n" + line + "\nin:\n" + run.output());
            assertFalse(line.startsWith(forged), run.output());
        }
    }
}
