package io.pgchloader;

import io.pgchloader.common.LogText;
import io.pgchloader.common.SyncException;
import io.pgchloader.common.CronSchedule;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import io.pgchloader.cycle.TableSync;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every mode checks once Camel has loaded the routes and before any table is written: both logins,
 * then every enabled table against both catalogs (the very checks each cycle makes, see
 * {@link TableSync#describe()}), and the indexes its streams use. One line per table: its state, its
 * target and (scheduled) its schedule and next fire; a table with a problem is named with the fix.
 */
public final class StartupCheck {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");
    private static final DateTimeFormatter SHOWN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss xxx");

    /** How the check ended: every table can run, a database cannot be reached, or something must be fixed. */
    public enum Outcome { READY, UNREACHABLE, MISCONFIGURED }

    /** One table that passed: its sync (for the plan) and what the catalogs said. */
    record Table(String routeId, TableSync sync, TableSync.Shape shape) {
    }

    /** The outcome, and the tables that passed, in route order. */
    record Result(Outcome outcome, List<Table> tables) {
    }

    private final Settings settings;
    private final DatabaseProbes probes;
    private final CamelContext context;
    private final CycleRunner routes;

    StartupCheck(Settings settings, DatabaseProbes probes, CamelContext context, CycleRunner routes) {
        this.settings = settings;
        this.probes = probes;
        this.context = context;
        this.routes = routes;
    }

    /**
     * Checks and logs.
     *
     * @param scheduled whether the schedule is about to run (the lines then say when each table fires next)
     * @param tables    whether to check the tables too, or the logins only
     */
    Result run(boolean scheduled, boolean tables) {
        List<String> unreachable = new ArrayList<>();
        List<String> misconfigured = new ArrayList<>();
        databases(unreachable, misconfigured);
        if (!unreachable.isEmpty() || !misconfigured.isEmpty()) {
            misconfigured.forEach(LOG::error);
            unreachable.forEach(LOG::error);
            return new Result(misconfigured.isEmpty() ? Outcome.UNREACHABLE : Outcome.MISCONFIGURED, List.of());
        }
        if (!tables) {
            return new Result(Outcome.READY, List.of());
        }
        List<Table> ready = new ArrayList<>();
        int failed = 0;
        boolean lostDatabase = false;
        for (String routeId : routes.routeIds()) {
            Map<String, Object> parameters = routes.parameters(routeId);
            TableSync sync = TableSync.of(context, parameters);
            try {
                TableSync.Shape shape = sync.describe();
                // names are the user's: escaped, so a name cannot forge a log line
                sync.missingIndexes(shape.source()).forEach(line -> LOG.warn("{}: {}", LogText.escape(routeId), line));
                LOG.info("{}: {} -> {}, {}; {}", LogText.escape(routeId), LogText.escape(sync.sourceName()),
                        LogText.escape(shape.targetName()), target(shape), LogText.escape(schedule(parameters, scheduled)));
                ready.add(new Table(routeId, sync, shape));
            } catch (SyncException e) {
                failed++;
                LOG.error("{}: cannot be synced: {} (or set the templatedRoute parameter enabled to false to run the other"
                        + " tables without it)", LogText.escape(routeId), LogText.escape(e.getMessage()));
            } catch (SQLException | RuntimeException e) {
                failed++;
                lostDatabase = true;
                LOG.error("{}: cannot be checked: {}", LogText.escape(routeId), LogText.escape(LoaderApplication.rootMessage(e)));
            }
        }
        for (String routeId : routes.disabledRouteIds()) {
            LOG.info("{}: disabled (enabled: false): not synced, checked or verified", LogText.escape(routeId));
        }
        if (failed > 0) {
            LOG.error("{} of {} table(s) cannot be synced: nothing was written; fix them (see above), or disable them,"
                    + " and start again", failed, routes.routeIds().size());
            return new Result(lostDatabase ? Outcome.UNREACHABLE : Outcome.MISCONFIGURED, List.copyOf(ready));
        }
        return new Result(Outcome.READY, List.copyOf(ready));
    }

    /** The target's state, as the next cycle will find it. */
    private static String target(TableSync.Shape shape) {
        if (!shape.target().exists()) {
            return "to be created and backfilled" + (shape.keyOrdered() ? " in key order" : "");
        }
        String rows = String.format("%,d rows", shape.target().rows());
        if (!shape.fitDdl().isEmpty()) {
            return "exists (" + rows + "), " + shape.fitDdl().size() + " column change(s) to apply";
        }
        return shape.target().isEmpty() ? "exists, empty: to be backfilled" : "exists (" + rows + ")";
    }

    private static String schedule(Map<String, Object> parameters, boolean scheduled) {
        String cron = String.valueOf(parameters.get("cron"));
        if (!scheduled) {
            return "ready";
        }
        Instant next = CronSchedule.parse(cron).nextFireAfter(Instant.now());
        return "ready, cron \"" + cron + "\", next at "
                + (next == null ? "never (no fire time left)" : SHOWN.format(ZonedDateTime.ofInstant(next, ZoneId.systemDefault())));
    }

    /**
     * One connection and {@code SELECT 1} on each database. A refused login or a database that does not
     * exist is a configuration problem, said in one line with the setting to fix (never the database's raw
     * message, which for ClickHouse runs to 300 characters of installation advice); anything else means the
     * database cannot be reached now.
     */
    private void databases(List<String> unreachable, List<String> misconfigured) {
        String pg = "PostgreSQL at " + settings.get(Setting.POSTGRES_HOST) + ":" + settings.get(Setting.POSTGRES_PORT)
                + "/" + settings.get(Setting.POSTGRES_DB) + " as " + settings.get(Setting.POSTGRES_USER);
        String ch = "ClickHouse at " + settings.get(Setting.CLICKHOUSE_HOST) + ":" + settings.get(Setting.CLICKHOUSE_PORT)
                + "/" + settings.get(Setting.CLICKHOUSE_DB) + " as " + settings.get(Setting.CLICKHOUSE_USER);
        SQLException pgError = probes.postgres();
        if (pgError != null) {
            String state = sqlState(pgError);
            if (state.startsWith("28")) {
                misconfigured.add(pg + " refused the login (" + settings.mask(firstLine(rootMessage(pgError))) + "): set"
                        + " POSTGRES_USER and POSTGRES_PASSWORD to a role that may log in, and its password.");
            } else if (state.equals("3D000")) {
                misconfigured.add(pg + ": there is no database " + settings.get(Setting.POSTGRES_DB)
                        + ": set POSTGRES_DB to the database that holds the synced tables.");
            } else {
                unreachable.add("cannot connect to " + pg + ": " + settings.mask(firstLine(rootMessage(pgError))));
            }
        }
        SQLException chError = probes.clickHouse();
        if (chError != null) {
            String message = rootMessage(chError);
            if (message.contains("AUTHENTICATION_FAILED") || message.contains("Code: 516") || message.contains("Authentication failed")) {
                misconfigured.add(ch + " refused the login (authentication failed): set CLICKHOUSE_USER and"
                        + " CLICKHOUSE_PASSWORD to a ClickHouse user and its password.");
            } else if (message.contains("UNKNOWN_DATABASE") || message.contains("Code: 81")) {
                misconfigured.add(ch + ": there is no database " + settings.get(Setting.CLICKHOUSE_DB)
                        + ": create it (CREATE DATABASE ...) or set CLICKHOUSE_DB to one that exists.");
            } else {
                unreachable.add("cannot connect to " + ch + ": " + settings.mask(firstLine(message)));
            }
        }
    }

    /** The SQL state of the deepest SQLException in the chain (the pool wraps the driver's). */
    private static String sqlState(Throwable e) {
        String state = "";
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                state = sql.getSQLState();
            }
        }
        return state;
    }

    private static String rootMessage(Throwable e) {
        return LoaderApplication.rootMessage(e);
    }

    /** The first line of a message, at most 200 characters. */
    private static String firstLine(String message) {
        String line = message.strip().lines().findFirst().orElse("");
        return line.length() > 200 ? line.substring(0, 200) + "…" : line;
    }
}
