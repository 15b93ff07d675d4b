package io.pgchloader;

import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import io.pgchloader.demo.Demo;
import io.pgchloader.cdc.CdcStream;
import io.pgchloader.verify.Verifier;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Command line: no argument runs the schedule until stopped; {@code --once} runs one cycle of every
 * table and exits 0 when all succeeded; {@code --plan} says what the next cycles would do, writing
 * nothing; {@code --demo} runs the whole thing on embedded databases.
 * Exit code 2 means the configuration is wrong, 1 that a cycle failed.
 */
public final class Main {

    public static final int EXIT_OK = 0;
    public static final int EXIT_CYCLE_FAILED = 1;
    public static final int EXIT_BAD_CONFIGURATION = 2;

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");

    private static final String USAGE = """
            Usage: java -jar target/pg-ch-loader.jar [--once | --plan | --verify | --repair [--table ROUTE_OR_TABLE] [--force] | --demo | -h | --help]
              (no option)  sync every table on its Quartz schedule until stopped (SIGTERM or Ctrl-C)
              --once       run one sync cycle of every table, then exit: 0 when all succeeded, 1 otherwise
              --plan       check everything and say what the next cycle of each table would do; writes nothing:
                           0 every table can run, 2 otherwise
              --verify     compare every table between PostgreSQL and ClickHouse: 0 equal, 1 different, 2 cannot compare
              --repair     reconcile every table (or the one --table names): tombstones for rows deleted in PostgreSQL,
                           rows ClickHouse lacks copied again; then verify: 0 equal, 1 different, 2 cannot compare.
                           --force deletes more than maxDeleteFraction of a table
              --demo       run the loader on an embedded PostgreSQL and ClickHouse with generated data
              -h, --help   show this text
            Configuration: environment variables or .env in the working directory (see README).""";

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String[] args) {
        // -h is what most tools take for help
        String mode = args.length == 0 ? "" : args[0].equals("-h") ? "--help" : args[0];
        RepairOptions repair = mode.equals("--repair") ? RepairOptions.parse(Arrays.asList(args).subList(1, args.length)) : null;
        if ((args.length > 1 && repair == null) || (repair != null && repair.invalid() != null)
                || !(mode.isEmpty() || mode.equals("--once") || mode.equals("--verify") || mode.equals("--plan") || mode.equals("--repair")
                || mode.equals("--demo") || mode.equals("--help"))) {
            System.err.println((repair != null && repair.invalid() != null ? repair.invalid() : "Unknown arguments: " + String.join(" ", args))
                    + "\n" + USAGE);
            return EXIT_BAD_CONFIGURATION;
        }
        try {
            switch (mode) {
                case "--help" -> {
                    System.out.println(USAGE);
                    return EXIT_OK;
                }
                case "--demo" -> {
                    return Demo.run();
                }
                case "--once" -> {
                    return once(applyLogLevel(Settings.load()));
                }
                case "--plan" -> {
                    return plan(applyLogLevel(Settings.load()));
                }
                case "--verify" -> {
                    return verify(applyLogLevel(Settings.load()));
                }
                case "--repair" -> {
                    return repair(applyLogLevel(Settings.load()), repair);
                }
                default -> {
                    return exitCode(new LoaderApplication(applyLogLevel(Settings.load()), true).runScheduled(), EXIT_CYCLE_FAILED);
                }
            }
        } catch (ConfigurationException e) {
            LOG.error("Configuration error: {}", e.getMessage());
            return EXIT_BAD_CONFIGURATION;
        } catch (Exception e) {
            LOG.error("Failed: {}", LoaderApplication.rootMessage(e));
            return EXIT_CYCLE_FAILED;
        }
    }

    private static Settings applyLogLevel(Settings settings) {
        LogSetup.ownLevel(settings.get(Setting.LOG_LEVEL));
        return settings;
    }

    /**
     * The exit code a start-up check calls for: 2 when something must be fixed, the mode's own code when a
     * database cannot be reached (which may pass), 0 when every table can run.
     */
    static int exitCode(StartupCheck.Outcome outcome, int unreachable) {
        return switch (outcome) {
            case READY -> EXIT_OK;
            case UNREACHABLE -> unreachable;
            case MISCONFIGURED -> EXIT_BAD_CONFIGURATION;
        };
    }

    /** Compares every table; nothing is written anywhere. Exit code: see {@link Verifier}. */
    static int verify(Settings settings) {
        try (LoaderApplication app = new LoaderApplication(settings, false).withoutRouteMBeans()) {
            app.start();
            int checked = exitCode(app.checkLogins(), Verifier.CANNOT_VERIFY);
            if (checked != EXIT_OK) {
                return checked;
            }
            return Verifier.of(app).run().exitCode();
        }
    }

    /** {@code --repair}'s options: which table (all when null), and whether past the delete guard. */
    record RepairOptions(String table, boolean force, String invalid) {

        static RepairOptions parse(List<String> args) {
            String table = null;
            boolean force = false;
            for (int i = 0; i < args.size(); i++) {
                switch (args.get(i)) {
                    case "--force" -> force = true;
                    case "--table" -> {
                        if (i + 1 >= args.size()) {
                            return new RepairOptions(null, false, "--table needs a route id or a table name");
                        }
                        table = args.get(++i);
                    }
                    default -> {
                        return new RepairOptions(null, false, "Unknown argument of --repair: " + args.get(i));
                    }
                }
            }
            return new RepairOptions(table, force, null);
        }
    }

    /**
     * Reconciles the tables one after another (each in a cycle of its own, so never beside another cycle
     * of the same table in this process), then verifies them. Exit code: see {@link Verifier}.
     */
    static int repair(Settings settings, RepairOptions options) {
        try (LoaderApplication app = new LoaderApplication(settings, false).withoutRouteMBeans()) {
            app.start();
            int checked = exitCode(app.checkAtStart(false), EXIT_BAD_CONFIGURATION);
            if (checked != EXIT_OK) {
                return checked;
            }
            List<String> routes = app.cycles().routeIds(options.table());
            List<CdcStream.Target> cdcTables = !app.hasCdcTables() ? List.of() : app.cdc().targets().stream()
                    .filter(t -> options.table() == null || options.table().equals(t.routeId())
                            || options.table().equals(t.source().table()) || options.table().equals(t.source().qualifiedName()))
                    .toList();
            if (!cdcTables.isEmpty()) {
                // a CDC table's versions are LSNs: what differs is written at a version between the changes before
                // the comparison and those after it (CdcCheck, docs/cdc.md); no delete guard, the stream has none
                Verifier.repairingCdc(app, cdcTables, options.force()).run();
            }
            if (routes.isEmpty() && cdcTables.isEmpty()) {
                LOG.error("Configuration error: no table route is {} (give a route id such as sync-stores, or a table"
                        + " name such as stores or public.stores)", options.table());
                return EXIT_BAD_CONFIGURATION;
            }
            boolean ok = true;
            for (String routeId : routes) {
                ok &= app.cycles().repair(routeId, options.force()).succeeded();
            }
            int verified = Verifier.of(app, routes, cdcTables).run().exitCode();
            return ok || verified == Verifier.CANNOT_VERIFY ? verified : Math.max(verified, Verifier.DIFFERENT);
        }
    }

    /** The start-up checks and each table's next cycle, written nowhere (see LoaderApplication.plan). */
    static int plan(Settings settings) throws Exception {
        try (LoaderApplication app = new LoaderApplication(settings, false).withoutRouteMBeans()) {
            app.start();
            return exitCode(app.plan(), EXIT_BAD_CONFIGURATION);
        }
    }

    static int once(Settings settings) {
        try (LoaderApplication app = new LoaderApplication(settings, false).withoutRouteMBeans()) {
            app.start();
            int checked = exitCode(app.checkAtStart(false), EXIT_CYCLE_FAILED);
            if (checked != EXIT_OK) {
                return checked;
            }
            boolean ok = app.cycles().runAll();
            try {
                ok &= app.runCdcOnce();
            } catch (ConfigurationException e) {
                throw e;
            } catch (SQLException | RuntimeException e) {
                LOG.error("CDC tables failed: {}", LoaderApplication.rootMessage(e));
                ok = false;
            }
            return ok ? EXIT_OK : EXIT_CYCLE_FAILED;
        }
    }
}
