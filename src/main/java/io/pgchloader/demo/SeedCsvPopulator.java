package io.pgchloader.demo;

import io.pgchloader.common.Identifiers;
import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * {@code scripts/populator.sh}: loads the CSV files of {@link SeedCsvGenerator} into the seed schema with
 * {@code COPY ... FROM STDIN}, in foreign-key order and in one transaction, so a failure leaves the
 * tables as they were. Runs on pgjdbc alone, as psql may be missing where the loader runs. Every file and
 * option is checked before it connects; what is not given as an option comes from the loader's own
 * POSTGRES_* settings (environment, then {@code .env} in the working directory).
 */
public final class SeedCsvPopulator {

    static final String USAGE = """
            Usage: scripts/populator.sh [-h HOST] [-p PORT] [-U USER] [-d DATABASE] [--dir DIR]
              -h, --host      PostgreSQL host (default POSTGRES_HOST)
              -p, --port      PostgreSQL port (default POSTGRES_PORT, else 5432)
              -U, --user      role to connect as (default POSTGRES_USER); the password is POSTGRES_PASSWORD only,
                              never an option, so it shows in no process list
              -d, --dbname    database holding the seed schema of sql/ddl-pg.sql (default POSTGRES_DB)
              --dir           folder of branches.csv, cashiers.csv, app_users.csv, stores.csv and
                              app_user_visits_fact.csv (default resources)
              --help          show this text
            POSTGRES_* come from the environment or from .env in the working directory (the environment wins).
            """;

    private SeedCsvPopulator() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), Path.of(".env"), System.out, System.err));
    }

    /** Exit code 0 when every file was loaded, 2 when an option, setting or file is missing or bad, 1 when loading failed. */
    public static int run(String[] args, Map<String, String> environment, Path dotEnv, PrintStream out, PrintStream err) {
        Map<String, String> settings;
        try {
            settings = new LinkedHashMap<>(Settings.readDotEnv(dotEnv));
        } catch (ConfigurationException e) {
            return refuse(err, e.getMessage());
        }
        settings.putAll(environment);
        Map<String, Setting> options = Map.of("-h", Setting.POSTGRES_HOST, "--host", Setting.POSTGRES_HOST,
                "-p", Setting.POSTGRES_PORT, "--port", Setting.POSTGRES_PORT, "-U", Setting.POSTGRES_USER,
                "--user", Setting.POSTGRES_USER, "-d", Setting.POSTGRES_DB, "--dbname", Setting.POSTGRES_DB);
        Path dir = Path.of("resources");
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (option.equals("--help")) {
                out.print(USAGE);
                return 0;
            }
            if (!options.containsKey(option) && !option.equals("--dir")) {
                return refuse(err, "unknown option " + option + " (see --help)");
            }
            if (i + 1 == args.length || args[i + 1].isBlank()) {
                return refuse(err, option + " needs a value (see --help)");
            }
            String value = args[++i];
            if (option.equals("--dir")) {
                dir = Path.of(value);
            } else {
                settings.put(options.get(option).name(), value.trim());
            }
        }
        String host = settings.get(Setting.POSTGRES_HOST.name());
        String user = settings.get(Setting.POSTGRES_USER.name());
        String database = settings.get(Setting.POSTGRES_DB.name());
        String port = settings.getOrDefault(Setting.POSTGRES_PORT.name(), "");
        String password = settings.getOrDefault(Setting.POSTGRES_PASSWORD.name(), "");
        port = port.isBlank() ? Setting.POSTGRES_PORT.defaultValue() : port.trim();
        if (isBlank(host) || isBlank(user) || isBlank(database)) {
            return refuse(err, "no PostgreSQL " + (isBlank(host) ? "host: pass -h HOST or set POSTGRES_HOST"
                    : isBlank(user) ? "user: pass -U USER or set POSTGRES_USER" : "database: pass -d DATABASE or set POSTGRES_DB")
                    + " (in the environment or in .env)");
        }
        if (!host.matches("[A-Za-z0-9._:\\[\\]-]+")) {
            return refuse(err, "the host must be a host name or IP address, without scheme or port, not \"" + host + "\"");
        }
        if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            return refuse(err, "the port must be a TCP port number from 1 to 65535, not \"" + port + "\"");
        }
        List<String> problems = new ArrayList<>();
        for (SeedCsv file : SeedCsv.FILES) {
            String problem = checkFile(file, dir.resolve(file.fileName()));
            if (problem != null) {
                problems.add(problem);
            }
        }
        if (!problems.isEmpty()) {
            return refuse(err, String.join("; ", problems) + " (scripts/generate-seed-csv.sh --dir " + dir + " writes them)");
        }
        Properties login = new Properties();
        login.setProperty("user", user.trim());
        login.setProperty("password", password);
        String url = "jdbc:postgresql://" + host.trim() + ":" + port + "/" + database.trim();
        try (Connection pg = DriverManager.getConnection(url, login)) {
            pg.setAutoCommit(false);
            CopyManager copy = pg.unwrap(PGConnection.class).getCopyAPI();
            List<String> loaded = new ArrayList<>();
            for (SeedCsv file : SeedCsv.FILES) {
                String table = Identifiers.pg(file.table());
                try (Reader csv = Files.newBufferedReader(dir.resolve(file.fileName()), StandardCharsets.UTF_8)) {
                    long rows = copy.copyIn("COPY " + table + " (" + Identifiers.pgList(file.columns())
                            + ") FROM STDIN WITH (FORMAT csv, HEADER true)", csv);
                    loaded.add(file.table() + " " + rows);
                } catch (SQLException e) {
                    pg.rollback();
                    err.println("populator: loading " + dir.resolve(file.fileName()) + " into " + file.table() + " failed, nothing was"
                            + " loaded: " + masked(oneLine(e.getMessage()), password));
                    return 1;
                }
                try (Statement s = pg.createStatement()) {
                    // the files carry their ids: the sequence moves past them, so later inserts get fresh ones
                    s.execute("SELECT setval(pg_get_serial_sequence('" + table + "', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL)"
                            + " FROM " + table);
                }
            }
            try (Statement s = pg.createStatement()) {
                // statistics for the loader's first queries; inside the transaction, so a failure here loads nothing either
                s.execute("ANALYZE " + Identifiers.pgList(SeedCsv.FILES.stream().map(SeedCsv::table).toList()));
            }
            pg.commit();
            out.println("populator: loaded " + String.join(", ", loaded) + " rows into " + database.trim() + " on " + host.trim()
                    + ":" + port);
            return 0;
        } catch (SQLException | IOException e) {
            err.println("populator: loading into " + database.trim() + " on " + host.trim() + ":" + port + " as " + user.trim()
                    + " failed, nothing was loaded: " + masked(oneLine(e.getMessage()), password));
            return 1;
        }
    }

    /** Why the file cannot be loaded, or null: it must exist and start with the header of its table's columns. */
    private static String checkFile(SeedCsv file, Path path) {
        if (!Files.isRegularFile(path)) {
            return "missing " + path;
        }
        try (BufferedReader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            String header = r.readLine();
            if (!file.header().equals(header == null ? null : header.strip())) {
                // COPY would take the columns in the file's order as ours and load them into the wrong ones
                return path + " does not start with the header " + file.header();
            }
            return null;
        } catch (IOException e) {
            return "cannot read " + path + " (" + e.getMessage() + ")";
        }
    }

    private static int refuse(PrintStream err, String reason) {
        err.println("populator: " + oneLine(reason));
        return 2;
    }

    private static boolean isBlank(String value) {
        return value == null || value.isBlank();
    }

    private static String oneLine(String text) {
        return String.valueOf(text).replaceAll("\\s*\\R\\s*", " ");
    }

    /** A driver's message with the password cut out, in case it ever quotes it. */
    private static String masked(String text, String password) {
        return password.length() < 3 ? text : text.replace(password, "******");
    }
}
