package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgchloader.cycle.TableSync;
import io.pgchloader.support.ListeningPorts;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServerConnection;
import javax.management.MBeanServerDelegate;
import javax.management.NotificationListener;
import javax.management.ObjectName;
import javax.management.Query;
import javax.management.ReflectionException;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Remote JMX grants what README promises and nothing more: a real client logs in over the RMI port as
 * the operator and as the read-only user, tries what a security review did with the password (SQL on
 * both databases, a file, a heap dump, a native agent, an MLet, changed attributes), and still steers a
 * table route. One scheduled loader serves every test; each test leaves the route started.
 */
class RemoteJmxAccessTest {

    static final String OPERATOR = "operator";
    static final String OPERATOR_PASSWORD = "jmx-operator-pa55word";
    static final String VIEWER = "viewer";
    static final String VIEWER_PASSWORD = "jmx-viewer-pa55word";
    static final String PG_PASSWORD = "pg-pa55word-for-access-tests";
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String[] SECRETS = {OPERATOR_PASSWORD, VIEWER_PASSWORD, PG_PASSWORD};

    static final String DROP_VICTIM = "COMMIT; BEGIN READ WRITE; DROP TABLE victim; COMMIT";
    static final String CAMEL = "org.apache.camel:context=pg-ch-loader,";

    @TempDir
    static Path tmp;

    static LoaderFixture loader;
    static LoaderProcess process;
    static JMXConnector operatorConnector;
    static JMXConnector viewerConnector;
    static MBeanServerConnection operator;
    static MBeanServerConnection viewer;
    static int port;

    static ObjectName context;
    static ObjectName route;
    static ObjectName internalRoute;
    static ObjectName tableSync;

    @BeforeAll
    static void startLoaderWithBothLogins() throws Exception {
        context = new ObjectName(CAMEL + "type=context,name=\"pg-ch-loader\"");
        route = new ObjectName(CAMEL + "type=routes,name=\"sync-events\"");
        internalRoute = new ObjectName(CAMEL + "type=routes,name=\"copy-stream\"");
        tableSync = new ObjectName("io.pgchloader:context=pg-ch-loader,type=TableSync,route=\"sync-events\"");

        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-events", "table", "events", "cron", "0/2 * * * * ?"));
        loader.pg("CREATE TABLE events (id bigint PRIMARY KEY, note text, created_at timestamp NOT NULL, updated_at timestamp)",
                "INSERT INTO events VALUES (1, 'one', timestamp '2025-01-01')",
                "CREATE TABLE victim (id int)");
        port = ListeningPorts.free();
        Map<String, String> env = loader.environment();
        env.put("JMX_PORT", Integer.toString(port));
        env.put("JMX_USER", OPERATOR);
        env.put("JMX_PASSWORD", OPERATOR_PASSWORD);
        env.put("JMX_READONLY_USER", VIEWER);
        env.put("JMX_READONLY_PASSWORD", VIEWER_PASSWORD);
        env.put("JMX_HOST", "127.0.0.1");
        // the embedded PostgreSQL trusts local logins, so any password works: one to look for below
        env.put("POSTGRES_PASSWORD", PG_PASSWORD);
        Path work = Files.createDirectories(tmp.resolve("work"));
        // a secret on the JVM's command line, as -Djavax.net.ssl.keyStorePassword=... would put one there
        process = LoaderProcess.start(work, env, List.of("-Dloader.test.keyStorePassword=" + PG_PASSWORD));
        process.awaitOutput("Remote JMX on port " + port + " for operator " + OPERATOR + " and read-only user " + VIEWER, WAIT);

        operatorConnector = JmxTest.connect(port, OPERATOR, OPERATOR_PASSWORD);
        viewerConnector = JmxTest.connect(port, VIEWER, VIEWER_PASSWORD);
        operator = operatorConnector.getMBeanServerConnection();
        viewer = viewerConnector.getMBeanServerConnection();
        // the connector opens before Camel has started: wait for the table route and its first cycle
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!(operator.isRegistered(tableSync) && (Long) operator.getAttribute(tableSync, "Cycles") > 0)) {
            if (System.nanoTime() > deadline) {
                fail("no cycle of sync-events within " + WAIT.toSeconds() + " s; output:\n" + process.output());
            }
            Thread.sleep(200);
        }
    }

    @AfterAll
    static void stopLoader() throws Exception {
        for (JMXConnector connector : new JMXConnector[] {operatorConnector, viewerConnector}) {
            if (connector != null) {
                connector.close();
            }
        }
        if (process != null) {
            process.close();
        }
        if (loader != null) {
            loader.close();
        }
    }

    // ---- what a stolen password must not buy -------------------------------------------------------

    @Test
    void an_operator_cannot_run_sql_on_postgresql_through_the_camel_context() throws Exception {
        String[] uriAndBody = {String.class.getName(), Object.class.getName()};
        String[] uriAndText = {String.class.getName(), String.class.getName()};
        String[] withHeaders = {String.class.getName(), Object.class.getName(), Map.class.getName()};
        for (MBeanServerConnection jmx : List.of(operator, viewer)) {
            assertRefused(() -> jmx.invoke(context, "requestBody", new Object[] {"jdbc:postgres", DROP_VICTIM}, uriAndBody));
            assertRefused(() -> jmx.invoke(context, "sendBody", new Object[] {"jdbc:postgres", DROP_VICTIM}, uriAndBody));
            assertRefused(() -> jmx.invoke(context, "requestStringBody", new Object[] {"jdbc:postgres", DROP_VICTIM}, uriAndText));
            assertRefused(() -> jmx.invoke(context, "sendStringBody", new Object[] {"jdbc:postgres", DROP_VICTIM}, uriAndText));
            assertRefused(() -> jmx.invoke(context, "requestBodyAndHeaders",
                    new Object[] {"jdbc:postgres", DROP_VICTIM, new HashMap<>()}, withHeaders));
            assertRefused(() -> jmx.invoke(context, "requestBody",
                    new Object[] {"sql:DROP TABLE victim?dataSource=#postgres", null}, uriAndBody));
        }
        assertEquals(1, loader.pgLong("SELECT count(*) FROM pg_tables WHERE tablename = 'victim'"), "victim still exists");
    }

    @Test
    void an_operator_cannot_run_sql_on_clickhouse_through_the_camel_context() throws Exception {
        String create = "CREATE TABLE pwned (x UInt8) ENGINE = Memory";
        for (MBeanServerConnection jmx : List.of(operator, viewer)) {
            assertRefused(() -> jmx.invoke(context, "requestBody", new Object[] {"jdbc:clickhouse?resetAutoCommit=false", create},
                    new String[] {String.class.getName(), Object.class.getName()}));
            assertRefused(() -> jmx.invoke(context, "sendStringBody", new Object[] {"jdbc:clickhouse?resetAutoCommit=false", create},
                    new String[] {String.class.getName(), String.class.getName()}));
        }
        assertEquals(0, loader.chLong("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'pwned'"));
        assertEquals(1, loader.chLong("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'events'"),
                "the query looks in the loader's database");
    }

    @Test
    void an_operator_cannot_write_a_file_through_a_camel_endpoint() throws Exception {
        Path drop = Files.createDirectories(tmp.resolve("drop"));
        String uri = "file:" + drop + "?fileName=owned.txt";
        for (MBeanServerConnection jmx : List.of(operator, viewer)) {
            assertRefused(() -> jmx.invoke(context, "sendBody", new Object[] {uri, "owned"},
                    new String[] {String.class.getName(), Object.class.getName()}));
            assertRefused(() -> jmx.invoke(context, "createEndpoint", new Object[] {uri}, new String[] {String.class.getName()}));
        }
        assertFalse(Files.exists(drop.resolve("owned.txt")));
    }

    @Test
    void no_jmx_user_can_dump_the_heap_or_change_a_vm_option() throws Exception {
        ObjectName hotSpot = new ObjectName("com.sun.management:type=HotSpotDiagnostic");
        Path dump = tmp.resolve("heap.hprof");
        for (MBeanServerConnection jmx : List.of(operator, viewer)) {
            assertRefused(() -> jmx.invoke(hotSpot, "dumpHeap", new Object[] {dump.toString(), true},
                    new String[] {String.class.getName(), "boolean"}));
            assertRefused(() -> jmx.invoke(hotSpot, "setVMOption", new Object[] {"HeapDumpOnOutOfMemoryError", "true"},
                    new String[] {String.class.getName(), String.class.getName()}));
        }
        assertFalse(Files.exists(dump));
    }

    @Test
    void no_jmx_user_can_run_a_diagnostic_command() throws Exception {
        ObjectName diagnostics = new ObjectName("com.sun.management:type=DiagnosticCommand");
        String[] arguments = {String[].class.getName()};
        for (MBeanServerConnection jmx : List.of(operator, viewer)) {
            assertRefused(() -> jmx.invoke(diagnostics, "jvmtiAgentLoad", new Object[] {new String[] {tmp.resolve("agent.so").toString()}},
                    arguments));
            assertRefused(() -> jmx.invoke(diagnostics, "vmSystemProperties", null, null));
            assertRefused(() -> jmx.invoke(diagnostics, "vmCommandLine", null, null));
            assertRefused(() -> jmx.invoke(diagnostics, "jfrStart", new Object[] {new String[0]}, arguments));
            assertRefused(() -> jmx.invoke(diagnostics, "gcRun", null, null));
        }
    }

    @Test
    void no_jmx_user_can_create_register_or_unregister_an_mbean() throws Exception {
        ObjectName mlet = new ObjectName("pwned:type=MLet");
        for (MBeanServerConnection jmx : List.of(operator, viewer)) {
            assertRefused(() -> jmx.createMBean("javax.management.loading.MLet", mlet));
            assertRefused(() -> jmx.createMBean("javax.management.loading.MLet", mlet, null, new Object[0], new String[0]));
            assertRefused(() -> jmx.unregisterMBean(tableSync));
            assertRefused(() -> jmx.unregisterMBean(route));
        }
        assertFalse(operator.isRegistered(mlet));
        assertTrue(operator.isRegistered(tableSync) && operator.isRegistered(route));
    }

    @Test
    void no_jmx_user_can_change_an_attribute_outside_the_loaders_own_mbeans() throws Exception {
        ObjectName threading = new ObjectName("java.lang:type=Threading");
        ObjectName logging = new ObjectName("java.util.logging:type=Logging");
        for (MBeanServerConnection jmx : List.of(operator, viewer)) {
            assertRefused(() -> jmx.setAttribute(context, new Attribute("Tracing", true)));
            assertRefused(() -> jmx.setAttribute(route, new Attribute("StatisticsEnabled", false)));
            assertRefused(() -> jmx.setAttributes(context, new AttributeList(List.of(new Attribute("Timeout", 1L)))));
            assertRefused(() -> jmx.setAttribute(threading, new Attribute("ThreadContentionMonitoringEnabled", true)));
            assertRefused(() -> jmx.invoke(logging, "setLoggerLevel", new Object[] {"", "OFF"},
                    new String[] {String.class.getName(), String.class.getName()}));
            assertRefused(() -> jmx.invoke(new ObjectName("java.lang:type=Memory"), "gc", null, null));
        }
        assertEquals(Boolean.FALSE, operator.getAttribute(context, "Tracing"));
        assertEquals(Boolean.TRUE, operator.getAttribute(route, "StatisticsEnabled"));
        assertEquals(30L, operator.getAttribute(context, "Timeout"));
        assertEquals(Boolean.FALSE, operator.getAttribute(threading, "ThreadContentionMonitoringEnabled"));
    }

    @Test
    void an_operator_cannot_steer_camel_internals_quartz_or_routes_other_than_table_routes() throws Exception {
        ObjectName quartz = operator.queryNames(new ObjectName("quartz:type=QuartzScheduler,*"), null).iterator().next();
        assertRefused(() -> operator.invoke(internalRoute, "stop", null, null));
        assertRefused(() -> operator.invoke(internalRoute, "suspend", null, null));
        assertRefused(() -> operator.invoke(context, "stop", null, null));
        assertRefused(() -> operator.invoke(context, "suspend", null, null));
        assertRefused(() -> operator.invoke(route, "remove", null, null));
        assertRefused(() -> operator.invoke(route, "restart", null, null));
        assertRefused(() -> operator.invoke(route, "stop", new Object[] {1L}, new String[] {"long"}));
        assertRefused(() -> operator.invoke(route, "updateRouteFromXml", new Object[] {"<route/>"}, new String[] {String.class.getName()}));
        assertRefused(() -> operator.invoke(route, "dumpRouteAsXml", null, null));
        assertRefused(() -> operator.invoke(context, "dumpRoutesAsYaml", null, null));
        assertRefused(() -> operator.invoke(new ObjectName(CAMEL + "type=health,name=DefaultHealthCheck"), "disableById",
                new Object[] {"postgresql"}, new String[] {String.class.getName()}));
        assertRefused(() -> operator.invoke(new ObjectName(CAMEL + "type=services,name=DefaultEndpointRegistry"), "purge", null, null));
        assertRefused(() -> operator.invoke(quartz, "standby", null, null));
        assertRefused(() -> operator.invoke(quartz, "scheduleBasicJob", new Object[] {new HashMap<>(), new HashMap<>()},
                new String[] {Map.class.getName(), Map.class.getName()}));
        assertRefused(() -> operator.invoke(new ObjectName("jdk.management.jfr:type=FlightRecorder"), "newRecording", null, null));
        for (String endpoint : names(CAMEL + "type=endpoints,*")) {
            assertRefused(() -> operator.invoke(new ObjectName(endpoint), "stop", null, null));
        }
        assertEquals("Started", operator.getAttribute(internalRoute, "State"));
        assertEquals("Started", operator.getAttribute(context, "State"));
        assertEquals("Started", operator.getAttribute(route, "State"));
        // Quartz's attributes are closed too; that it still fires shows it was not put in standby
        awaitCycleAfter((Long) operator.getAttribute(tableSync, "Cycles"));
    }

    @Test
    void a_client_cannot_make_the_loader_deserialize_classes_outside_the_allow_list() throws Exception {
        // a String reaches the MBean (which has no such operation) ...
        assertThrows(ReflectionException.class,
                () -> operator.invoke(tableSync, "probe", new Object[] {"text"}, new String[] {String.class.getName()}));
        // ... a java.net.URL in a map, the shape of the URLDNS probe, is refused while the call is read
        Map<Object, Object> probe = new HashMap<>(Map.of(new URL("http://deserialized.invalid/"), "x"));
        IOException refused = assertThrows(IOException.class,
                () -> operator.invoke(tableSync, "probe", new Object[] {probe}, new String[] {Map.class.getName()}));
        assertTrue(String.valueOf(refused).contains("REJECTED") || String.valueOf(refused.getCause()).contains("REJECTED"),
                String.valueOf(refused));
    }

    @Test
    void each_login_works_with_its_own_password_only() {
        assertThrows(SecurityException.class, () -> JmxTest.connect(port, VIEWER, OPERATOR_PASSWORD).close());
        assertThrows(SecurityException.class, () -> JmxTest.connect(port, OPERATOR, VIEWER_PASSWORD).close());
        assertThrows(SecurityException.class, () -> JmxTest.connect(port, "root", OPERATOR_PASSWORD).close());
    }

    // ---- what the logins are for ---------------------------------------------------------------------

    @Test
    void an_operator_stops_starts_suspends_and_resumes_a_table_route() throws Exception {
        operator.invoke(route, "stop", null, null);
        assertEquals("Stopped", operator.getAttribute(route, "State"));
        operator.invoke(route, "start", null, new String[0]);
        assertEquals("Started", operator.getAttribute(route, "State"));
        operator.invoke(route, "suspend", null, null);
        assertEquals("Suspended", operator.getAttribute(route, "State"));
        operator.invoke(route, "resume", null, null);
        assertEquals("Started", operator.getAttribute(route, "State"));
        long cycles = (Long) operator.getAttribute(tableSync, "Cycles");
        awaitCycleAfter(cycles);
    }

    @Test
    void the_loaders_own_mbeans_are_open_to_the_operator_and_closed_to_the_read_only_user() throws Exception {
        // TableSync has no operation or writable attribute today: the MBean itself answers the operator
        assertThrows(ReflectionException.class, () -> operator.invoke(tableSync, "resetCounters", null, null));
        Exception notWritable = assertThrows(Exception.class, () -> operator.setAttribute(tableSync, new Attribute("Table", "x")));
        assertFalse(notWritable instanceof SecurityException, String.valueOf(notWritable));
        assertRefused(() -> viewer.invoke(tableSync, "resetCounters", null, null));
        assertRefused(() -> viewer.setAttribute(tableSync, new Attribute("Table", "x")));
        assertEquals("public.events", operator.getAttribute(tableSync, "Table"));
    }

    @Test
    void the_read_only_user_reads_attributes_but_cannot_stop_or_suspend_a_route() throws Exception {
        assertEquals("public.events", viewer.getAttribute(tableSync, "Table"));
        assertTrue((Long) viewer.getAttribute(tableSync, "Cycles") > 0);
        assertEquals("Started", viewer.getAttribute(route, "State"));
        assertEquals("4.18.0", viewer.getAttribute(context, "CamelVersion"));
        assertTrue((Long) viewer.getAttribute(new ObjectName("java.lang:type=Runtime"), "Uptime") > 0);
        // queries are evaluated through the policy too
        Set<ObjectName> started = viewer.queryNames(new ObjectName(CAMEL + "type=routes,*"),
                Query.eq(Query.attr("State"), Query.value("Started")));
        assertEquals(Set.of(route, internalRoute), started);
        // thread stacks, as jconsole's Threads tab reads them
        CompositeData[] threads = (CompositeData[]) viewer.invoke(new ObjectName("java.lang:type=Threading"), "dumpAllThreads",
                new Object[] {false, false}, new String[] {"boolean", "boolean"});
        assertTrue(threads.length > 5);
        // and notifications, as jconsole subscribes to MBeans coming and going
        NotificationListener ignore = (notification, handback) -> { };
        viewer.addNotificationListener(MBeanServerDelegate.DELEGATE_NAME, ignore, null, null);
        viewer.removeNotificationListener(MBeanServerDelegate.DELEGATE_NAME, ignore);

        for (String operation : List.of("stop", "suspend", "start", "resume")) {
            assertRefused(() -> viewer.invoke(route, operation, null, null));
        }
        assertEquals("Started", operator.getAttribute(route, "State"));
    }

    @Test
    void no_answer_shows_a_secret_and_the_jvm_command_line_is_withheld() throws Exception {
        ObjectName runtime = new ObjectName("java.lang:type=Runtime");
        for (MBeanServerConnection jmx : List.of(operator, viewer)) {
            assertRefused(() -> jmx.getAttribute(runtime, "InputArguments"));
            assertRefused(() -> jmx.getAttribute(runtime, "SystemProperties"));
            assertRefused(() -> jmx.getAttribute(new ObjectName("com.sun.management:type=HotSpotDiagnostic"), "DiagnosticOptions"));
            AttributeList some = jmx.getAttributes(runtime, new String[] {"InputArguments", "VmName", "SystemProperties"});
            assertEquals(List.of("VmName"), some.asList().stream().map(Attribute::getName).toList(), "withheld ones are left out");

            for (ObjectName name : jmx.queryNames(null, null)) {
                String[] attributes = Arrays.stream(jmx.getMBeanInfo(name).getAttributes())
                        .filter(MBeanAttributeInfo::isReadable).map(MBeanAttributeInfo::getName).toArray(String[]::new);
                for (Attribute attribute : jmx.getAttributes(name, attributes).asList()) {
                    Object value = attribute.getValue();
                    String text = value instanceof Object[] array ? Arrays.deepToString(array) : String.valueOf(value);
                    for (String secret : SECRETS) {
                        assertFalse(text.contains(secret), name + " shows a password in " + attribute.getName());
                    }
                }
            }
        }
        for (String secret : SECRETS) {
            assertFalse(process.output().contains(secret), "a password leaked into the log:\n" + process.output());
        }
        // a refusal is logged with who tried what, but without the parameters
        assertRefused(() -> viewer.invoke(context, "requestBody", new Object[] {"jdbc:postgres", PG_PASSWORD},
                new String[] {String.class.getName(), Object.class.getName()}));
        process.awaitOutput("Remote JMX: refused to let viewer (read-only) invoke requestBody on " + context, WAIT);
        for (String secret : SECRETS) {
            assertFalse(process.output().contains(secret), "a password leaked into the log:\n" + process.output());
        }
    }

    private static void assertRefused(Executable call) {
        SecurityException e = assertThrows(SecurityException.class, call);
        assertTrue(e.getMessage().startsWith("Access denied"), e.getMessage());
    }

    private static List<String> names(String pattern) throws Exception {
        return operator.queryNames(new ObjectName(pattern), null).stream().map(ObjectName::toString).toList();
    }

    private static void awaitCycleAfter(long cycles) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while ((Long) operator.getAttribute(tableSync, "Cycles") <= cycles) {
            if (System.nanoTime() > deadline) {
                fail("no cycle after the route was resumed; output:\n" + process.output());
            }
            Thread.sleep(200);
        }
    }
}
