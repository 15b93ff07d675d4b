package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgchloader.config.Settings;
import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.cycle.TableSync;
import io.pgchloader.jmx.TableSyncMBeans;
import io.pgchloader.support.ListeningPorts;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import javax.management.Attribute;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import org.junit.jupiter.api.Test;

/**
 * JMX: every table route can be listed and steered through Camel's route MBeans, and its sync state is
 * readable from a {@code TableSync} MBean beside it. Remote JMX opens a port only when {@code JMX_PORT}
 * is set, and only with a user and password.
 */
class JmxTest extends LoaderTestBase {

    static final String USER = "operator";
    static final String PASSWORD = "jmx-pa55word-for-tests";
    static final String PG_PASSWORD = "pg-pa55word-for-tests";
    static final Duration WAIT = Duration.ofSeconds(30);
    /** Every second, so the scheduled loader cycles while the test watches. */
    static final String EVERY_SECOND = "* * * * * ?";

    private Path workDir() throws IOException {
        return Files.createDirectories(tmp.resolve("work"));
    }

    private void eventsTable(int rows) throws Exception {
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, note text, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO events SELECT g, 'event ' || g, timestamp '2025-01-01' + g * interval '1 second'"
                        + " FROM generate_series(1, " + rows + ") g");
    }

    @Test
    void a_table_route_is_listed_stopped_started_suspended_and_resumed_over_remote_jmx_with_a_password() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", EVERY_SECOND));
        eventsTable(100);
        int port = ListeningPorts.free();
        Map<String, String> env = loader.environment();
        env.put("JMX_PORT", Integer.toString(port));
        env.put("JMX_USER", USER);
        env.put("JMX_PASSWORD", PASSWORD);
        env.put("JMX_HOST", "127.0.0.1");
        env.put("HTTP_PORT", "0");
        // the embedded PostgreSQL trusts local logins, so any password works: one to look for below
        env.put("POSTGRES_PASSWORD", PG_PASSWORD);

        process = LoaderProcess.start(workDir(), env);
        process.awaitOutput("Remote JMX on port " + port, WAIT);

        assertTrue(ListeningPorts.of(process.pid()).contains(port), "the port listens (and the scan sees it)");
        SecurityException wrong = assertThrows(SecurityException.class, () -> connect(port, USER, "not-the-password").close());
        assertTrue(wrong.getMessage().contains("Authentication failed"), wrong.getMessage());
        assertThrows(SecurityException.class, () -> connect(port, "someone", PASSWORD).close(), "a wrong user is refused");
        assertThrows(SecurityException.class, () -> connect(port, null, null).close(), "no credentials, no entry");

        try (JMXConnector connector = connect(port, USER, PASSWORD)) {
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            ObjectName route = new ObjectName("org.apache.camel:context=pg-ch-loader,type=routes,name=\"sync-events\"");
            ObjectName state = new ObjectName("io.pgchloader:context=pg-ch-loader,type=TableSync,route=\"sync-events\"");
            // the connector opens before Camel has started: wait for the routes
            await(() -> jmx.isRegistered(route), "route MBean", jmx, state);
            assertTrue(jmx.queryNames(new ObjectName("org.apache.camel:context=pg-ch-loader,type=routes,*"), null).contains(route));
            assertEquals(Set.of(state), jmx.queryNames(new ObjectName("io.pgchloader:type=TableSync,*"), null));

            // the schedule ships the table; its state is readable remotely
            await(() -> (Long) jmx.getAttribute(state, "RowsCreatedTotal") == 100, "100 rows created", jmx, state);
            assertEquals("2025-01-01 00:01:40.000000", jmx.getAttribute(state, "CreatedWatermark"));
            assertEquals(Boolean.TRUE, jmx.getAttribute(state, "LastCycleSucceeded"));
            assertEquals("public.events", jmx.getAttribute(state, "Table"));

            // stopped over JMX: no cycle runs, new rows wait
            jmx.invoke(route, "stop", null, null);
            assertEquals("Stopped", jmx.getAttribute(route, "State"));
            long cycles = (Long) jmx.getAttribute(state, "Cycles");
            loader.pg("INSERT INTO events SELECT g, 'late', localtimestamp FROM generate_series(101, 110) g",
                    "UPDATE events SET note = 'changed', updated_at = localtimestamp WHERE id <= 3");
            Thread.sleep(2_500);
            assertEquals(cycles, jmx.getAttribute(state, "Cycles"), "a stopped route runs no cycle");
            assertEquals(100, loader.chLong("SELECT count() FROM events FINAL"));

            // started again: the schedule resumes and ships what waited
            jmx.invoke(route, "start", null, null);
            assertEquals("Started", jmx.getAttribute(route, "State"));
            await(() -> (Long) jmx.getAttribute(state, "RowsCreatedTotal") == 110
                    && (Long) jmx.getAttribute(state, "RowsUpdatedTotal") == 3, "the waiting rows shipped", jmx, state);
            assertEquals(110, loader.chLong("SELECT count() FROM events FINAL"));
            assertEquals(List.of("changed"), loader.chRows("SELECT DISTINCT note FROM events FINAL WHERE id <= 3"));
            assertEquals(0L, jmx.getAttribute(state, "FailedCycles"));
            long lag = (Long) jmx.getAttribute(state, "LagSeconds");
            assertTrue(lag >= 0 && lag < 30, "lag " + lag);

            // suspended and resumed the same way
            jmx.invoke(route, "suspend", null, null);
            assertEquals("Suspended", jmx.getAttribute(route, "State"));
            cycles = (Long) jmx.getAttribute(state, "Cycles");
            Thread.sleep(2_000);
            assertEquals(cycles, jmx.getAttribute(state, "Cycles"), "a suspended route runs no cycle");
            jmx.invoke(route, "resume", null, null);
            assertEquals("Started", jmx.getAttribute(route, "State"));
            long resumedFrom = cycles;
            await(() -> (Long) jmx.getAttribute(state, "Cycles") > resumedFrom, "cycles after resume", jmx, state);

            // no password in any readable attribute of any MBean (Camel's, the JVM's, ours)
            for (ObjectName name : jmx.queryNames(null, null)) {
                String[] attributes = Arrays.stream(jmx.getMBeanInfo(name).getAttributes())
                        .filter(MBeanAttributeInfo::isReadable).map(MBeanAttributeInfo::getName)
                        .toArray(String[]::new);
                for (Object attribute : jmx.getAttributes(name, attributes).asList()) {
                    String text = String.valueOf(((Attribute) attribute).getValue());
                    assertFalse(text.contains(PASSWORD) || text.contains(PG_PASSWORD), name + " shows a password: " + attribute);
                }
            }
        }
        assertFalse(process.output().contains(PASSWORD) || process.output().contains(PG_PASSWORD),
                "a password leaked:\n" + process.output());
    }

    @Test
    void without_jmx_port_the_scheduled_loader_opens_no_jmx_port() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", EVERY_SECOND));
        eventsTable(10);
        Map<String, String> env = loader.environment();
        env.put("HTTP_PORT", "0");

        process = LoaderProcess.start(workDir(), env);
        process.awaitOutput("public.events (backfill in key order, 1 chunk): created 10", WAIT);

        Set<Integer> ports = ListeningPorts.of(process.pid());
        for (int port : ports) {
            // a JMX server, with or without a login, would answer (and refuse with a SecurityException)
            try (JMXConnector connector = connect(port, USER, PASSWORD)) {
                fail("JMX answers on port " + port + " although JMX_PORT is unset");
            } catch (SecurityException e) {
                fail("a JMX server listens on port " + port + " although JMX_PORT is unset: " + e.getMessage());
            } catch (IOException expected) {
                // not JMX
            }
        }
        assertFalse(process.output().contains("Remote JMX"), process.output());
    }

    @Test
    void the_table_sync_mbean_shows_the_last_cycle_the_totals_the_watermarks_and_the_last_error() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events")
                        + LoaderFixture.templatedRoute("sync-ghost", "table", "no_such_table"));
        eventsTable(50);
        loader.pg("UPDATE events SET updated_at = timestamp '2025-01-02 00:00:00.123456' + id * interval '1 second' WHERE id > 45");
        loader.start();
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        ObjectName events = TableSyncMBeans.objectName(loader.app().camelContext(), "sync-events");
        ObjectName ghost = TableSyncMBeans.objectName(loader.app().camelContext(), "sync-ghost");
        String context = loader.app().camelContext().getManagementName();
        assertTrue(jmx.isRegistered(new ObjectName("org.apache.camel:context=" + context + ",type=routes,name=\"sync-events\"")),
                "Camel's own route MBean is there too");
        assertTrue(jmx.isRegistered(events) && jmx.isRegistered(ghost), "registered when the routes start");
        assertEquals(-1L, jmx.getAttribute(events, "LagSeconds"), "no cycle yet");
        assertNull(jmx.getAttribute(events, "LastCycleSucceeded"));

        Instant before = Instant.now();
        SyncStatus.Outcome first = loader.cycle("sync-events");
        assertTrue(first.succeeded(), first.message());

        // a backfill copies every row (in key order) and counts them as created
        assertEquals(50L, jmx.getAttribute(events, "RowsCreatedLastCycle"));
        assertEquals(0L, jmx.getAttribute(events, "RowsUpdatedLastCycle"));
        assertEquals("2025-01-01 00:00:45.000000", jmx.getAttribute(events, "CreatedWatermark"));
        assertEquals("2025-01-02 00:00:50.123456", jmx.getAttribute(events, "UpdatedWatermark"));
        assertEquals(Boolean.TRUE, jmx.getAttribute(events, "LastCycleSucceeded"));
        Instant start = Instant.parse((String) jmx.getAttribute(events, "LastCycleStart"));
        Instant end = Instant.parse((String) jmx.getAttribute(events, "LastCycleEnd"));
        assertTrue(!start.isBefore(before.minusSeconds(1)) && !end.isBefore(start) && !end.isAfter(Instant.now()),
                start + " .. " + end);
        long lag = (Long) jmx.getAttribute(events, "LagSeconds");
        assertTrue(lag >= 0 && lag <= 5, "just synced, so ClickHouse is at most seconds behind: " + lag);
        assertTrue((Long) jmx.getAttribute(events, "WatermarkAgeSeconds") > 86_400, "the newest version is from 2025");

        loader.pg("INSERT INTO events SELECT g, 'new', localtimestamp FROM generate_series(51, 53) g");
        loader.cycle("sync-events");
        assertEquals(3L, jmx.getAttribute(events, "RowsCreatedLastCycle"));
        assertEquals(0L, jmx.getAttribute(events, "RowsUpdatedLastCycle"));
        assertEquals(53L, jmx.getAttribute(events, "RowsCreatedTotal"));
        assertEquals(0L, jmx.getAttribute(events, "RowsUpdatedTotal"));
        assertEquals(2L, jmx.getAttribute(events, "Cycles"));
        assertEquals(0L, jmx.getAttribute(events, "FailedCycles"));
        assertNull(jmx.getAttribute(events, "LastError"));

        assertFalse(loader.cycle("sync-ghost").succeeded());
        assertEquals(Boolean.FALSE, jmx.getAttribute(ghost, "LastCycleSucceeded"));
        assertEquals(1L, jmx.getAttribute(ghost, "FailedCycles"));
        assertTrue(((String) jmx.getAttribute(ghost, "LastError")).contains("no_such_table"), (String) jmx.getAttribute(ghost, "LastError"));
        assertEquals(-1L, jmx.getAttribute(ghost, "LagSeconds"), "never caught up");

        loader.close();
        assertFalse(jmx.isRegistered(events) || jmx.isRegistered(ghost), "unregistered when the loader stops");
    }

    @Test
    void a_password_in_an_error_message_never_reaches_jmx() throws Exception {
        Map<String, String> env = new HashMap<>(Map.of("POSTGRES_HOST", "pg", "POSTGRES_USER", "loader", "POSTGRES_DB", "shop",
                "CLICKHOUSE_HOST", "ch", "CLICKHOUSE_PASSWORD", PASSWORD));
        Settings settings = Settings.of(env);
        SyncStatus status = new SyncStatus();
        TableSyncMBeans beans = new TableSyncMBeans(status, settings::mask);
        status.record(new SyncStatus.Outcome("sync-x", false, "login as default/" + PASSWORD + " refused", 0, 0, 0, Instant.now()));

        beans.cycleEnded("sync-x", "public.x", false, Duration.ofMillis(5), null);

        String shown = beans.state("sync-x").getLastError();
        assertFalse(shown.contains(PASSWORD), shown);
        assertTrue(shown.contains("login as default/****** refused"), shown);
    }

    @Test
    void jmx_port_without_a_user_and_password_is_refused_before_connecting() {
        Map<String, String> env = new HashMap<>(Map.of("POSTGRES_HOST", "pg", "POSTGRES_USER", "loader", "POSTGRES_DB", "shop",
                "CLICKHOUSE_HOST", "ch", "JMX_PORT", "9010"));
        io.pgchloader.config.ConfigurationException e =
                assertThrows(io.pgchloader.config.ConfigurationException.class, () -> Settings.of(env));
        assertTrue(e.getMessage().contains("JMX_USER") && e.getMessage().contains("JMX_PASSWORD"), e.getMessage());
        env.put("JMX_USER", USER);
        assertThrows(io.pgchloader.config.ConfigurationException.class, () -> Settings.of(env), "a user alone is not enough");
        env.put("JMX_PASSWORD", PASSWORD);
        Settings settings = Settings.of(env);
        assertFalse(settings.toString().contains(PASSWORD), settings.toString());
    }

    @Test
    void a_read_only_login_needs_its_own_password_and_a_name_of_its_own() {
        Map<String, String> env = new HashMap<>(Map.of("POSTGRES_HOST", "pg", "POSTGRES_USER", "loader", "POSTGRES_DB", "shop",
                "CLICKHOUSE_HOST", "ch", "JMX_PORT", "9010", "JMX_USER", USER, "JMX_PASSWORD", PASSWORD));
        env.put("JMX_READONLY_USER", "viewer");
        io.pgchloader.config.ConfigurationException e =
                assertThrows(io.pgchloader.config.ConfigurationException.class, () -> Settings.of(env));
        assertTrue(e.getMessage().contains("JMX_READONLY_PASSWORD"), e.getMessage());
        env.put("JMX_READONLY_USER", USER);
        env.put("JMX_READONLY_PASSWORD", "viewer-pa55word");
        e = assertThrows(io.pgchloader.config.ConfigurationException.class, () -> Settings.of(env));
        assertTrue(e.getMessage().contains("same user as JMX_USER"), e.getMessage());
        env.remove("JMX_READONLY_USER");
        assertThrows(io.pgchloader.config.ConfigurationException.class, () -> Settings.of(env), "a password alone is no login");

        env.put("JMX_READONLY_USER", "viewer");
        Settings settings = Settings.of(env);
        assertFalse(settings.toString().contains("viewer-pa55word"), settings.toString());
        assertEquals("login ****** refused", settings.mask("login viewer-pa55word refused"));
    }

    static JMXConnector connect(int port, String user, String password) throws IOException {
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + port + "/jmxrmi");
        Map<String, Object> env = user == null ? Map.of() : Map.of(JMXConnector.CREDENTIALS, new String[] {user, password});
        return JMXConnectorFactory.connect(url, env);
    }

    private void await(Callable<Boolean> condition, String what, MBeanServerConnection jmx, ObjectName state) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                fail("no " + what + " within " + WAIT.toSeconds() + " s; MBeans: " + jmx.queryNames(null, null)
                        + (jmx.isRegistered(state) ? "; Cycles=" + jmx.getAttribute(state, "Cycles")
                        + " RowsCreatedTotal=" + jmx.getAttribute(state, "RowsCreatedTotal")
                        + " LastError=" + jmx.getAttribute(state, "LastError") : "") + "\noutput:\n" + process.output());
            }
            Thread.sleep(200);
        }
    }
}
