package io.pgchloader.verify;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.pgchloader.CycleRunner;
import io.pgchloader.LoaderApplication;
import io.pgchloader.cdc.CdcStream;
import io.pgchloader.cycle.SyncEnvironment;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.sql.DataSource;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --verify}: compares every configured table between PostgreSQL and ClickHouse ({@code FINAL}),
 * one line per table and one per differing key range (see {@link TableCheck} for what is compared).
 * Exit code 0 when all tables are equal, 1 when any differs (or could not be compared because the loader
 * is far behind), 2 when a table's configuration or a database stopped the comparison.
 */
public final class Verifier {

    public static final int EQUAL = 0;
    public static final int DIFFERENT = 1;
    public static final int CANNOT_VERIFY = 2;

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.verify");
    /** Large enough for the keys ClickHouse is told to skip (TableCheck.PENDING_LIMIT of them). */
    private static final String MAX_QUERY_SIZE = Integer.toString(64 * 1024 * 1024);

    /** What a run printed, and its exit code. */
    public record Report(int exitCode, List<String> lines) {
    }

    private final CycleRunner tables;
    private final List<String> routeIds;
    private final SyncEnvironment env;
    private final CdcStream cdc;
    private final List<CdcStream.Target> cdcTables;
    private boolean mendCdc;
    private boolean forceCdc;

    private Verifier(CycleRunner tables, List<String> routeIds, SyncEnvironment env, CdcStream cdc, List<CdcStream.Target> cdcTables) {
        this.tables = tables;
        this.routeIds = routeIds;
        this.env = env;
        this.cdc = cdc;
        this.cdcTables = cdcTables;
    }

    /** For a started loader (scheduler held): its table routes, CDC tables included, pools and settings. */
    public static Verifier of(LoaderApplication app) {
        return of(app, app.cycles().routeIds(), app.hasCdcTables() ? app.cdc().targets() : List.of());
    }

    /** For some of the loader's table routes and CDC tables. */
    public static Verifier of(LoaderApplication app, List<String> routeIds, List<CdcStream.Target> cdcTables) {
        CamelContext context = app.camelContext();
        return new Verifier(app.cycles(), routeIds, context.getRegistry().findSingleByType(SyncEnvironment.class), app.cdc(),
                cdcTables);
    }

    /**
     * {@code --repair} of CDC tables: the comparison of {@link #run}, and what differs written at a version
     * between the changes before the comparison's WAL position and those after it ({@link CdcCheck}).
     */
    /** @param force whether past the delete guard (--repair --force) */
    public static Verifier repairingCdc(LoaderApplication app, List<CdcStream.Target> cdcTables, boolean force) {
        Verifier v = of(app, List.of(), cdcTables);
        v.mendCdc = true;
        v.forceCdc = force;
        return v;
    }

    public Report run() {
        List<String> lines = new ArrayList<>();
        say(lines, "Verifying " + (routeIds.size() + cdcTables.size()) + " table(s), PostgreSQL against ClickHouse FINAL: rows and a checksum of"
                + " every key, version (coalesce of the updated and created columns) and value per key range, for versions older"
                + " than both the write horizon and the newest version in ClickHouse; newer rows may not be synced yet and"
                + " are not compared.");
        int differing = 0;
        int failed = 0;
        ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "verify");
            t.setDaemon(true);
            return t;
        });
        try (HikariDataSource clickHouse = longQueries(env.clickHouse())) {
            for (CdcStream.Target target : cdcTables) {
                TableCheck.Status status = checkOne(lines, target.source().qualifiedName(), () -> new CdcCheck(cdc, target,
                        env.postgres(), clickHouse, env.clickHouseDatabase(), target.targetTable(), mendCdc, forceCdc).run());
                if (status == null) {
                    failed++;
                } else if (status != TableCheck.Status.OK) {
                    differing++;
                }
            }
            for (String routeId : routeIds) {
                VerifiedTable table = VerifiedTable.of(routeId, tables.parameters(routeId));
                TableCheck.Status status = checkOne(lines, table.qualifiedName(),
                        () -> new TableCheck(table, env, clickHouse, executor).run());
                if (status == null) {
                    failed++;
                } else if (status != TableCheck.Status.OK) {
                    differing++;
                }
            }
        } finally {
            executor.shutdownNow();
        }
        int tables = routeIds.size() + cdcTables.size();
        if (failed > 0) {
            error(lines, failed + " of " + tables + " table(s) could not be verified" + (differing > 0 ? ", " + differing + " differ" : "") + ".");
            return new Report(CANNOT_VERIFY, lines);
        }
        if (differing > 0) {
            warn(lines, differing + " of " + tables + " table(s) DIFFERENT.");
            return new Report(DIFFERENT, lines);
        }
        say(lines, "All " + tables + " table(s) equal.");
        return new Report(EQUAL, lines);
    }

    /** One table's comparison, as CDC and watermark tables are compared alike. */
    @FunctionalInterface
    private interface Check {
        TableCheck.Result run() throws SQLException;
    }

    /** Runs one table's comparison and writes its lines: its status, or null when it could not be compared. */
    private static TableCheck.Status checkOne(List<String> lines, String name, Check check) {
        try {
            TableCheck.Result result = check.run();
            if (result.status() == TableCheck.Status.OK) {
                say(lines, result.summary());
            } else {
                warn(lines, result.summary());
                result.details().forEach(line -> warn(lines, line));
            }
            return result.status();
        } catch (VerifyException e) {
            error(lines, name + ": cannot verify: " + e.getMessage());
        } catch (SQLException | RuntimeException e) {
            error(lines, name + ": cannot verify: " + root(e));
        }
        return null;
    }

    /**
     * A small pool like the loader's ClickHouse pool that accepts queries up to 64 MiB: the keys of rows
     * changed after the cutoff travel in the query (ClickHouse parses 256 KiB by default).
     */
    private static HikariDataSource longQueries(DataSource pool) {
        HikariConfig config = new HikariConfig();
        ((HikariDataSource) pool).copyStateTo(config);
        Properties properties = new Properties();
        properties.putAll(config.getDataSourceProperties());
        properties.setProperty("clickhouse_setting_max_query_size", MAX_QUERY_SIZE);
        config.setDataSourceProperties(properties);
        config.setPoolName("clickhouse-verify");
        config.setMaximumPoolSize(2);
        config.setMinimumIdle(0);
        return new HikariDataSource(config);
    }

    private static void say(List<String> lines, String line) {
        lines.add(line);
        LOG.info(line);
    }

    private static void warn(List<String> lines, String line) {
        lines.add(line);
        LOG.warn(line);
    }

    private static void error(List<String> lines, String line) {
        lines.add(line);
        LOG.error(line);
    }

    /** The deepest message of a cause chain. */
    private static String root(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }
}
