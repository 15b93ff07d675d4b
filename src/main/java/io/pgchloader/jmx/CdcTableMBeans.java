package io.pgchloader.jmx;

import io.pgchloader.cdc.CdcStatus;
import io.pgchloader.cdc.CdcStream;
import java.time.Instant;
import java.util.Collection;
import java.util.function.UnaryOperator;
import javax.management.JMException;
import javax.management.ObjectName;
import javax.management.StandardMBean;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.support.LifecycleStrategySupport;

/**
 * One {@link CdcTableMBean} per CDC table route, beside the {@code TableSync} MBeans in the loader's domain
 * (which {@link JmxAccessPolicy} lets both remote logins read): registered when Camel adds the route,
 * unregistered when it removes it or stops.
 */
public final class CdcTableMBeans extends LifecycleStrategySupport {


    private final CdcStream stream;
    private final UnaryOperator<String> mask;
    private final RouteMBeans mbeans = new RouteMBeans();

    /** @param mask removes configured secrets from a message a driver wrote */
    public CdcTableMBeans(CdcStream stream, UnaryOperator<String> mask) {
        this.stream = stream;
        this.mask = mask;
    }

    public static ObjectName objectName(CamelContext context, String routeId) {
        String contextName = context.getManagementName() != null ? context.getManagementName() : context.getName();
        try {
            return new ObjectName(TableSyncMBeans.DOMAIN + ":context=" + TableSyncMBeans.value(contextName)
                    + ",type=CdcTable,route=" + ObjectName.quote(routeId));
        } catch (JMException e) {
            throw new IllegalArgumentException("no valid JMX name for route " + routeId, e);
        }
    }

    @Override
    public void onRoutesAdd(Collection<Route> routes) {
        for (Route route : routes) {
            for (CdcStatus.Route cdc : stream.status().routes()) {
                if (cdc.routeId().equals(route.getRouteId())) {
                    register(route.getCamelContext(), cdc);
                }
            }
        }
    }

    @Override
    public void onRoutesRemove(Collection<Route> routes) {
        routes.forEach(r -> mbeans.unregister(r.getRouteId()));
    }

    @Override
    public void onContextStopped(CamelContext context) {
        mbeans.unregisterAll();
    }

    private void register(CamelContext context, CdcStatus.Route route) {
        mbeans.register(route.routeId(), objectName(context, route.routeId()),
                () -> new StandardMBean(new State(route), CdcTableMBean.class));
    }

    private final class State implements CdcTableMBean {

        private final CdcStatus.Route route;

        State(CdcStatus.Route route) {
            this.route = route;
        }

        private CdcStatus status() {
            return stream.status();
        }

        @Override
        public String getTable() {
            return route.table();
        }

        @Override
        public String getSlot() {
            return status().slot();
        }

        @Override
        public boolean isStreaming() {
            return status().streaming();
        }

        @Override
        public long getInsertsApplied() {
            return status().applied(route.routeId()).inserts();
        }

        @Override
        public long getUpdatesApplied() {
            return status().applied(route.routeId()).updates();
        }

        @Override
        public long getDeletesApplied() {
            return status().applied(route.routeId()).deletes();
        }

        @Override
        public double getLagSeconds() {
            return status().lagSeconds();
        }

        @Override
        public String getCaughtUpTo() {
            return status().caughtUpTo().toString();
        }

        @Override
        public long getLagBytes() {
            return status().lagBytes();
        }

        @Override
        public long getRetainedWalBytes() {
            return status().retainedWalBytes();
        }

        @Override
        public boolean isRetainedWalOverLimit() {
            return stream.retainedWalOverLimit();
        }

        @Override
        public String getConfirmedLsn() {
            return CdcStatus.lsn(status().confirmedLsn());
        }

        @Override
        public String getLastError() {
            String error = status().lastError();
            return error == null ? null : mask.apply(error);
        }

        @Override
        public String getLastErrorTime() {
            Instant at = status().lastErrorTime();
            return at == null ? null : at.toString();
        }

        @Override
        public String getStopped() {
            String reason = status().stopped(route.routeId());
            return reason == null ? null : mask.apply(reason);
        }
    }
}
