package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.config.ConfigurationException;
import io.pgchloader.config.Setting;
import io.pgchloader.config.Settings;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.TestDatabases;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Configuration comes from the environment and {@code .env} in the working directory (the environment
 * wins). A missing or invalid setting stops the program before it connects anywhere, with one log line
 * naming the variable, and exit code 2.
 *
 * <p>The subprocess tests point both hosts at a {@link ConnectionTrap}: a socket on 127.0.0.1 that
 * records every connection made to it and never answers, so a loader that connected anyway would be
 * seen (and would hang rather than fail fast).
 */
class ConfigurationTest {

    static final Duration FAST = Duration.ofSeconds(10);
    static final String SECRET = "s3cr3t-value";
    /** The loader's own loggers (MODULE in the log line). */
    static final Set<String> LOADER_MODULES = Set.of("loader", "sync", "demo", "writer", "EmbeddedClickHouse");

    @TempDir
    Path tmp;

    Path workDir;
    Path routesDir;
    ConnectionTrap trap;
    final List<LoaderProcess> processes = new ArrayList<>();

    @BeforeEach
    void prepare() throws IOException {
        workDir = Files.createDirectories(tmp.resolve("work"));
        routesDir = Files.createDirectories(tmp.resolve("routes"));
        Files.copy(Path.of("routes", "pg-to-clickhouse.yaml"), routesDir.resolve("pg-to-clickhouse.yaml"));
        Files.writeString(routesDir.resolve("tables.yaml"), LoaderFixture.templatedRoute("sync-events", "table", "events"));
        trap = new ConnectionTrap();
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (LoaderProcess process : processes) {
            process.close();
        }
        trap.close();
    }

    /** A complete, valid configuration whose servers are both the trap. */
    Map<String, String> validEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("POSTGRES_HOST", "127.0.0.1");
        env.put("POSTGRES_PORT", Integer.toString(trap.port()));
        env.put("POSTGRES_USER", "loader");
        env.put("POSTGRES_DB", "shop");
        env.put("CLICKHOUSE_HOST", "127.0.0.1");
        env.put("CLICKHOUSE_PORT", Integer.toString(trap.port()));
        env.put("ROUTES_DIR", routesDir.toString());
        return env;
    }

    // ---------------------------------------------------------------- Settings, in process

    @Test
    void the_environment_wins_over_dot_env() throws IOException {
        Path dotEnv = tmp.resolve(".env");
        Files.writeString(dotEnv, """
                POSTGRES_HOST=pg.from-dotenv
                POSTGRES_USER=dotenv_user
                POSTGRES_DB=dotenv_db
                CLICKHOUSE_HOST=ch.from-dotenv
                CLICKHOUSE_PORT=9999
                """);

        Settings settings = Settings.from(Map.of("POSTGRES_HOST", "pg.from-env", "CLICKHOUSE_PORT", "8124",
                "ROUTES_DIR", routesDir.toString()), dotEnv);

        assertAll(
                () -> assertEquals("pg.from-env", settings.get(Setting.POSTGRES_HOST)),
                () -> assertEquals("8124", settings.get(Setting.CLICKHOUSE_PORT)),
                () -> assertEquals("dotenv_user", settings.get(Setting.POSTGRES_USER), "what only .env sets is used"),
                () -> assertEquals("dotenv_db", settings.get(Setting.POSTGRES_DB)),
                () -> assertEquals("ch.from-dotenv", settings.get(Setting.CLICKHOUSE_HOST)));
    }

    @Test
    void dot_env_understands_comments_quotes_and_export() throws IOException {
        Path dotEnv = tmp.resolve(".env");
        Files.writeString(dotEnv, """
                # PostgreSQL
                export POSTGRES_HOST=pg.example.com

                POSTGRES_USER = loader
                POSTGRES_PASSWORD="pa#ss word"
                POSTGRES_DB='shop'
                   # indented comment
                CLICKHOUSE_HOST=ch.example.com # the analytics box
                CLICKHOUSE_PASSWORD='it''s'
                CLICKHOUSE_DB=analytics
                PG_FETCH_SIZE="500"
                """);

        Settings settings = Settings.from(Map.of("ROUTES_DIR", routesDir.toString()), dotEnv);

        assertAll(
                () -> assertEquals("pg.example.com", settings.get(Setting.POSTGRES_HOST)),
                () -> assertEquals("loader", settings.get(Setting.POSTGRES_USER)),
                () -> assertEquals("pa#ss word", settings.get(Setting.POSTGRES_PASSWORD), "quotes keep # and spaces"),
                () -> assertEquals("shop", settings.get(Setting.POSTGRES_DB)),
                () -> assertEquals("ch.example.com", settings.get(Setting.CLICKHOUSE_HOST), "an inline comment is dropped"),
                () -> assertEquals("it''s", settings.get(Setting.CLICKHOUSE_PASSWORD), "only the outer quotes go"),
                () -> assertEquals("analytics", settings.get(Setting.CLICKHOUSE_DB)),
                () -> assertEquals(500, settings.getInt(Setting.PG_FETCH_SIZE)));
    }

    @Test
    void a_quoted_dot_env_value_loses_its_quotes_also_before_a_comment() throws IOException {
        Path dotEnv = tmp.resolve(".env");
        Files.writeString(dotEnv, """
                POSTGRES_PASSWORD="x" # the staging password
                CLICKHOUSE_PASSWORD='a "b" # c'   # a comment with "quotes"
                """);

        Settings settings = Settings.from(validEnvironment(), dotEnv);

        assertEquals("x", settings.get(Setting.POSTGRES_PASSWORD));
        assertEquals("a \"b\" # c", settings.get(Setting.CLICKHOUSE_PASSWORD));

        Files.writeString(dotEnv, "POSTGRES_PASSWORD=\"" + SECRET + "\"trailing\n");
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> Settings.from(validEnvironment(), dotEnv));
        assertTrue(e.getMessage().startsWith(".env line 1 (POSTGRES_PASSWORD): the quoted value has no closing"), e.getMessage());
        assertFalse(e.getMessage().contains(SECRET), e.getMessage());
    }

    @Test
    void a_lock_dir_and_a_zookeeper_together_are_refused_before_connecting() {
        Map<String, String> raw = new LinkedHashMap<>(validEnvironment());
        raw.put("CLUSTER_LOCK_DIR", "/var/lib/pg-ch-loader/locks");
        raw.put("CLUSTER_ZOOKEEPER", "zk1:2181,zk2:2181");
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> Settings.of(raw));
        assertTrue(e.getMessage().startsWith("CLUSTER_LOCK_DIR and CLUSTER_ZOOKEEPER are both set: keep one"), e.getMessage());
    }

    @Test
    void a_jmx_password_of_spaces_only_is_refused_like_an_empty_one() {
        Map<String, String> raw = new LinkedHashMap<>(validEnvironment());
        raw.put("JMX_PORT", "9999");
        raw.put("JMX_USER", "operator");
        raw.put("JMX_PASSWORD", "   ");
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> Settings.of(raw));
        assertTrue(e.getMessage().startsWith("JMX_PORT is set, but remote JMX needs a login"), e.getMessage());

        raw.put("JMX_PASSWORD", "a real one");
        raw.put("JMX_READONLY_USER", "viewer");
        raw.put("JMX_READONLY_PASSWORD", "\t ");
        e = assertThrows(ConfigurationException.class, () -> Settings.of(raw));
        assertTrue(e.getMessage().contains("JMX_READONLY_PASSWORD (not of spaces only)"), e.getMessage());
    }

    @Test
    void defaults_fill_in_every_optional_setting() {
        // ROUTES_DIR defaults to "routes" in the working directory, which for the tests is the project
        Settings settings = Settings.of(Map.of("POSTGRES_HOST", "pg", "POSTGRES_USER", "loader", "POSTGRES_DB", "shop",
                "CLICKHOUSE_HOST", "ch"));

        assertAll(
                () -> assertEquals("5432", settings.get(Setting.POSTGRES_PORT)),
                () -> assertEquals("", settings.get(Setting.POSTGRES_PASSWORD)),
                () -> assertEquals("8123", settings.get(Setting.CLICKHOUSE_PORT)),
                () -> assertEquals("default", settings.get(Setting.CLICKHOUSE_USER)),
                () -> assertEquals("", settings.get(Setting.CLICKHOUSE_PASSWORD)),
                () -> assertEquals("default", settings.get(Setting.CLICKHOUSE_DB)),
                () -> assertEquals("routes", settings.get(Setting.ROUTES_DIR)),
                () -> assertEquals(10_000, settings.getInt(Setting.PG_FETCH_SIZE)),
                () -> assertEquals("INFO", settings.get(Setting.LOG_LEVEL)));
    }

    @Test
    void a_blank_value_counts_as_missing_and_values_are_trimmed() {
        Map<String, String> raw = new LinkedHashMap<>(validEnvironment());
        raw.put("POSTGRES_DB", "  shop  ");
        raw.put("CLICKHOUSE_DB", "   ");
        Settings settings = Settings.of(raw);
        assertEquals("shop", settings.get(Setting.POSTGRES_DB));
        assertEquals("default", settings.get(Setting.CLICKHOUSE_DB), "a blank optional setting takes its default");

        raw.put("POSTGRES_USER", " ");
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> Settings.of(raw));
        assertTrue(e.getMessage().startsWith("POSTGRES_USER is not set"), e.getMessage());
    }

    @Test
    void a_fetch_size_must_be_a_positive_whole_number() {
        for (String bad : List.of("0", "-5", "many", "1.5")) {
            Map<String, String> raw = new LinkedHashMap<>(validEnvironment());
            raw.put("PG_FETCH_SIZE", bad);
            ConfigurationException e = assertThrows(ConfigurationException.class, () -> Settings.of(raw), bad);
            assertTrue(e.getMessage().startsWith("PG_FETCH_SIZE must be"), e.getMessage());
        }
    }

    @Test
    void a_missing_dot_env_is_no_error_but_a_malformed_line_is_named() throws IOException {
        Settings settings = Settings.from(validEnvironment(), tmp.resolve("no-such.env"));
        assertEquals("loader", settings.get(Setting.POSTGRES_USER));

        Path dotEnv = tmp.resolve(".env");
        Files.writeString(dotEnv, "# fine\nPOSTGRES_USER=loader\nthis line is broken\n");
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> Settings.from(validEnvironment(), dotEnv));
        assertTrue(e.getMessage().contains(".env line 3"), e.getMessage());
    }

    @Test
    void diagnostics_mask_passwords() {
        Map<String, String> raw = new LinkedHashMap<>(validEnvironment());
        raw.put("POSTGRES_PASSWORD", SECRET);
        raw.put("CLICKHOUSE_PASSWORD", SECRET);

        String shown = Settings.of(raw).toString();

        assertFalse(shown.contains(SECRET), shown);
        assertTrue(shown.contains("POSTGRES_PASSWORD=******"), shown);
        assertTrue(shown.contains("POSTGRES_USER=loader"), shown);
    }

    // ---------------------------------------------------------------- the program, as a child process

    @Test
    void a_missing_postgres_host_stops_before_connecting_with_exit_code_2() throws Exception {
        Map<String, String> env = validEnvironment();
        env.remove("POSTGRES_HOST");
        assertStopsBeforeConnecting(env, "POSTGRES_HOST");
    }

    @Test
    void every_missing_or_invalid_setting_is_named_in_one_message_of_one_run() throws Exception {
        Map<String, String> env = validEnvironment();
        env.remove("POSTGRES_HOST");
        env.remove("POSTGRES_USER");
        env.remove("CLICKHOUSE_HOST");
        env.put("PG_FETCH_SIZE", "lots");

        String line = assertStopsBeforeConnecting(env, "4 settings need fixing:");

        assertTrue(line.contains("1) POSTGRES_HOST is not set") && line.contains("2) POSTGRES_USER is not set")
                && line.contains("3) CLICKHOUSE_HOST is not set") && line.contains("4) PG_FETCH_SIZE must be"), line);
    }

    @Test
    void a_missing_clickhouse_host_stops_before_connecting_with_exit_code_2() throws Exception {
        Map<String, String> env = validEnvironment();
        env.remove("CLICKHOUSE_HOST");
        assertStopsBeforeConnecting(env, "CLICKHOUSE_HOST");
    }

    @Test
    void a_postgres_port_that_is_no_number_stops_before_connecting_with_exit_code_2() throws Exception {
        Map<String, String> env = validEnvironment();
        env.put("POSTGRES_PORT", "abc");
        String line = assertStopsBeforeConnecting(env, "POSTGRES_PORT");
        assertTrue(line.contains("\"abc\""), "the line shows the bad value: " + line);
    }

    @Test
    void a_clickhouse_port_above_65535_stops_before_connecting_with_exit_code_2() throws Exception {
        Map<String, String> env = validEnvironment();
        env.put("CLICKHOUSE_PORT", "70000");
        String line = assertStopsBeforeConnecting(env, "CLICKHOUSE_PORT");
        assertTrue(line.contains("65535"), "the line says what is allowed: " + line);
    }

    @Test
    void a_routes_dir_that_does_not_exist_stops_before_connecting_with_exit_code_2() throws Exception {
        Map<String, String> env = validEnvironment();
        env.put("ROUTES_DIR", tmp.resolve("no-such-folder").toString());
        String line = assertStopsBeforeConnecting(env, "ROUTES_DIR");
        assertTrue(line.contains("no-such-folder"), line);
    }

    @Test
    void a_routes_dir_without_yaml_files_stops_before_connecting_with_exit_code_2() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty-routes"));
        Files.writeString(empty.resolve("tables.yml.bak"), "not a route file");
        Map<String, String> env = validEnvironment();
        env.put("ROUTES_DIR", empty.toString());
        String line = assertStopsBeforeConnecting(env, "ROUTES_DIR");
        assertTrue(line.contains("yaml"), line);
    }

    @Test
    void an_unknown_template_parameter_stops_before_connecting_naming_the_route_and_the_nearest_name() throws Exception {
        Path routes = routesWith(LoaderFixture.templatedRoute("sync-typo", "table", "events", "primarykey", "id", "cron_", "0 * * * * ?"));
        Map<String, String> env = validEnvironment();
        env.put("ROUTES_DIR", routes.toString());

        String line = assertStopsBeforeConnecting(env, "primarykey");

        assertTrue(line.contains("route sync-typo: unknown parameter 'primarykey' (did you mean 'primaryKey'?)")
                && line.contains("unknown parameter 'cron_' (did you mean 'cron'?)"), line);
    }

    @Test
    void a_placeholder_in_a_table_name_stops_before_connecting_and_is_never_expanded() throws Exception {
        Path routes = routesWith(LoaderFixture.templatedRoute("sync-leak", "table", "{{env:POSTGRES_PASSWORD}}"));
        Map<String, String> env = validEnvironment();
        env.put("ROUTES_DIR", routes.toString());

        String line = assertStopsBeforeConnecting(env, "placeholder");

        assertTrue(line.contains("route sync-leak: parameter table holds a property placeholder"), line);
    }

    @Test
    void refuses_a_five_field_cron_with_a_typo_naming_the_route_in_every_mode() throws Exception {
        Path routes = routesWith(LoaderFixture.templatedRoute("sync-typo", "table", "events", "cron", "*/30 * * *"));
        Map<String, String> env = validEnvironment();
        env.put("ROUTES_DIR", routes.toString());

        for (String[] mode : List.of(new String[0], new String[] {"--once"}, new String[] {"--verify"})) {
            String line = assertStopsBeforeConnecting(env, "sync-typo", mode);

            assertTrue(line.contains("route sync-typo: parameter cron is \"*/30 * * *\", which is no schedule")
                    && line.contains("e.g. \"*/30 * * * *\"") && line.contains("\"0 0/30 * * * ?\""), line);
        }
    }

    @Test
    void refuses_a_cron_that_is_no_schedule_and_an_enabled_that_is_no_boolean_in_one_line() throws Exception {
        Path routes = routesWith(LoaderFixture.templatedRoute("sync-bad", "table", "events", "cron", "not a cron",
                "enabled", "yes"));
        Map<String, String> env = validEnvironment();
        env.put("ROUTES_DIR", routes.toString());

        String line = assertStopsBeforeConnecting(env, "sync-bad", new String[0]);

        assertTrue(line.contains("parameter cron is \"not a cron\"") && line.contains("parameter enabled is \"yes\""), line);
    }

    @Test
    void refuses_a_reconcile_cron_that_is_no_schedule_before_connecting() throws Exception {
        Path routes = routesWith(LoaderFixture.templatedRoute("sync-nightly", "table", "events", "reconcileCron", "15 3 * *"));
        Map<String, String> env = validEnvironment();
        env.put("ROUTES_DIR", routes.toString());

        String line = assertStopsBeforeConnecting(env, "sync-nightly", new String[] {"--once"});

        assertTrue(line.contains("route sync-nightly: parameter reconcileCron is \"15 3 * *\", which is no schedule"), line);
    }

    @Test
    void refuses_a_backfill_parallelism_that_is_no_whole_number_from_1_to_64_naming_route_and_value() throws Exception {
        Path routes = routesWith(LoaderFixture.templatedRoute("sync-none", "table", "events", "backfillParallelism", "0")
                + LoaderFixture.templatedRoute("sync-many", "table", "orders", "backfillParallelism", "65")
                + LoaderFixture.templatedRoute("sync-word", "table", "items", "backfillParallelism", "four"));
        Map<String, String> env = validEnvironment();
        env.put("ROUTES_DIR", routes.toString());

        String line = assertStopsBeforeConnecting(env, "backfillParallelism", new String[] {"--once"});

        assertTrue(line.contains("route sync-none: parameter backfillParallelism is \"0\": write a whole number from 1")
                && line.contains("route sync-many: parameter backfillParallelism is \"65\"")
                && line.contains("route sync-word: parameter backfillParallelism is \"four\"") && line.contains("to 64"), line);
    }

    @Test
    void refuses_a_delete_guard_that_is_no_fraction_naming_route_and_value() throws Exception {
        Path routes = routesWith(LoaderFixture.templatedRoute("sync-over", "table", "events", "maxDeleteFraction", "1.5")
                + LoaderFixture.templatedRoute("sync-word", "table", "items", "maxDeleteFraction", "five percent"));
        Map<String, String> env = validEnvironment();
        env.put("ROUTES_DIR", routes.toString());

        String line = assertStopsBeforeConnecting(env, "maxDeleteFraction", new String[] {"--once"});

        assertTrue(line.contains("route sync-over: parameter maxDeleteFraction must be a number from 0 to 1")
                && line.contains("not '1.5'") && line.contains("route sync-word: parameter maxDeleteFraction")
                && line.contains("not 'five percent'"), line);
    }

    private Path routesWith(String templatedRoutes) throws IOException {
        Path routes = Files.createDirectories(tmp.resolve("checked-routes"));
        Files.copy(Path.of("routes", "pg-to-clickhouse.yaml"), routes.resolve("pg-to-clickhouse.yaml"));
        Files.writeString(routes.resolve("tables.yaml"), templatedRoutes);
        return routes;
    }

    @Test
    void a_fetch_size_of_zero_stops_before_connecting_with_exit_code_2() throws Exception {
        Map<String, String> env = validEnvironment();
        env.put("PG_FETCH_SIZE", "0");
        assertStopsBeforeConnecting(env, "PG_FETCH_SIZE");
    }

    @Test
    void an_unknown_log_level_stops_before_connecting_with_exit_code_2() throws Exception {
        Map<String, String> env = validEnvironment();
        env.put("LOG_LEVEL", "LOUD");
        assertStopsBeforeConnecting(env, "LOG_LEVEL");
    }

    @Test
    void the_schedule_mode_checks_the_configuration_the_same_way() throws Exception {
        Map<String, String> env = validEnvironment();
        env.remove("POSTGRES_DB");
        assertStopsBeforeConnecting(env, "POSTGRES_DB", new String[0]);
    }

    @Test
    void dot_env_in_the_working_directory_is_read_and_the_environment_wins() throws Exception {
        // .env breaks POSTGRES_PORT (checked first) and CLICKHOUSE_PORT; the environment repairs only the
        // former, so the program must complain about CLICKHOUSE_PORT, which only .env can have set
        Files.writeString(workDir.resolve(".env"), "POSTGRES_PORT=abc\nCLICKHOUSE_PORT=99999\n");
        Map<String, String> env = validEnvironment();
        env.remove("CLICKHOUSE_PORT");
        String line = assertStopsBeforeConnecting(env, "CLICKHOUSE_PORT");
        assertTrue(line.contains("99999"), line);
    }

    @Test
    void a_dot_env_that_is_a_directory_stops_before_connecting_with_exit_code_2() throws Exception {
        // what docker run -v ./.env:/app/.env makes when ./.env does not exist
        Files.createDirectories(workDir.resolve(".env"));
        String line = assertStopsBeforeConnecting(validEnvironment(), ".env");
        assertTrue(line.contains("is not a file") && line.contains("replace it with a file"), line);
    }

    @Test
    void an_unknown_argument_stops_with_usage_and_exit_code_2() throws Exception {
        // with an empty configuration on purpose: the arguments are checked first
        LoaderProcess loader = start(Map.of(), "--bogus");

        int exit = loader.awaitExit(FAST);

        String output = loader.output();
        assertEquals(2, exit, output);
        assertTrue(output.contains("--bogus"), "names the argument: " + output);
        assertTrue(output.contains("Usage:") && output.contains("--once"), "shows the usage: " + output);
        assertFalse(output.contains("POSTGRES_HOST"), "no configuration error before the usage: " + output);
        assertEquals(0, trap.connections());
    }

    @Test
    void dash_h_shows_the_usage_like_dash_dash_help_without_any_configuration() throws Exception {
        for (String flag : List.of("-h", "--help")) {
            LoaderProcess loader = start(Map.of(), flag);

            assertEquals(0, loader.awaitExit(FAST), loader.output());
            assertTrue(loader.output().startsWith("Usage:") && loader.output().contains("-h, --help"), loader.output());
        }
    }

    @Test
    void a_second_argument_is_unknown_too() throws Exception {
        LoaderProcess loader = start(validEnvironment(), "--once", "--verbose");

        int exit = loader.awaitExit(FAST);

        assertEquals(2, exit, loader.output());
        assertTrue(loader.output().contains("Usage:"), loader.output());
        assertEquals(0, trap.connections(), "connected although the arguments were wrong");
    }

    @Test
    void the_connection_trap_does_notice_a_loader_that_connects() throws Exception {
        // the control for every "nothing connected" above: a valid configuration does reach the trap
        LoaderProcess loader = start(validEnvironment(), "--once");

        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (trap.connections() == 0 && loader.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }

        assertTrue(trap.connections() > 0, "the loader never connected; output:\n" + loader.output());
    }

    @Test
    void a_password_never_appears_in_a_configuration_error() throws Exception {
        Map<String, String> env = validEnvironment();
        env.put("POSTGRES_PASSWORD", SECRET);
        env.put("CLICKHOUSE_PASSWORD", SECRET);
        env.put("POSTGRES_PORT", "not-a-port");
        assertStopsBeforeConnecting(env, "POSTGRES_PORT");
        // (assertStopsBeforeConnecting checks the output for SECRET)
    }

    @Test
    void a_password_never_appears_when_a_dot_env_line_is_malformed() throws Exception {
        Files.writeString(workDir.resolve(".env"), "POSTGRES_USER=loader\nPOSTGRES_PASSWORD " + SECRET + "\n");
        LoaderProcess loader = start(validEnvironment(), "--once");

        int exit = loader.awaitExit(FAST);

        String output = loader.output();
        assertEquals(2, exit, output);
        assertEquals(1, loader.errorLines().size(), output);
        assertTrue(output.contains(".env line 2"), output);
        assertFalse(output.contains(SECRET), "the password leaked:\n" + output);
        assertEquals(0, trap.connections());
    }

    @Test
    void a_wrong_postgres_password_stops_at_start_with_exit_code_2_in_one_line_without_showing_the_password() throws Exception {
        // The embedded PostgreSQL trusts everyone; make it ask this one role for a password.
        String role = "pgch_password_" + ProcessHandle.current().pid();
        requirePasswordFor(role, "the-right-one");
        LoaderFixture fixture = new LoaderFixture(tmp.resolve("fixture"))
                .withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events"));
        fixture.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)");
        Map<String, String> env = fixture.environment();
        env.put("POSTGRES_USER", role);
        env.put("POSTGRES_PASSWORD", SECRET);

        LoaderProcess loader = startWithShortPoolTimeout(env, "--once");
        int exit = loader.awaitExit(Duration.ofSeconds(60));

        String output = loader.output();
        assertEquals(2, exit, output);
        assertEquals(1, loader.errorLines().size(), output);
        assertTrue(loader.errorLines().get(0).contains("refused the login (FATAL: password authentication failed")
                && loader.errorLines().get(0).contains("set POSTGRES_USER and POSTGRES_PASSWORD"), output);
        assertFalse(output.contains(SECRET), "the password leaked:\n" + output);
    }

    @Test
    void a_wrong_clickhouse_password_stops_at_start_in_one_line_and_stays_hidden_even_at_log_level_debug() throws Exception {
        LoaderFixture fixture = new LoaderFixture(tmp.resolve("fixture"))
                .withRoutes("tables.yaml", LoaderFixture.templatedRoute("sync-events", "table", "events"));
        fixture.pg("CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamp NOT NULL, updated_at timestamp)");
        Map<String, String> env = fixture.environment();
        env.put("CLICKHOUSE_PASSWORD", SECRET);
        env.put("POSTGRES_PASSWORD", SECRET);
        env.put("LOG_LEVEL", "DEBUG");

        LoaderProcess loader = startWithShortPoolTimeout(env, "--once");
        int exit = loader.awaitExit(Duration.ofSeconds(60));

        String output = loader.output();
        assertEquals(2, exit, output);
        assertEquals(1, loader.errorLines().size(), output);
        assertTrue(loader.errorLines().get(0).contains("refused the login (authentication failed): set CLICKHOUSE_USER and"
                + " CLICKHOUSE_PASSWORD"), output);
        assertFalse(output.contains("clickhouse-server"), "not ClickHouse's own installation advice:\n" + output);
        String basic = Base64.getEncoder().encodeToString(("default:" + SECRET).getBytes());
        assertFalse(output.contains(SECRET), "the password leaked:\n" + output);
        assertFalse(output.contains(basic), "the password leaked in an Authorization header:\n" + output);
        // LOG_LEVEL makes the loader's own lines verbose; libraries stay at WARN
        List<String> libraryChatter = loader.lines().stream()
                .filter(l -> l.matches("^\\S+ \\S+ \\| (DEBUG|INFO |TRACE) \\| .*"))
                .filter(l -> !LOADER_MODULES.contains(l.split(" \\| ")[2]))
                .toList();
        assertEquals(List.of(), libraryChatter, output);
    }

    // ---------------------------------------------------------------- helpers

    String assertStopsBeforeConnecting(Map<String, String> env, String variable) throws Exception {
        return assertStopsBeforeConnecting(env, variable, new String[] {"--once"});
    }

    /** Runs the program and checks the whole contract of a configuration error; returns its one line. */
    String assertStopsBeforeConnecting(Map<String, String> env, String variable, String[] args) throws Exception {
        long started = System.nanoTime();
        LoaderProcess loader = start(env, args);

        int exit = loader.awaitExit(FAST);

        Duration took = Duration.ofNanos(System.nanoTime() - started);
        String output = loader.output();
        List<String> lines = loader.lines().stream().filter(l -> !l.isBlank()).toList();
        assertAll(
                () -> assertEquals(2, exit, "exit code; output:\n" + output),
                () -> assertEquals(1, loader.errorLines().size(), "exactly one ERROR line; output:\n" + output),
                () -> assertEquals(1, lines.size(), "nothing but that line; output:\n" + output),
                () -> assertTrue(LoaderProcess.LOG_LINE.matcher(lines.get(0)).matches(), "log format: " + lines.get(0)),
                () -> assertTrue(lines.get(0).contains(variable), "names " + variable + ": " + lines.get(0)),
                () -> assertFalse(output.contains(SECRET), "a password leaked:\n" + output),
                () -> assertEquals(0, trap.connections(), "something connected before the configuration was checked"),
                () -> assertTrue(took.toMillis() < FAST.toMillis(), "took " + took));
        return lines.get(0);
    }

    /**
     * HikariCP waits its connectionTimeout (30 s by default, which the loader keeps) before it gives up
     * on a login that fails; a shorter one through HikariCP's own system property keeps a test quick
     * without changing what it tests.
     */
    LoaderProcess startWithShortPoolTimeout(Map<String, String> env, String... args) throws IOException {
        Path hikari = Files.writeString(tmp.resolve("hikari.properties"), "connectionTimeout=2000\n");
        LoaderProcess process = LoaderProcess.start(workDir, env, List.of("-Dhikaricp.configurationFile=" + hikari), args);
        processes.add(process);
        return process;
    }

    LoaderProcess start(Map<String, String> env, String... args) throws IOException {
        LoaderProcess process = LoaderProcess.start(workDir, env, args);
        processes.add(process);
        return process;
    }

    /**
     * Puts a rule at the top of the embedded server's pg_hba.conf that makes just this role authenticate
     * with a password; every other role keeps the trust rules below it.
     */
    static void requirePasswordFor(String role, String password) throws Exception {
        try (Connection c = TestDatabases.postgres("postgres"); Statement s = c.createStatement()) {
            s.execute("DROP ROLE IF EXISTS " + role);
            s.execute("CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'");
            String hbaFile;
            try (ResultSet rs = s.executeQuery("SHOW hba_file")) {
                rs.next();
                hbaFile = rs.getString(1);
            }
            Path hba = Path.of(hbaFile);
            String rule = "host all " + role + " all scram-sha-256\n";
            String current = Files.readString(hba);
            if (!current.contains(rule)) {
                Files.writeString(hba, rule + current);
            }
            try (ResultSet rs = s.executeQuery("SELECT pg_reload_conf()")) {
                rs.next();
            }
        }
        Thread.sleep(200); // the postmaster rereads the file on SIGHUP, asynchronously
    }

    /** A listening socket on 127.0.0.1 that counts connections and never answers. */
    static final class ConnectionTrap implements AutoCloseable {

        private final ServerSocket server;
        private final AtomicInteger connections = new AtomicInteger();
        private final List<Socket> accepted = new ArrayList<>();

        ConnectionTrap() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread acceptor = new Thread(this::accept, "connection-trap-" + server.getLocalPort());
            acceptor.setDaemon(true);
            acceptor.start();
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket socket = server.accept();
                    connections.incrementAndGet();
                    synchronized (accepted) {
                        accepted.add(socket);
                    }
                } catch (IOException e) {
                    return;
                }
            }
        }

        int port() {
            return server.getLocalPort();
        }

        int connections() {
            return connections.get();
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (accepted) {
                for (Socket socket : accepted) {
                    socket.close();
                }
            }
        }
    }
}
