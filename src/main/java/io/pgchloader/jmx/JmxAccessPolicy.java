package io.pgchloader.jmx;

import io.pgchloader.cycle.TableSync;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * What a remote JMX login may do, as an allow-list: whatever is not granted here is refused.
 *
 * <ul>
 *   <li>Both roles list MBeans, see their MBeanInfo and read the attributes of the JVM's, Camel's and the
 *   loader's own MBeans, except attributes that may hold a secret (the JVM's command line and system
 *   properties). Both may read thread stacks (jconsole's Threads tab): frames and lock names, no values.</li>
 *   <li>The operator also starts, stops, suspends and resumes table routes, the routes that have a
 *   {@code TableSync} MBean beside them, and uses the loader's own MBeans.</li>
 *   <li>Nobody invokes anything else: not Camel's context (requestBody, sendBody and createEndpoint run
 *   any endpoint: SQL on both databases, files), not Camel's internal routes, endpoints, components,
 *   processors or services, not Quartz (it schedules arbitrary job classes), not the JVM's diagnostic
 *   MBeans (heap dumps hold the passwords; DiagnosticCommand loads native agents), not JFR (it writes
 *   files). Nobody sets an attribute that is not the loader's own, or creates, registers or unregisters
 *   an MBean (an MLet loads code from a URL).</li>
 * </ul>
 */
public final class JmxAccessPolicy {

    private static final String CAMEL = "org.apache.camel";

    /** Domains whose attributes can be read; another library's MBeans (Quartz, JFR, a pool) stay closed. */
    private static final Set<String> READABLE_DOMAINS =
            Set.of("JMImplementation", "java.lang", "java.nio", "java.util.logging", CAMEL, TableSyncMBeans.DOMAIN);

    private static final ObjectName THREADING = name(ManagementFactory.THREAD_MXBEAN_NAME);

    /** Attributes a {@code -D} option or an agent argument can put a password into (-Djavax.net.ssl.keyStorePassword=…). */
    private static final Map<ObjectName, Set<String>> WITHHELD =
            Map.of(name(ManagementFactory.RUNTIME_MXBEAN_NAME), Set.of("InputArguments", "SystemProperties"));

    /** What README promises for a table route: without arguments, so no timeout games with the shutdown strategy. */
    private static final Set<String> ROUTE_LIFECYCLE = Set.of("start", "stop", "suspend", "resume");

    /** ThreadMXBean operations that only read: stack frames, lock owners, CPU times. */
    private static final Set<String> THREAD_READS = Set.of("getThreadInfo", "dumpAllThreads", "findDeadlockedThreads",
            "findMonitorDeadlockedThreads", "getThreadCpuTime", "getThreadUserTime", "getThreadAllocatedBytes");

    private final Predicate<ObjectName> isTableRoute;

    /**
     * @param isTableRoute whether a Camel route MBean belongs to a table route (asked only for
     *                     {@code org.apache.camel:type=routes} names)
     */
    public JmxAccessPolicy(Predicate<ObjectName> isTableRoute) {
        this.isTableRoute = isTableRoute;
    }

    public boolean mayRead(JmxRole role, ObjectName mbean, String attribute) {
        return role != null && readable(mbean) && !WITHHELD.getOrDefault(mbean, Set.of()).contains(attribute);
    }

    /** Only the loader's own MBeans, which have no writable attribute today. */
    public boolean mayWrite(JmxRole role, ObjectName mbean, String attribute) {
        return role == JmxRole.OPERATOR && ours(mbean);
    }

    public boolean mayInvoke(JmxRole role, ObjectName mbean, String operation, String[] signature) {
        if (role == null || mbean.isPattern()) {
            return false;
        }
        if (mbean.equals(THREADING) && THREAD_READS.contains(operation)) {
            return true;
        }
        if (role != JmxRole.OPERATOR) {
            return false;
        }
        if (ours(mbean)) {
            return true;
        }
        return CAMEL.equals(mbean.getDomain()) && "routes".equals(mbean.getKeyProperty("type"))
                && ROUTE_LIFECYCLE.contains(operation) && (signature == null || signature.length == 0)
                && isTableRoute.test(mbean);
    }

    /**
     * Notifications of the MBeans one may read. The JDK's RMI connector subscribes on the clients' behalf
     * without their Subject, so in practice clients get the notifications of any MBean; in this JVM they
     * carry names, GC and memory figures, no secrets.
     */
    public boolean mayListen(JmxRole role, ObjectName mbean) {
        return role != null && readable(mbean);
    }

    private static boolean readable(ObjectName mbean) {
        return !mbean.isPattern() && READABLE_DOMAINS.contains(mbean.getDomain());
    }

    private static boolean ours(ObjectName mbean) {
        return !mbean.isPattern() && TableSyncMBeans.DOMAIN.equals(mbean.getDomain());
    }

    private static ObjectName name(String text) {
        try {
            return new ObjectName(text);
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException(text, e);
        }
    }
}
