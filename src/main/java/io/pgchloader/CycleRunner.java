package io.pgchloader;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.cycle.TableSync;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.Consumer;
import org.apache.camel.Exchange;
import org.apache.camel.Route;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.RouteDefinition;

/**
 * Runs one cycle of table routes on demand, through the route's own consumer, exactly as a Quartz fire
 * would: same steps, same error handling. Used by {@code --once} and the demo.
 */
public final class CycleRunner {

    public static final String TEMPLATE_ID = "pg-to-clickhouse";

    private final CamelContext context;
    private final SyncStatus status;

    CycleRunner(CamelContext context, SyncStatus status) {
        this.context = context;
        this.status = status;
    }

    /**
     * Ids of the enabled routes made from the pg-to-clickhouse template (Camel records only that a route
     * came from a template, so they are recognised by the template's Quartz group), in definition order.
     */
    public List<String> routeIds() {
        return tableRouteIds(true);
    }

    /** Ids of the table routes whose templatedRoute says {@code enabled: false}: kept out of every mode. */
    public List<String> disabledRouteIds() {
        return tableRouteIds(false);
    }

    private List<String> tableRouteIds(boolean enabled) {
        return context.getRoutes().stream()
                .filter(CycleRunner::isTableRoute)
                .map(Route::getRouteId)
                .filter(id -> !"false".equals(String.valueOf(parameters(id).get("enabled"))) == enabled)
                .toList();
    }

    /** A table route's template parameters, the template's defaults included. */
    public Map<String, Object> parameters(String routeId) {
        RouteDefinition definition = ((ModelCamelContext) context).getRouteDefinition(routeId);
        return definition == null || definition.getTemplateParameters() == null ? Map.of() : definition.getTemplateParameters();
    }

    /** Whether the route is a table's, made from the pg-to-clickhouse template. */
    public static boolean isTableRoute(Route route) {
        return route.isCreatedByRouteTemplate()
                && route.getEndpoint().getEndpointUri().startsWith("quartz://" + TEMPLATE_ID + "/");
    }

    /** One cycle of every table, one after another; true when all succeeded. */
    public boolean runAll() {
        boolean ok = true;
        for (String routeId : routeIds()) {
            ok &= run(routeId).succeeded();
        }
        return ok;
    }

    /**
     * The table routes a name stands for: the route with that id, else the routes of that table
     * ({@code schema.table}, or {@code table} in any schema); every table route for null.
     */
    public List<String> routeIds(String name) {
        if (name == null) {
            return routeIds();
        }
        if (routeIds().contains(name)) {
            return List.of(name);
        }
        return routeIds().stream().filter(id -> {
            Map<String, Object> p = ((ModelCamelContext) context).getRouteDefinition(id).getTemplateParameters();
            String table = String.valueOf(p.get("table"));
            Object schema = p.getOrDefault("schema", "public");
            return name.equals(table) || name.equals(schema + "." + table);
        }).toList();
    }

    /** One cycle of one table route that reconciles it whatever reconcileCron says (see TableSync). */
    public SyncStatus.Outcome repair(String routeId, boolean force) {
        return run(routeId, force ? TableSync.REPAIR_FORCED : TableSync.REPAIR);
    }

    /** One cycle of one table route, waiting for it to finish. */
    public SyncStatus.Outcome run(String routeId) {
        return run(routeId, null);
    }

    private SyncStatus.Outcome run(String routeId, String repairRequest) {
        Route route = context.getRoute(routeId);
        if (route == null) {
            throw new IllegalArgumentException("no route " + routeId);
        }
        status.clear(routeId);
        Consumer consumer = route.getConsumer();
        Exchange exchange = consumer.createExchange(false);
        if (repairRequest != null) {
            exchange.setVariable(TableSync.REPAIR_REQUEST, repairRequest);
        }
        try {
            consumer.getProcessor().process(exchange);
        } catch (Exception e) {
            exchange.setException(e);
        } finally {
            consumer.releaseExchange(exchange, false);
        }
        SyncStatus.Outcome outcome = status.last(routeId);
        if (outcome == null) {
            Exception e = exchange.getException();
            outcome = new SyncStatus.Outcome(routeId, false,
                    "cycle ended without a result" + (e == null ? "" : ": " + LoaderApplication.rootMessage(e)),
                    0, 0, 0, Instant.now());
            status.record(outcome);
        }
        return outcome;
    }
}
