package io.pgchloader.support;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.LoaderApplication;
import io.pgchloader.config.Settings;
import io.pgchloader.cycle.SyncStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A loader on databases of its own: a PostgreSQL and a ClickHouse database, a routes folder holding the
 * project's route template plus the templatedRoutes a test writes, and the application with its
 * scheduler held so that the test decides when a cycle runs.
 */
public final class LoaderFixture implements AutoCloseable {

    public final String database;
    public final Path routesDir;
    private LoaderApplication app;

    public LoaderFixture(Path tempDir) throws IOException {
        database = TestDatabases.freshDatabase("t");
        routesDir = tempDir.resolve("routes");
        Files.createDirectories(routesDir);
        Files.copy(Path.of("routes", "pg-to-clickhouse.yaml"), routesDir.resolve("pg-to-clickhouse.yaml"));
    }

    /** Copies the project's own tables.yaml (the seed's five tables). */
    public LoaderFixture withSeedRoutes() throws IOException {
        Files.copy(Path.of("routes", "tables.yaml"), routesDir.resolve("tables.yaml"));
        return this;
    }

    /** Adds a routes file, as a user would. */
    public LoaderFixture withRoutes(String fileName, String yaml) throws IOException {
        Files.writeString(routesDir.resolve(fileName), yaml);
        return this;
    }

    /** A templatedRoute of the project's template with the given parameters (name, value pairs). */
    /**
     * The rows a ClickHouse table holds once two readings half a second apart agree: after a loader was killed,
     * an INSERT whose body reached ClickHouse before the kill is still committed a moment later.
     */
    public long settledCount(String table) throws Exception {
        long before = chLong("SELECT count() FROM " + table);
        while (true) {
            Thread.sleep(500);
            long now = chLong("SELECT count() FROM " + table);
            if (now == before) {
                return now;
            }
            before = now;
        }
    }

    public static String templatedRoute(String routeId, String... parameters) {
        return templatedRoute("pg-to-clickhouse", routeId, parameters);
    }

    /**
     * A routes folder {@code dir} as a user makes one for a CDC table: the {@code pg-cdc-to-clickhouse}
     * template beside a tables.yaml with one templatedRoute of it.
     */
    public static Path cdcRoutes(Path dir, String routeId, String... parameters) throws IOException {
        Files.createDirectories(dir);
        Files.copy(Path.of("routes", "pg-cdc-to-clickhouse.yaml"), dir.resolve("pg-cdc-to-clickhouse.yaml"));
        Files.writeString(dir.resolve("tables.yaml"), templatedRoute("pg-cdc-to-clickhouse", routeId, parameters));
        return dir;
    }

    private static String templatedRoute(String template, String routeId, String... parameters) {
        StringBuilder yaml = new StringBuilder("- templatedRoute:\n    routeTemplateRef: ").append(template).append("\n    routeId: ")
                .append(routeId).append("\n    parameters:\n");
        for (int i = 0; i < parameters.length; i += 2) {
            yaml.append("      - name: ").append(parameters[i]).append("\n        value: \"")
                    .append(yamlEscaped(parameters[i + 1])).append("\"\n");
        }
        return yaml.toString();
    }

    /** The inside of a YAML double-quoted scalar: a line break written as is would be folded into a space. */
    private static String yamlEscaped(String value) {
        StringBuilder escaped = new StringBuilder();
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '"') {
                escaped.append('\\').append(c);
            } else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029') {
                escaped.append(String.format("\\u%04x", (int) c));
            } else {
                escaped.append(c);
            }
        }
        return escaped.toString();
    }

    public Map<String, String> environment() {
        Map<String, String> env = TestDatabases.servers().settings(database, database);
        env.put("ROUTES_DIR", routesDir.toString());
        // no HTTP server unless a test asks for one on a free port: loaders of several tests may run at once
        env.put("HTTP_PORT", "0");
        return env;
    }

    public LoaderFixture start() {
        return start(Map.of());
    }

    /** Starts with some settings changed from the defaults. */
    public LoaderFixture start(Map<String, String> settings) {
        return start(settings, false);
    }

    /**
     * Starts as the loader runs without {@code --once}: Quartz fires the cycles (give the routes a cron
     * that suits the test), and what only that mode has is on: HTTP_PORT, CLUSTER_LOCK_DIR.
     */
    public LoaderFixture startScheduled(Map<String, String> settings) {
        return start(settings, true);
    }

    private LoaderFixture start(Map<String, String> settings, boolean scheduled) {
        Map<String, String> env = environment();
        env.putAll(settings);
        app = new LoaderApplication(Settings.of(env), scheduled);
        app.start();
        return this;
    }

    public SyncStatus.Outcome cycle(String routeId) {
        return app.cycles().run(routeId);
    }

    /** Runs a cycle that must succeed; the test fails with the cycle's message otherwise. */
    public SyncStatus.Outcome succeedingCycle(String routeId) {
        SyncStatus.Outcome outcome = cycle(routeId);
        assertTrue(outcome.succeeded(), outcome.message());
        return outcome;
    }

    public LoaderApplication app() {
        return app;
    }

    public Connection postgres() throws SQLException {
        return TestDatabases.postgres(database);
    }

    /** A connection to the test's PostgreSQL database as another role (the embedded server trusts local logins). */
    public Connection postgresAs(String role) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + TestDatabases.servers().postgresPort()
                + "/" + database, role, "");
    }

    public Connection clickHouse() throws SQLException {
        return TestDatabases.clickHouse(database);
    }

    public void pg(String... statements) throws SQLException {
        try (Connection c = postgres(); Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }

    public void ch(String... statements) throws SQLException {
        try (Connection c = clickHouse(); Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }

    public long chLong(String sql) throws SQLException {
        try (Connection c = clickHouse(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    public long pgLong(String sql) throws SQLException {
        try (Connection c = postgres(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** All rows of a ClickHouse query as text, one string per row with columns joined by " | ". */
    public List<String> chRows(String sql) throws SQLException {
        try (Connection c = clickHouse(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rows(rs);
        }
    }

    public List<String> pgRows(String sql) throws SQLException {
        try (Connection c = postgres(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rows(rs);
        }
    }

    private static List<String> rows(ResultSet rs) throws SQLException {
        List<String> rows = new ArrayList<>();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            StringBuilder row = new StringBuilder();
            for (int i = 1; i <= n; i++) {
                row.append(i > 1 ? " | " : "").append(rs.getString(i));
            }
            rows.add(row.toString());
        }
        return rows;
    }

    /**
     * Polls ClickHouse until the query's single value equals the expected one, while the loader process
     * that should deliver it keeps running.
     */
    public void awaitValue(String sql, String expected, LoaderProcess syncing, Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            try {
                List<String> rows = chRows(sql);
                last = rows.isEmpty() ? null : rows.get(0);
            } catch (SQLException e) {
                last = "(" + e.getMessage() + ")"; // the first cycle has not created the table yet
            }
            if (expected.equals(last)) {
                return;
            }
            if (!syncing.isAlive()) {
                throw new AssertionError("the loader exited:\n" + syncing.output());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("\"" + sql + "\" gave " + last + ", not " + expected + ", within "
                + limit.toSeconds() + " s; output:\n" + syncing.output());
    }

    @Override
    public void close() {
        if (app != null) {
            app.close();
        }
    }
}
