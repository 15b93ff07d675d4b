package io.pgchloader;

import java.nio.charset.StandardCharsets;
import org.apache.camel.CamelContext;
import org.apache.camel.model.Model;
import org.apache.camel.model.ModelLifecycleStrategy;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.model.RouteTemplateDefinition;
import org.apache.camel.spi.NodeIdFactory;

/**
 * Gives every route made from the template its Quartz trigger name, {@code {{triggerName}}}, derived
 * from the route id. Built from table names, the endpoint URI would take a real table named
 * {@code q?a=b&c} for endpoint options (the loader stopped at start, and a name could set {@code cron} or
 * {@code stateful}). Route ids are unique in the context, so the trigger names are too.
 */
final class TriggerNames implements ModelLifecycleStrategy {

    /** The template parameter the route template's {@code from} URI names the trigger with. */
    static final String PARAMETER = "triggerName";

    private final CamelContext context;
    private final Runnable added;

    private TriggerNames(CamelContext context, Runnable added) {
        this.context = context;
        this.added = added;
    }

    /**
     * Before the routes are loaded: each templated route is given its trigger name as it is added.
     *
     * @param added told about each of them (start-up progress)
     */
    static void install(CamelContext context, Runnable added) {
        context.getCamelContextExtension().getContextPlugin(Model.class)
                .addModelLifecycleStrategy(new TriggerNames(context, added));
    }

    /**
     * The route id with everything but letters, digits, {@code .}, {@code _} and {@code -} written as
     * {@code ~} and the byte's two hex digits (so {@code ~} itself too): nothing a URI parser or Quartz
     * reads as syntax, and two ids never share a name.
     */
    static String of(String routeId) {
        StringBuilder name = new StringBuilder();
        for (byte b : routeId.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (c < 0x80 && (Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-')) {
                name.append(c);
            } else {
                name.append('~').append(String.format("%02X", b & 0xff));
            }
        }
        return name.toString();
    }

    @Override
    public void onAddRouteDefinition(RouteDefinition route) {
        if (route.getTemplateParameters() == null) {
            return;
        }
        String id = route.getRouteId() != null ? route.getRouteId()
                : route.idOrCreate(context.getCamelContextExtension().getContextPlugin(NodeIdFactory.class));
        route.getTemplateParameters().put(PARAMETER, of(id));
        added.run();
    }

    @Override
    public void onRemoveRouteDefinition(RouteDefinition route) {
    }

    @Override
    public void onAddRouteTemplateDefinition(RouteTemplateDefinition template) {
    }

    @Override
    public void onRemoveRouteTemplateDefinition(RouteTemplateDefinition template) {
    }
}
