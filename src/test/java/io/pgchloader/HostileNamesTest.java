package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
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
}
