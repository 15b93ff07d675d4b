package io.pgchloader;

import com.zaxxer.hikari.HikariDataSource;
import io.pgchloader.cdc.CdcStream;
import io.pgchloader.clickhouse.ClickHouseCluster;
import io.pgchloader.clickhouse.ClickHouseRowBinding;
import io.pgchloader.clickhouse.ClickHouseSink;
import io.pgchloader.clickhouse.PgToClickHouse;
import io.pgchloader.common.DeleteGuard;
import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.GlobTargetNames;
import io.pgchloader.config.RouteFiles;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import io.pgchloader.cycle.CopyStreamSteps;
import io.pgchloader.cycle.CycleObserver;
import io.pgchloader.cycle.CyclePlan;
import io.pgchloader.cycle.RetryPolicy;
import io.pgchloader.cycle.SyncEnvironment;
import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.jmx.CdcTableMBeans;
import io.pgchloader.jmx.RemoteJmx;
import io.pgchloader.jmx.TableSyncMBeans;
import io.pgchloader.ops.HighAvailability;
import io.pgchloader.ops.Observability;
import io.pgchloader.postgres.OpenTransactions;
import io.pgchloader.postgres.SourceRowMapperFactory;
import io.pgchloader.postgres.StreamWindowBinding;
import io.pgchloader.verify.TableRepair;
import io.pgchloader.jmx.WithoutProducerMBeans;
import io.pgchloader.postgres.WriteHorizon;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.ManagementMBeansLevel;
import org.apache.camel.component.quartz.QuartzComponent;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.quartz.SchedulerException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loader as a camel-main application: both pools and the shared beans in the registry, the YAML
 * routes from {@code ROUTES_DIR}. Runs the Quartz schedule, or (with the scheduler held) lets the caller
 * run cycles on demand, which is how {@code --once} and the demo drive the very same routes.
 */
public final class LoaderApplication implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");

    private final Settings settings;
    private final boolean scheduled;
    private final SyncStatus status = new SyncStatus();
    private final Main main = new Main();
    private HikariDataSource postgres;
    private HikariDataSource clickHouse;
    private CdcStream cdc;
    private boolean routeMBeans = true;
    private DatabaseProbes probes;

    /**
     * @param scheduled true to let Quartz fire the cycles, false to run them only through {@link #cycles()}
     */
    public LoaderApplication(Settings settings, boolean scheduled) {
        this.settings = settings;
        this.scheduled = scheduled;
    }

    /**
     * Leaves out Camel's own MBeans (context, routes, components), for the commands that run for seconds
     * and exit: nobody stops or starts their routes over JMX, and camel-management's start cost about
     * 0.4 s of CPU per run, which a cron line pays every time. The loader's TableSync and CdcTable MBeans
     * stay (they live on the platform MBean server), so a long {@code --once} backfill can still be watched.
     */
    public LoaderApplication withoutRouteMBeans() {
        routeMBeans = false;
        return this;
    }

    /** @param quartzStarts whether Quartz fires as soon as Camel runs (else the caller starts it, or never) */
    private void configure(boolean quartzStarts) {
        List<RouteFiles.TemplatedRoute> tableRoutes = RouteFiles.check(Path.of(settings.get(Setting.ROUTES_DIR)));
        // a parallel backfill holds a connection on each side per key range in flight
        int rangesBeyondFirst = 0;
        for (RouteFiles.TemplatedRoute route : tableRoutes) {
            rangesBeyondFirst += Math.max(0, RouteFiles.backfillParallelism(route.parameters().getOrDefault("backfillParallelism", "1")) - 1);
        }
        postgres = DataSources.postgres(settings, DataSources.POOL_SIZE + rangesBeyondFirst);
        clickHouse = DataSources.clickHouse(settings, DataSources.POOL_SIZE + rangesBeyondFirst);
        probes = DatabaseProbes.start(postgres, clickHouse);
        GlobTargetNames.check(tableRoutes, clickHouse, settings.get(Setting.CLICKHOUSE_DB));
        // camel-main hands every EventNotifier bean the context's events
        StartupProgress progress = new StartupProgress(tableRoutes.size());
        main.bind("startupProgress", progress);
        // crontab's five fields as well as Quartz's (the component is looked up by this name)
        main.bind("quartz", new LoaderQuartzComponent());
        main.bind("postgres", postgres);
        main.bind("clickhouse", clickHouse);
        main.bind("sourceRows", new SourceRowMapperFactory(PgToClickHouse::readerFor));
        main.bind("clickHouseSink", new ClickHouseSink(clickHouse));
        main.bind("clickHouseRowBinding", new ClickHouseRowBinding());
        main.bind("streamWindowBinding", new StreamWindowBinding());
        main.bind("copyStream", new CopyStreamSteps());
        main.bind("retryPolicy", new RetryPolicy(settings.getInt(Setting.RETRY_MAX_ATTEMPTS)));
        Duration lookback = Duration.ofSeconds(settings.getInt(Setting.SYNC_LOOKBACK_SECONDS));
        SyncEnvironment environment = new SyncEnvironment(postgres, clickHouse, settings.get(Setting.CLICKHOUSE_DB),
                ZoneId.of(settings.get(Setting.POSTGRES_TIMEZONE)), lookback,
                Duration.ofSeconds(settings.getInt(Setting.PROGRESS_SECONDS)), status,
                new OpenTransactions(postgres, lookback, Duration.ofMillis(settings.getInt(Setting.SYNC_SETTLE_MS))),
                settings.get(Setting.CLICKHOUSE_CLUSTER).isBlank() ? null : new ClickHouseCluster(settings.get(Setting.CLICKHOUSE_CLUSTER),
                        clickHouse, settings.getInt(Setting.CLICKHOUSE_PORT), settings.get(Setting.CLICKHOUSE_USER),
                        settings.get(Setting.CLICKHOUSE_PASSWORD)));
        main.bind("syncEnvironment", environment);
        cdc = cdcStream();
        main.bind("cdcStream", cdc);
        // reconcileCron and --repair: the comparison --verify makes, narrowed down and mended
        main.bind("reconciler", new TableRepair(environment));
        // per-table sync state as JMX MBeans beside Camel's route MBeans (local JMX in every mode)
        main.bind("tableSyncMBeans", new TableSyncMBeans(status, settings::mask));
        if (!cdc.isEmpty()) {
            main.bind("cdcTableMBeans", new CdcTableMBeans(cdc, settings::mask));
        }
        if (scheduled) {
            // only a loader that keeps running is worth probing and scraping, or sharing tables with others
            Observability.install(main, settings, postgres, clickHouse, status, cdc);
            HighAvailability.install(main, settings);
        }

        Path routes = Path.of(settings.get(Setting.ROUTES_DIR)).toAbsolutePath().normalize();
        main.configure().withName("pg-ch-loader")
                .withRoutesIncludePattern("file:" + routes + "/*.yaml")
                .withJmxEnabled(routeMBeans)
                // the context and the routes only: an MBean for every processor of every table route (24 per route)
                // took 0.7 MB of heap per table and most of the start-up time
                .withJmxManagementMBeansLevel(ManagementMBeansLevel.RoutesOnly)
                .withShutdownTimeout(30)
                .withDumpRoutes(null);
        main.addInitialProperty("loader.postgres.fetchSize", settings.get(Setting.PG_FETCH_SIZE));
        main.addInitialProperty("loader.retry.initialDelayMs", settings.get(Setting.RETRY_INITIAL_DELAY_MS));
        main.addInitialProperty("loader.retry.maxDelayMs", settings.get(Setting.RETRY_MAX_DELAY_MS));
        main.addInitialProperty("camel.component.quartz.autoStartScheduler", Boolean.toString(quartzStarts));
        main.addInitialProperty("camel.component.quartz.propertiesFile", "classpath:io/pgchloader/quartz.properties");
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void beforeConfigure(BaseMainSupport camelMain) {
                TriggerNames.install(camelMain.getCamelContext(), progress::routeDefined);
                progress.begin();
            }

            @Override
            public void afterConfigure(BaseMainSupport camelMain) {
                camelMain.getCamelContext().getManagementStrategy().setManagementObjectStrategy(new WithoutProducerMBeans());
            }
        });
    }

    /**
     * The CDC tables' shared stream, prepared before Camel starts: wal_level, privileges, publication and
     * targets are checked (and created) here, so a configuration error stops the loader with exit code 2.
     */
    private CdcStream cdcStream() {
        CdcStream stream = new CdcStream(replication -> DataSources.postgresConnection(settings, replication), postgres,
                clickHouse, new CdcApplyRoute(this::camelContext), settings.get(Setting.CLICKHOUSE_DB), settings.get(Setting.CDC_SLOT),
                settings.get(Setting.CDC_PUBLICATION), settings.getInt(Setting.CDC_HEARTBEAT_SECONDS) * 1000L,
                settings.getInt(Setting.CDC_MAX_RETAINED_WAL_MB) * 1024L * 1024L);
        stream.allowContinuous(scheduled);
        for (Map<String, String> route : RouteFiles.templatedRoutes(Path.of(settings.get(Setting.ROUTES_DIR)), CDC_TEMPLATE_ID)) {
            stream.add(route.get("routeId"), route.get("schema"), route.get("table"), route.get("targetTable"),
                    route.get("primaryKey"), positive(route, "batchSize"), positive(route, "insertRows"),
                    // checked with the routes files (RouteFiles)
                    DeleteGuard.fraction(route.get("routeId"), route.get("maxDeleteFraction")));
        }
        if (!stream.isEmpty()) {
            try {
                stream.prepare();
            } catch (SQLException e) {
                throw new ConfigurationException("the CDC tables cannot be prepared: " + rootMessage(e));
            }
        }
        return stream;
    }

    /** The route template of the CDC tables. */
    static final String CDC_TEMPLATE_ID = "pg-cdc-to-clickhouse";

    private static int positive(Map<String, String> route, String name) {
        try {
            int value = Integer.parseInt(route.get(name));
            if (value > 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ConfigurationException("route " + route.get("routeId") + ": parameter " + name + " must be a positive"
                + " whole number, not '" + route.get(name) + "'.");
    }

    /** Whether any table is synced by CDC. */
    public boolean hasCdcTables() {
        return cdc != null && !cdc.isEmpty();
    }

    /**
     * {@code --once} for the CDC tables: the slot's changes up to the WAL position current now, applied and
     * confirmed. False when a table stopped (its line is logged): the others' changes were applied.
     */
    public boolean runCdcOnce() throws SQLException {
        if (hasCdcTables()) {
            cdc.run(true);
            return cdc.everyTableApplied();
        }
        return true;
    }

    public CdcStream cdc() {
        return cdc;
    }

    /**
     * Runs the schedule until the JVM is asked to stop (SIGTERM, Ctrl-C), once the start-up checks passed:
     * Quartz is held until then, so a table that cannot be synced stops the loader before anything is written.
     *
     * @return READY after a stop, else what the failed start-up check found
     */
    public StartupCheck.Outcome runScheduled() throws Exception {
        configure(false);
        StartupCheck.Outcome[] outcome = {StartupCheck.Outcome.READY};
        long[] cycles = new long[2];
        main.bind("cycleCount", (CycleObserver) (routeId, table, succeeded, took, cycle) -> {
            synchronized (cycles) {
                cycles[0]++;
                if (!succeeded) {
                    cycles[1]++;
                }
            }
        });
        Instant started = Instant.now();
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterStart(BaseMainSupport camelMain) {
                outcome[0] = checkAtStart(true);
                if (outcome[0] != StartupCheck.Outcome.READY) {
                    main.completed();
                    return;
                }
                try {
                    camelContext().getComponent("quartz", QuartzComponent.class).getScheduler().start();
                } catch (SchedulerException e) {
                    throw new IllegalStateException("cannot start the schedule: " + e.getMessage(), e);
                }
                LOG.info("Running {} table(s) on their schedules until stopped (SIGTERM or Ctrl-C)", cycles().routeIds().size());
            }

            @Override
            public void afterStop(BaseMainSupport camelMain) {
                if (outcome[0] == StartupCheck.Outcome.READY) {
                    synchronized (cycles) {
                        LOG.info("Stopped after {}: {} cycle(s) ran, {} failed", Duration.between(started, Instant.now())
                                .truncatedTo(ChronoUnit.SECONDS).toString().substring(2).toLowerCase(), cycles[0], cycles[1]);
                    }
                }
            }
        });
        // remote JMX only for the loader that keeps running, and only when JMX_PORT is set
        try (RemoteJmx jmx = RemoteJmx.startIfConfigured(settings)) {
            main.run();
        }
        return outcome[0];
    }

    /** Starts Camel with the routes but without firing them; see {@link #cycles()}. */
    public void start() {
        configure(scheduled);
        try {
            main.start();
        } catch (Exception e) {
            throw new ConfigurationException("the routes in " + settings.get(Setting.ROUTES_DIR)
                    + " could not be started: " + rootMessage(e));
        }
        if (hasCdcTables() && camelContext().getRoute(CdcApplyRoute.ROUTE_ID) == null) {
            throw new ConfigurationException("the CDC tables write through route " + CdcApplyRoute.ROUTE_ID + ", which "
                    + settings.get(Setting.ROUTES_DIR) + " lacks: copy pg-cdc-to-clickhouse.yaml from this release's routes/.");
        }
        loaded();
    }

    private void loaded() {
        List<String> tables = cycles().routeIds();
        List<String> disabled = cycles().disabledRouteIds();
        if (tables.isEmpty() && disabled.isEmpty() && !hasCdcTables()) {
            throw new ConfigurationException("no templatedRoute of pg-to-clickhouse found in "
                    + settings.get(Setting.ROUTES_DIR) + ": add one per table (see README).");
        }
        // thousands of ids would make one line of hundreds of kilobytes
        if (!tables.isEmpty() || !disabled.isEmpty() || !hasCdcTables()) {
            LOG.info("Loaded {} table route(s): {}{}", tables.size(), tables.size() <= 20 ? String.join(", ", tables)
                    : String.join(", ", tables.subList(0, 20)) + " and " + (tables.size() - 20) + " more",
                    disabled.isEmpty() ? "" : " (disabled: " + String.join(", ", disabled) + ")");
        }
        if (hasCdcTables()) {
            LOG.info("Loaded {} CDC table route(s): {}", cdc.routeIds().size(), String.join(", ", cdc.routeIds()));
        }
    }

    /** The start-up checks of every mode that writes, logged (see {@link StartupCheck}). */
    public StartupCheck.Outcome checkAtStart(boolean scheduledRun) {
        if (scheduledRun) {
            loaded();
        }
        return startupCheck().run(scheduledRun, true).outcome();
    }

    /**
     * Only the logins: {@code --verify} writes nothing, so a target the cycle would refuse is still worth
     * judging (the comparison names what cannot be compared, table by table).
     */
    public StartupCheck.Outcome checkLogins() {
        return startupCheck().run(false, false).outcome();
    }

    /**
     * {@code --plan}: the start-up checks, then what the next cycle of each table that passed would do (see
     * {@link CyclePlan}); nothing is written anywhere.
     */
    public StartupCheck.Outcome plan() throws SQLException {
        StartupCheck.Result checked = startupCheck().run(false, true);
        if (checked.tables().isEmpty()) {
            return checked.outcome();
        }
        WriteHorizon horizon = camelContext().getRegistry().findSingleByType(SyncEnvironment.class).openTransactions().horizon();
        for (StartupCheck.Table table : checked.tables()) {
            for (String line : CyclePlan.of(table.sync(), table.shape(), horizon)) {
                LOG.info("{}: next cycle: {}", table.routeId(), line);
            }
        }
        LOG.info(CyclePlan.horizon(horizon));
        LOG.info("Plan: {} of {} table(s) can run{}; nothing was written", checked.tables().size(), cycles().routeIds().size(),
                checked.outcome() == StartupCheck.Outcome.READY ? "" : " (see the errors above)");
        return checked.outcome();
    }

    StartupCheck startupCheck() {
        return new StartupCheck(settings, probes, camelContext(), cycles());
    }

    public CycleRunner cycles() {
        return new CycleRunner(camelContext(), status);
    }

    public CamelContext camelContext() {
        return main.getCamelContext();
    }

    public SyncStatus status() {
        return status;
    }

    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    @Override
    public void close() {
        if (cdc != null) {
            cdc.stop();
        }
        try {
            main.stop();
        } catch (Exception e) {
            LOG.warn("Stopping Camel: {}", e.getMessage());
        }
        if (postgres != null) {
            postgres.close();
        }
        if (clickHouse != null) {
            clickHouse.close();
        }
    }
}
