package io.pgchloader.ops;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.camel.health.HealthCheckResultBuilder;

/**
 * Readiness: can the loader use one of its databases right now? One {@code SELECT 1} with the loader's
 * own address, database and credentials, given up after {@link #TIMEOUT}; a slower answer counts as
 * unreachable. Not a liveness check: a database outage is no reason to restart the loader, whose cycles
 * retry by themselves and resume from ClickHouse's watermark.
 *
 * <ul>
 *   <li>PostgreSQL: through a pool of its own holding at most one connection (a copy of the loader's
 *   pool settings), so a probe every few seconds costs one round trip and never waits for a connection
 *   the table cycles hold.</li>
 *   <li>ClickHouse: a plain request to its HTTP interface, the same one the JDBC driver uses, with the
 *   user and password in ClickHouse's {@code X-ClickHouse-User}/{@code X-ClickHouse-Key} headers. The
 *   driver itself would log several retry warnings and a stack trace at every probe while ClickHouse is
 *   down.</li>
 * </ul>
 */
public final class DatabaseHealthCheck extends ReadinessCheck implements AutoCloseable {

    /** How long a probe may take in all. */
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    /** Probes run here, so a hanging driver call cannot hold the HTTP request beyond the timeout. */
    private static final ExecutorService PROBES = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "database-health-check");
        thread.setDaemon(true);
        return thread;
    });

    private final String name;
    private final String description;
    private final Callable<Void> probe;
    private final AutoCloseable resources;

    private DatabaseHealthCheck(String id, String name, String description, Callable<Void> probe, AutoCloseable resources) {
        super(id);
        this.name = name;
        this.description = description;
        this.probe = probe;
        this.resources = resources;
    }

    /**
     * @param description the database as operators know it (host, port, database, user; never a password),
     *                    shown to whoever asks; null to show only which database is down (HEALTH_DETAILS=none)
     * @param pool        the loader's PostgreSQL pool, whose settings and credentials are copied
     */
    public static DatabaseHealthCheck postgres(String description, HikariDataSource pool) {
        HikariConfig config = new HikariConfig();
        pool.copyStateTo(config);
        config.setPoolName(pool.getPoolName() + "-health");
        config.setMaximumPoolSize(1);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(TIMEOUT.toMillis() * 3 / 4);
        config.setValidationTimeout(TIMEOUT.toMillis() / 2);
        config.setInitializationFailTimeout(-1);
        // a probe never opens a transaction (the loader's pool has autocommit off for its cursors)
        config.setAutoCommit(true);
        HikariDataSource probes = new HikariDataSource(config);
        return new DatabaseHealthCheck("postgresql", "PostgreSQL", description, () -> {
            try (Connection connection = probes.getConnection(); Statement statement = connection.createStatement()) {
                statement.setQueryTimeout(1);
                statement.execute("SELECT 1");
            }
            return null;
        }, probes);
    }

    /**
     * ClickHouse's HTTP interface at {@code http://host:port/}, {@code SELECT 1} in the given database.
     *
     * @param description as for {@link #postgres}
     */
    public static DatabaseHealthCheck clickHouse(String description, String host, int port, String database, String user,
                                                 String password) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
        URI uri = URI.create("http://" + (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port
                + "/?query=SELECT%201&database=" + URLEncoder.encode(database, StandardCharsets.UTF_8));
        return new DatabaseHealthCheck("clickhouse", "ClickHouse", description, () -> {
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(TIMEOUT)
                    .header("X-ClickHouse-User", user)
                    .header("X-ClickHouse-Key", password)
                    .GET().build();
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                String body = response.body().strip();
                int end = body.indexOf('\n');
                throw new IOException("HTTP " + response.statusCode() + ": "
                        + (end < 0 ? body : body.substring(0, end)).replaceAll("\\s+", " "));
            }
            return null;
        }, () -> { });
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        if (description != null) {
            builder.detail("database", description);
        }
        Future<Void> answer = PROBES.submit(probe);
        try {
            answer.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            builder.up();
        } catch (TimeoutException e) {
            answer.cancel(true);
            builder.message(plain((description == null ? name : description) + " did not answer within " + TIMEOUT.toSeconds() + " s"));
            builder.down();
        } catch (ExecutionException e) {
            // the driver's reason names hosts, users and databases: only for those who chose to show them
            builder.message(plain(description == null ? "cannot use " + name + " (HEALTH_DETAILS=full shows why; the cycles log it)"
                    : "cannot use " + description + ": " + rootMessage(e)));
            builder.down();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            builder.message("interrupted");
            builder.down();
        }
    }

    /**
     * A message without the characters JSON escapes. Camel's health endpoint (camel-platform-http-main
     * 4.18) escapes a check's message and then writes it through a JSON object that escapes it again, so
     * PostgreSQL's {@code database "x" does not exist} reached clients as {@code \\\"x\\\"}: quotes become
     * single quotes, backslashes slashes, control characters spaces.
     */
    static String plain(String message) {
        StringBuilder out = new StringBuilder(message.length());
        for (char c : message.toCharArray()) {
            out.append(c == '"' ? '\'' : c == '\\' ? '/' : Character.isISOControl(c) ? ' ' : c);
        }
        return out.toString();
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() != null && !root.getMessage().isBlank() ? root.getMessage()
                : root instanceof ConnectException ? "connection refused (nothing listens there, or a firewall)"
                : root.getClass().getSimpleName();
        return message.length() > 300 ? message.substring(0, 300) + "…" : message;
    }

    @Override
    public void close() throws Exception {
        resources.close();
    }
}
