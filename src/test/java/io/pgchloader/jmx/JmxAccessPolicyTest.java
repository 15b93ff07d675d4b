package io.pgchloader.jmx;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/** The allow-list on its own, without a connector: who may do what to which MBean. */
class JmxAccessPolicyTest {

    static final ObjectName TABLE_ROUTE = name("org.apache.camel:context=pg-ch-loader,type=routes,name=\"sync-orders\"");
    static final ObjectName INTERNAL_ROUTE = name("org.apache.camel:context=pg-ch-loader,type=routes,name=\"copy-stream\"");
    static final ObjectName CONTEXT = name("org.apache.camel:context=pg-ch-loader,type=context,name=\"pg-ch-loader\"");
    static final ObjectName TABLE_SYNC = name("io.pgchloader:context=pg-ch-loader,type=TableSync,route=\"sync-orders\"");
    static final ObjectName RUNTIME = name("java.lang:type=Runtime");
    static final String[] NONE = {};

    final JmxAccessPolicy policy = new JmxAccessPolicy(TABLE_ROUTE::equals);

    @Test
    void the_route_lifecycle_is_the_operators_on_table_routes_only_and_without_arguments() {
        for (String operation : new String[] {"start", "stop", "suspend", "resume"}) {
            assertTrue(policy.mayInvoke(JmxRole.OPERATOR, TABLE_ROUTE, operation, NONE), operation);
            assertTrue(policy.mayInvoke(JmxRole.OPERATOR, TABLE_ROUTE, operation, null), operation);
            assertFalse(policy.mayInvoke(JmxRole.READ_ONLY, TABLE_ROUTE, operation, NONE), operation);
            assertFalse(policy.mayInvoke(JmxRole.OPERATOR, INTERNAL_ROUTE, operation, NONE), operation);
            assertFalse(policy.mayInvoke(JmxRole.OPERATOR, CONTEXT, operation, NONE), operation);
        }
        assertFalse(policy.mayInvoke(JmxRole.OPERATOR, TABLE_ROUTE, "stop", new String[] {"long"}));
        assertFalse(policy.mayInvoke(JmxRole.OPERATOR, TABLE_ROUTE, "remove", NONE));
        assertFalse(policy.mayInvoke(JmxRole.OPERATOR, name("org.apache.camel:context=pg-ch-loader,type=routes,*"), "stop", NONE),
                "never on a pattern");
    }

    @Test
    void nothing_outside_the_allow_list_is_invoked_written_or_read() {
        for (JmxRole role : JmxRole.values()) {
            assertFalse(policy.mayInvoke(role, CONTEXT, "requestBody", new String[] {"java.lang.String", "java.lang.Object"}));
            assertFalse(policy.mayInvoke(role, name("com.sun.management:type=HotSpotDiagnostic"), "dumpHeap", NONE));
            assertFalse(policy.mayInvoke(role, name("java.lang:type=Memory"), "gc", NONE));
            assertFalse(policy.mayWrite(role, CONTEXT, "Tracing"));
            assertFalse(policy.mayRead(role, RUNTIME, "InputArguments"));
            assertFalse(policy.mayRead(role, RUNTIME, "SystemProperties"));
            assertFalse(policy.mayRead(role, name("quartz:type=QuartzScheduler,name=q,instance=NON_CLUSTERED"), "AllJobDetails"));
            assertTrue(policy.mayRead(role, RUNTIME, "Uptime"));
            assertTrue(policy.mayRead(role, TABLE_ROUTE, "State"));
            assertTrue(policy.mayInvoke(role, name("java.lang:type=Threading"), "dumpAllThreads", new String[] {"boolean", "boolean"}));
            assertFalse(policy.mayInvoke(role, name("java.lang:type=Threading"), "resetPeakThreadCount", NONE));
        }
        assertFalse(policy.mayRead(null, RUNTIME, "Uptime"), "no role, no rights");
    }

    @Test
    void the_loaders_own_mbeans_are_the_operators() {
        assertTrue(policy.mayInvoke(JmxRole.OPERATOR, TABLE_SYNC, "anything", NONE));
        assertTrue(policy.mayWrite(JmxRole.OPERATOR, TABLE_SYNC, "Anything"));
        assertFalse(policy.mayInvoke(JmxRole.READ_ONLY, TABLE_SYNC, "anything", NONE));
        assertFalse(policy.mayWrite(JmxRole.READ_ONLY, TABLE_SYNC, "Anything"));
        assertTrue(policy.mayRead(JmxRole.READ_ONLY, TABLE_SYNC, "LagSeconds"));
    }

    private static ObjectName name(String text) {
        try {
            return new ObjectName(text);
        } catch (Exception e) {
            throw new IllegalArgumentException(text, e);
        }
    }
}
