package io.pgchloader.jmx;

import java.io.ObjectInputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.security.AccessController;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.UnaryOperator;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.IntrospectionException;
import javax.management.InvalidAttributeValueException;
import javax.management.ListenerNotFoundException;
import javax.management.MBeanException;
import javax.management.MBeanInfo;
import javax.management.MBeanRegistrationException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.NotCompliantMBeanException;
import javax.management.NotificationFilter;
import javax.management.NotificationListener;
import javax.management.ObjectInstance;
import javax.management.ObjectName;
import javax.management.QueryEval;
import javax.management.QueryExp;
import javax.management.ReflectionException;
import javax.management.loading.ClassLoaderRepository;
import javax.management.remote.JMXPrincipal;
import javax.management.remote.MBeanServerForwarder;
import javax.security.auth.Subject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The remote JMX connector's view of the platform MBean server: every call is checked against the
 * caller's {@link JmxRole} by {@link JmxAccessPolicy} before it reaches an MBean, and every answer is
 * searched for the configured passwords. Local JMX (jconsole by process id) does not pass through here.
 *
 * <p>Calls without an authenticated Subject come from the connector itself (its notification buffer,
 * the class loaders it deserializes parameters with); only those few methods are let through for it.
 */
final class RoleBasedMBeanServerForwarder implements MBeanServerForwarder {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");

    /** Subject.current() from Java 18 on (it also sees Subject.callAs, which newer connectors use); null on 17. */
    private static final MethodHandle CURRENT_SUBJECT = currentSubjectHandle();

    private static final ObjectName THREADING = threading();

    /** Marks an answer that would show a password. */
    private static final Object WITHHELD = new Object();

    private final UnaryOperator<String> mask;
    private MBeanServer server;
    private JmxAccessPolicy policy;

    /** The authenticated user and role of the call in progress. */
    private record Caller(String user, JmxRole role) {
        @Override
        public String toString() {
            return user + " (" + role.getName() + ")";
        }
    }

    /** @param mask replaces every configured password in a text by {@code ******} */
    RoleBasedMBeanServerForwarder(UnaryOperator<String> mask) {
        this.mask = mask;
    }

    @Override
    public MBeanServer getMBeanServer() {
        return server;
    }

    @Override
    public void setMBeanServer(MBeanServer server) {
        this.server = server;
        this.policy = new JmxAccessPolicy(route -> TableSyncMBeans.isTableRoute(server, route));
    }

    // ---- reading -------------------------------------------------------------------------------------

    @Override
    public Object getAttribute(ObjectName name, String attribute)
            throws MBeanException, AttributeNotFoundException, InstanceNotFoundException, ReflectionException {
        Caller caller = login();
        if (!policy.mayRead(caller.role(), name, attribute)) {
            // jconsole reads such attributes on every refresh: no WARN line each time
            LOG.debug("Remote JMX: withheld {} of {} from {}", shown(attribute), name, caller);
            throw new SecurityException("Access denied: " + name + " " + shown(attribute) + " is not readable over remote JMX");
        }
        Object value;
        try {
            value = server.getAttribute(name, attribute);
        } catch (MBeanException | ReflectionException | RuntimeException e) {
            withholdIfRevealing(e, "reading " + attribute + " of " + name);
            throw e;
        }
        Object answer = answer(value);
        if (answer == WITHHELD) {
            throw new SecurityException("Access denied: " + name + " " + shown(attribute) + " holds a password");
        }
        return answer;
    }

    @Override
    public AttributeList getAttributes(ObjectName name, String[] attributes) throws InstanceNotFoundException, ReflectionException {
        Caller caller = login();
        if (attributes == null) {
            return server.getAttributes(name, null);
        }
        // as the MBeanServer contract allows: what may not be read is left out of the answer
        String[] readable = Arrays.stream(attributes).filter(a -> policy.mayRead(caller.role(), name, a)).toArray(String[]::new);
        AttributeList answer = new AttributeList();
        for (Attribute attribute : server.getAttributes(name, readable).asList()) {
            Object value = answer(attribute.getValue());
            if (value != WITHHELD) {
                answer.add(new Attribute(attribute.getName(), value));
            }
        }
        return answer;
    }

    @Override
    public MBeanInfo getMBeanInfo(ObjectName name) throws InstanceNotFoundException, IntrospectionException, ReflectionException {
        login();
        return server.getMBeanInfo(name);
    }

    @Override
    public ObjectInstance getObjectInstance(ObjectName name) throws InstanceNotFoundException {
        login();
        return server.getObjectInstance(name);
    }

    @Override
    public Set<ObjectInstance> queryMBeans(ObjectName name, QueryExp query) {
        if (caller() == null || query == null) {
            return server.queryMBeans(name, query);
        }
        Set<ObjectInstance> answer = new LinkedHashSet<>();
        for (ObjectInstance instance : server.queryMBeans(name, null)) {
            if (matches(query, instance.getObjectName())) {
                answer.add(instance);
            }
        }
        return answer;
    }

    @Override
    public Set<ObjectName> queryNames(ObjectName name, QueryExp query) {
        if (caller() == null || query == null) {
            return server.queryNames(name, query);
        }
        Set<ObjectName> answer = new LinkedHashSet<>();
        for (ObjectName candidate : server.queryNames(name, null)) {
            if (matches(query, candidate)) {
                answer.add(candidate);
            }
        }
        return answer;
    }

    /**
     * A query's attribute comparisons evaluated through this forwarder, not the MBean server behind it:
     * a withheld attribute then reads as null instead of answering "does the password start with a?".
     */
    private boolean matches(QueryExp query, ObjectName candidate) {
        MBeanServer previous = QueryEval.getMBeanServer();
        query.setMBeanServer(this);
        try {
            return query.apply(candidate);
        } catch (Exception e) {
            return false;
        } finally {
            query.setMBeanServer(previous);
        }
    }

    @Override
    public boolean isRegistered(ObjectName name) {
        return server.isRegistered(name);
    }

    @Override
    public boolean isInstanceOf(ObjectName name, String className) throws InstanceNotFoundException {
        return server.isInstanceOf(name, className);
    }

    @Override
    public Integer getMBeanCount() {
        login();
        return server.getMBeanCount();
    }

    @Override
    public String getDefaultDomain() {
        login();
        return server.getDefaultDomain();
    }

    @Override
    public String[] getDomains() {
        login();
        return server.getDomains();
    }

    // ---- changing ------------------------------------------------------------------------------------

    @Override
    public void setAttribute(ObjectName name, Attribute attribute) throws InstanceNotFoundException,
            AttributeNotFoundException, InvalidAttributeValueException, MBeanException, ReflectionException {
        Caller caller = login();
        if (!policy.mayWrite(caller.role(), name, attribute.getName())) {
            throw refused(caller, "set " + attribute.getName(), name);
        }
        LOG.info("Remote JMX: {} sets {} of {}", caller, shown(attribute.getName()), name);
        try {
            server.setAttribute(name, attribute);
        } catch (MBeanException | ReflectionException | RuntimeException e) {
            withholdIfRevealing(e, "setting " + attribute.getName() + " of " + name);
            throw e;
        }
    }

    @Override
    public AttributeList setAttributes(ObjectName name, AttributeList attributes) throws InstanceNotFoundException, ReflectionException {
        Caller caller = login();
        for (Attribute attribute : attributes.asList()) {
            if (!policy.mayWrite(caller.role(), name, attribute.getName())) {
                // all or nothing: a partly applied change is harder to reason about than a refusal
                throw refused(caller, "set " + attribute.getName(), name);
            }
        }
        LOG.info("Remote JMX: {} sets attributes of {}", caller, name);
        return server.setAttributes(name, attributes);
    }

    @Override
    public Object invoke(ObjectName name, String operation, Object[] params, String[] signature)
            throws InstanceNotFoundException, MBeanException, ReflectionException {
        Caller caller = login();
        if (!policy.mayInvoke(caller.role(), name, operation, signature)) {
            throw refused(caller, "invoke " + operation, name);
        }
        if (!name.equals(THREADING)) {
            // the route lifecycle and the loader's own operations: worth a line each, who did what
            LOG.info("Remote JMX: {} invokes {} on {}", caller, shown(operation), name);
        }
        Object value;
        try {
            value = server.invoke(name, operation, params, signature);
        } catch (MBeanException | ReflectionException | RuntimeException e) {
            withholdIfRevealing(e, operation + " on " + name);
            throw e;
        }
        Object answer = answer(value);
        if (answer == WITHHELD) {
            throw new SecurityException("Access denied: the answer of " + operation + " on " + name + " holds a password");
        }
        return answer;
    }

    @Override
    public ObjectInstance createMBean(String className, ObjectName name) throws ReflectionException,
            InstanceAlreadyExistsException, MBeanRegistrationException, MBeanException, NotCompliantMBeanException {
        throw refused(caller(), "create an MBean of " + className, name);
    }

    @Override
    public ObjectInstance createMBean(String className, ObjectName name, ObjectName loaderName) throws ReflectionException,
            InstanceAlreadyExistsException, MBeanRegistrationException, MBeanException, NotCompliantMBeanException,
            InstanceNotFoundException {
        throw refused(caller(), "create an MBean of " + className, name);
    }

    @Override
    public ObjectInstance createMBean(String className, ObjectName name, Object[] params, String[] signature)
            throws ReflectionException, InstanceAlreadyExistsException, MBeanRegistrationException, MBeanException,
            NotCompliantMBeanException {
        throw refused(caller(), "create an MBean of " + className, name);
    }

    @Override
    public ObjectInstance createMBean(String className, ObjectName name, ObjectName loaderName, Object[] params,
            String[] signature) throws ReflectionException, InstanceAlreadyExistsException, MBeanRegistrationException,
            MBeanException, NotCompliantMBeanException, InstanceNotFoundException {
        throw refused(caller(), "create an MBean of " + className, name);
    }

    @Override
    public ObjectInstance registerMBean(Object object, ObjectName name)
            throws InstanceAlreadyExistsException, MBeanRegistrationException, NotCompliantMBeanException {
        throw refused(caller(), "register an MBean", name);
    }

    @Override
    public void unregisterMBean(ObjectName name) throws InstanceNotFoundException, MBeanRegistrationException {
        throw refused(caller(), "unregister", name);
    }

    // ---- notifications -------------------------------------------------------------------------------

    @Override
    public void addNotificationListener(ObjectName name, NotificationListener listener, NotificationFilter filter,
            Object handback) throws InstanceNotFoundException {
        // the connector's notification buffer subscribes without a Subject, to every broadcaster, and hands
        // clients what they asked for; the check below only holds for a connector that calls with one
        Caller caller = caller();
        if (caller != null && !policy.mayListen(caller.role(), name)) {
            throw refused(caller, "listen to", name);
        }
        server.addNotificationListener(name, listener, filter, handback);
    }

    /** An MBean as listener: the broadcaster would call into it, so no remote user may wire two MBeans together. */
    @Override
    public void addNotificationListener(ObjectName name, ObjectName listener, NotificationFilter filter, Object handback) {
        throw refused(caller(), "add the MBean listener " + listener, name);
    }

    @Override
    public void removeNotificationListener(ObjectName name, ObjectName listener) {
        throw refused(caller(), "remove the MBean listener " + listener, name);
    }

    @Override
    public void removeNotificationListener(ObjectName name, ObjectName listener, NotificationFilter filter, Object handback) {
        throw refused(caller(), "remove the MBean listener " + listener, name);
    }

    @Override
    public void removeNotificationListener(ObjectName name, NotificationListener listener)
            throws InstanceNotFoundException, ListenerNotFoundException {
        server.removeNotificationListener(name, listener);
    }

    @Override
    public void removeNotificationListener(ObjectName name, NotificationListener listener, NotificationFilter filter,
            Object handback) throws InstanceNotFoundException, ListenerNotFoundException {
        server.removeNotificationListener(name, listener, filter, handback);
    }

    // ---- class loading: used by the connector to deserialize parameters; not reachable by clients -------

    @Override
    public ClassLoader getClassLoaderFor(ObjectName mbeanName) throws InstanceNotFoundException {
        return server.getClassLoaderFor(mbeanName);
    }

    @Override
    public ClassLoader getClassLoader(ObjectName loaderName) throws InstanceNotFoundException {
        return server.getClassLoader(loaderName);
    }

    @Override
    public ClassLoaderRepository getClassLoaderRepository() {
        return server.getClassLoaderRepository();
    }

    @Override
    public Object instantiate(String className) {
        throw refused(caller(), "instantiate " + className, null);
    }

    @Override
    public Object instantiate(String className, ObjectName loaderName) {
        throw refused(caller(), "instantiate " + className, loaderName);
    }

    @Override
    public Object instantiate(String className, Object[] params, String[] signature) {
        throw refused(caller(), "instantiate " + className, null);
    }

    @Override
    public Object instantiate(String className, ObjectName loaderName, Object[] params, String[] signature) {
        throw refused(caller(), "instantiate " + className, loaderName);
    }

    @Override
    @Deprecated
    public ObjectInputStream deserialize(ObjectName name, byte[] data) {
        throw refused(caller(), "deserialize with the class loader of", name);
    }

    @Override
    @Deprecated
    public ObjectInputStream deserialize(String className, byte[] data) {
        throw refused(caller(), "deserialize " + className, null);
    }

    @Override
    @Deprecated
    public ObjectInputStream deserialize(String className, ObjectName loaderName, byte[] data) {
        throw refused(caller(), "deserialize " + className, loaderName);
    }

    // ---- callers, refusals, secrets ------------------------------------------------------------------

    /** The caller, or a refusal: every method a client can reach needs a login. */
    private Caller login() {
        Caller caller = caller();
        if (caller == null) {
            throw new SecurityException("Access denied: no authenticated JMX user");
        }
        return caller;
    }

    /** The authenticated caller of this call; null for the connector's own calls. */
    private static Caller caller() {
        Subject subject = currentSubject();
        if (subject == null) {
            return null;
        }
        Set<JmxRole> roles = subject.getPrincipals(JmxRole.class);
        Set<JMXPrincipal> users = subject.getPrincipals(JMXPrincipal.class);
        if (roles.size() != 1 || users.size() != 1) {
            // not a Subject JmxLogins made: no rights at all
            throw new SecurityException("Access denied: unknown JMX login");
        }
        return new Caller(users.iterator().next().getName(), roles.iterator().next());
    }

    private SecurityException refused(Caller caller, String action, ObjectName name) {
        String shown = shown(action) + (name == null ? "" : " on " + name);
        if (caller == null) {
            return new SecurityException("Access denied: no authenticated JMX user may " + shown);
        }
        LOG.warn("Remote JMX: refused to let {} {}", caller, shown);
        return new SecurityException("Access denied: the " + caller.role().getName() + " JMX user may not " + shown);
    }

    /** Operation, attribute and class names are the client's text: no forged log lines, no pasted password. */
    private String shown(String clientText) {
        return mask.apply(String.valueOf(clientText)).replaceAll("\\p{Cntrl}", "?");
    }

    /** The value with passwords masked in text, or {@link #WITHHELD} when a structured value shows one. */
    private Object answer(Object value) {
        if (value instanceof String text) {
            return mask.apply(text);
        }
        if (value instanceof String[] texts) {
            return Arrays.stream(texts).map(t -> t == null ? null : mask.apply(t)).toArray(String[]::new);
        }
        if (value == null) {
            return null;
        }
        // CompositeData and TabularData print their contents: a password anywhere in them shows there
        String text = value instanceof Object[] array ? Arrays.deepToString(array) : String.valueOf(value);
        return reveals(text) ? WITHHELD : value;
    }

    /**
     * Throws an exception without message and cause instead of one whose chain quotes a password: JMX
     * sends the whole chain to the client.
     */
    private void withholdIfRevealing(Exception e, String what) throws MBeanException {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (reveals(String.valueOf(t))) {
                LOG.warn("Remote JMX: {} failed: {}", what, mask.apply(String.valueOf(t)));
                throw new MBeanException(null, what + " failed; the message quoted a password (see the loader's log, masked)");
            }
        }
    }

    private boolean reveals(String text) {
        return !mask.apply(text).equals(text);
    }

    @SuppressWarnings("removal")
    private static Subject currentSubject() {
        if (CURRENT_SUBJECT != null) {
            try {
                return (Subject) CURRENT_SUBJECT.invokeExact();
            } catch (Throwable e) {
                throw new SecurityException("Access denied: the caller's Subject cannot be determined", e);
            }
        }
        // Java 17: the connector runs each call in Subject.doAs, which leaves the Subject in the access control context
        return Subject.getSubject(AccessController.getContext());
    }

    private static ObjectName threading() {
        try {
            return new ObjectName(ManagementFactory.THREAD_MXBEAN_NAME);
        } catch (MalformedObjectNameException e) {
            throw new IllegalStateException(e);
        }
    }

    private static MethodHandle currentSubjectHandle() {
        try {
            return MethodHandles.publicLookup().findStatic(Subject.class, "current", MethodType.methodType(Subject.class));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            return null;
        }
    }
}
