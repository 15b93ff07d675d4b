package io.pgchloader.jmx;

import io.pgchloader.CycleRunner;
import io.pgchloader.cycle.CycleObserver;
import io.pgchloader.cycle.SyncCycle;
import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.cycle.TableSync;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.StandardMBean;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.support.LifecycleStrategySupport;

/**
 * One {@link TableSyncMBean} per table route in the platform MBean server, next to Camel's own route
 * MBeans: registered when Camel adds the route, unregistered when it removes it or stops. Bound in the
 * registry, where camel-main picks it up as a lifecycle strategy, and where {@code TableSync} finds it as
 * a {@link CycleObserver} at the end of every cycle.
 */
public final class TableSyncMBeans extends LifecycleStrategySupport implements CycleObserver {

    public static final String DOMAIN = "io.pgchloader";


    private final SyncStatus status;
    private final UnaryOperator<String> mask;
    private final Clock clock;
    private final Map<String, TableSyncState> states = new ConcurrentHashMap<>();
    private final RouteMBeans mbeans = new RouteMBeans();

    /**
     * @param status where failed cycles leave their message
     * @param mask   removes secrets from a message before JMX shows it
     */
    public TableSyncMBeans(SyncStatus status, UnaryOperator<String> mask) {
        this(status, mask, Clock.systemUTC());
    }

    TableSyncMBeans(SyncStatus status, UnaryOperator<String> mask, Clock clock) {
        this.status = status;
        this.mask = mask;
        this.clock = clock;
    }

    /** The name of a table route's MBean, in the same context as Camel's route MBeans. */
    public static ObjectName objectName(CamelContext context, String routeId) {
        String contextName = context.getManagementName() != null ? context.getManagementName() : context.getName();
        try {
            return new ObjectName(DOMAIN + ":context=" + value(contextName) + ",type=TableSync,route=" + ObjectName.quote(routeId));
        } catch (JMException e) {
            throw new IllegalArgumentException("no valid JMX name for route " + routeId, e);
        }
    }

    /**
     * Whether a Camel route MBean ({@code org.apache.camel:context=…,type=routes,name="…"}) is a table
     * route's: one with a TableSync MBean beside it. Camel's internal routes (copy-stream) have none.
     */
    public static boolean isTableRoute(MBeanServer server, ObjectName camelRoute) {
        String context = camelRoute.getKeyProperty("context");
        String route = camelRoute.getKeyProperty("name");
        if (context == null || route == null) {
            return false;
        }
        try {
            for (ObjectName sync : server.queryNames(new ObjectName(DOMAIN + ":type=TableSync,*"), null)) {
                if (unquoted(route).equals(unquoted(sync.getKeyProperty("route")))
                        && unquoted(context).equals(unquoted(sync.getKeyProperty("context")))) {
                    return true;
                }
            }
        } catch (JMException e) {
            return false;
        }
        return false;
    }

    /** A key property value without its quotes; Camel and we quote only some values. */
    private static String unquoted(String value) {
        if (value == null) {
            return "";
        }
        return value.startsWith("\"") ? ObjectName.unquote(value) : value;
    }

    /** A key property value as is when it may stand unquoted, else quoted. */
    static String value(String text) {
        return text.matches("[^,=:\"*?\\n]+") ? text : ObjectName.quote(text);
    }

    @Override
    public void onRoutesAdd(Collection<Route> routes) {
        // called again when a stopped route is started: registering is idempotent
        for (Route route : routes) {
            if (CycleRunner.isTableRoute(route)) {
                register(route.getCamelContext(), route.getRouteId());
            }
        }
    }

    @Override
    public void onRoutesRemove(Collection<Route> routes) {
        for (Route route : routes) {
            mbeans.unregister(route.getRouteId());
        }
    }

    @Override
    public void onContextStopped(CamelContext context) {
        mbeans.unregisterAll();
    }

    @Override
    public void cycleEnded(String routeId, String table, boolean succeeded, Duration took, SyncCycle cycle) {
        String error = null;
        if (!succeeded) {
            SyncStatus.Outcome outcome = status.last(routeId);
            error = mask.apply(outcome == null ? "cycle failed" : outcome.message());
        }
        state(routeId, table).cycleEnded(table, succeeded, took, cycle, error);
    }

    /** What JMX shows for a route, or null before its route was added or a cycle ended. */
    public TableSyncMBean state(String routeId) {
        return states.get(routeId);
    }

    private TableSyncState state(String routeId, String table) {
        return states.computeIfAbsent(routeId, id -> new TableSyncState(table, clock));
    }

    private void register(CamelContext context, String routeId) {
        Map<String, Object> parameters = parameters(context, routeId);
        String table = parameters.getOrDefault("schema", "public") + "." + parameters.getOrDefault("table", "?");
        mbeans.register(routeId, objectName(context, routeId),
                () -> new StandardMBean(state(routeId, table), TableSyncMBean.class));
    }

    private static Map<String, Object> parameters(CamelContext context, String routeId) {
        if (!(context instanceof ModelCamelContext model)) {
            return Map.of();
        }
        var definition = model.getRouteDefinition(routeId);
        return definition == null || definition.getTemplateParameters() == null ? Map.of() : definition.getTemplateParameters();
    }

}
