package io.pgchloader.ops;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgchloader.cdc.CdcStream;
import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import io.pgchloader.cycle.SyncStatus;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.apache.camel.CamelContext;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.apache.camel.main.Main;
import org.apache.camel.support.LifecycleStrategySupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Health and metrics over HTTP, on {@code HTTP_PORT}, through Camel's own management server
 * (camel-platform-http-main on Vert.x), health check registry (camel-health) and Prometheus registry
 * (camel-micrometer-prometheus):
 *
 * <ul>
 *   <li>{@code GET /observe/health/live}: 200 while the JVM and the Camel context run (Camel's
 *   {@code context} check), 503 otherwise. Deliberately nothing more: a database outage or a slow
 *   cycle is not cured by a restart.</li>
 *   <li>{@code GET /observe/health/ready}: 200 when both databases answer ({@link DatabaseHealthCheck}),
 *   the CDC stream, if any, lags no more than CDC_MAX_LAG_SECONDS ({@link CdcHealthCheck}),
 *   every route is started (Camel's {@code routes} checks; a table route held back by high
 *   availability counts as ready, its start being up to the cluster) and the context runs; 503 with
 *   the failing checks otherwise.</li>
 *   <li>{@code GET /observe/health}: both, with every check listed.</li>
 *   <li>{@code GET /observe/metrics}: Prometheus text format; the loader's own series are described in
 *   {@link SyncMetrics}, next to Camel's (camel_exchanges_*, ...) and the JVM's.</li>
 * </ul>
 *
 * Only while the loader runs its schedule: {@code --once} and {@code --demo} end too soon to be scraped.
 */
public final class Observability {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");

    public static final String HEALTH_PATH = "/observe/health";
    public static final String METRICS_PATH = "/observe/metrics";

    private Observability() {
    }

    /**
     * Prepares the HTTP server, the health checks and the metrics on the not yet started camel-main;
     * nothing when {@code HTTP_PORT} is 0.
     *
     * @throws ConfigurationException when {@code HTTP_PORT} is taken by another program
     */
    public static void install(Main main, Settings settings, HikariDataSource postgres, HikariDataSource clickHouse,
                               SyncStatus status, CdcStream cdc) {
        int port = settings.getInt(Setting.HTTP_PORT);
        if (port == 0) {
            return;
        }
        String host = settings.get(Setting.HTTP_HOST);
        requireFree(host, port);

        // camel-micrometer-prometheus takes the registry bound under this name instead of making its own
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        main.bind(MicrometerConstants.METRICS_REGISTRY_NAME, registry);
        main.bind("syncMetrics", new SyncMetrics(registry));
        if (cdc != null && !cdc.isEmpty()) {
            CdcMetrics.register(registry, cdc);
            main.bind("cdcHealthCheck", new CdcHealthCheck(cdc.status(), settings.getInt(Setting.CDC_MAX_LAG_SECONDS), settings::mask));
        }

        boolean full = settings.get(Setting.HEALTH_DETAILS).equals("full");
        DatabaseHealthCheck postgresCheck = DatabaseHealthCheck.postgres(full ? "PostgreSQL at "
                + settings.get(Setting.POSTGRES_HOST) + ":" + settings.get(Setting.POSTGRES_PORT) + ", database "
                + settings.get(Setting.POSTGRES_DB) + ", user " + settings.get(Setting.POSTGRES_USER) : null, postgres);
        DatabaseHealthCheck clickHouseCheck = DatabaseHealthCheck.clickHouse(full ? "ClickHouse at "
                        + settings.get(Setting.CLICKHOUSE_HOST) + ":" + settings.get(Setting.CLICKHOUSE_PORT) + ", database "
                        + settings.get(Setting.CLICKHOUSE_DB) + ", user " + settings.get(Setting.CLICKHOUSE_USER) : null,
                settings.get(Setting.CLICKHOUSE_HOST), settings.getInt(Setting.CLICKHOUSE_PORT),
                settings.get(Setting.CLICKHOUSE_DB), settings.get(Setting.CLICKHOUSE_USER),
                settings.get(Setting.CLICKHOUSE_PASSWORD));
        if (full) {
            // also a CycleObserver: TableSync tells it how every cycle ended
            main.bind("cyclesHealthCheck", new CycleHealthCheck(status, settings::mask));
        }
        // Camel's health check registry picks up every HealthCheck bean ("registry" repository)
        main.bind("postgresqlHealthCheck", postgresCheck);
        main.bind("clickhouseHealthCheck", clickHouseCheck);
        main.bind("healthCheckPools", new LifecycleStrategySupport() {
            @Override
            public void onContextStopped(CamelContext context) {
                try {
                    postgresCheck.close();
                    clickHouseCheck.close();
                } catch (Exception e) {
                    LOG.warn("Closing the health checks' connections: {}", e.getMessage());
                }
            }
        });

        main.addInitialProperty("camel.management.enabled", "true");
        main.addInitialProperty("camel.management.host", host);
        main.addInitialProperty("camel.management.port", Integer.toString(port));
        main.addInitialProperty("camel.management.healthCheckEnabled", "true");
        main.addInitialProperty("camel.management.healthPath", HEALTH_PATH);
        main.addInitialProperty("camel.management.metricsEnabled", "true");
        main.addInitialProperty("camel.health.enabled", "true");
        // none: a DOWN answer names the failing checks, UP answers stay short; full: every check with its details
        main.addInitialProperty("camel.health.exposureLevel", full ? "full" : "default");
        main.addInitialProperty("camel.metrics.enabled", "true");
        main.addInitialProperty("camel.metrics.path", METRICS_PATH);
        main.addInitialProperty("camel.metrics.binders", "jvm-memory,jvm-gc,jvm-thread,processor,uptime");
        LOG.info("Health on http://{}:{}{}/ready and /live, metrics on http://{}:{}{}", host, port, HEALTH_PATH,
                host, port, METRICS_PATH);
    }

    /** A taken port is a configuration error, said in one line before anything starts. */
    private static void requireFree(String host, int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(host, port));
        } catch (IOException e) {
            throw new ConfigurationException("HTTP_PORT " + port + " on HTTP_HOST " + host + " cannot be used (" + e.getMessage()
                    + "): another program listens there, or the address is not this machine's. Choose a free port, or 0 to"
                    + " turn health and metrics over HTTP off.");
        }
    }
}
