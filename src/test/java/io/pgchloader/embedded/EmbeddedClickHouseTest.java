package io.pgchloader.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Runs the real engine: these tests start actual ClickHouse servers and talk to them over HTTP. */
@Timeout(value = 5, unit = TimeUnit.MINUTES) // generous: the first run on a machine fetches ~180 MB
class EmbeddedClickHouseTest {

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();

    @Test
    void serves_the_clickhouse_http_interface_until_closed() throws Exception {
        EmbeddedClickHouse clickHouse = EmbeddedClickHouse.start();
        String base = "http://" + clickHouse.host() + ":" + clickHouse.httpPort();
        Path dataDir = clickHouse.dataDir();
        try {
            assertEquals("127.0.0.1", clickHouse.host());
            assertEquals("Ok.", get(base + "/ping").strip());
            String version = query(base, "SELECT version()").strip();
            assertTrue(version.startsWith("26."), "version " + version);
            assertTrue(Files.isDirectory(dataDir));
        } finally {
            clickHouse.close();
        }

        assertThrows(IOException.class, () -> get(base + "/ping"), "the port still answers after close()");
        assertFalse(Files.exists(dataDir), "close() leaves the data dir " + dataDir + " behind");
        clickHouse.close(); // a second close is harmless
    }

    @Test
    void keeps_the_latest_version_of_a_row_in_a_replacing_merge_tree() throws Exception {
        try (EmbeddedClickHouse clickHouse = EmbeddedClickHouse.start()) {
            String base = "http://" + clickHouse.host() + ":" + clickHouse.httpPort();
            query(base, "CREATE TABLE orders (id UInt64, status String, updated_at DateTime64(6)) "
                    + "ENGINE = ReplacingMergeTree(updated_at) ORDER BY id");
            query(base, "INSERT INTO orders VALUES "
                    + "(1, 'new', '2026-01-01 10:00:00.000001'), (2, 'new', '2026-01-01 10:00:00.000002')");
            query(base, "INSERT INTO orders VALUES (1, 'shipped', '2026-01-02 08:30:00.123456')");

            assertEquals("1\tshipped\t2026-01-02 08:30:00.123456\n2\tnew\t2026-01-01 10:00:00.000002\n",
                    query(base, "SELECT id, status, updated_at FROM orders FINAL ORDER BY id FORMAT TabSeparated"));
        }
    }

    @Test
    void gives_each_server_its_own_port_and_data() throws Exception {
        try (EmbeddedClickHouse first = EmbeddedClickHouse.start();
             EmbeddedClickHouse second = EmbeddedClickHouse.start()) {
            assertNotEquals(first.httpPort(), second.httpPort());
            String firstBase = "http://" + first.host() + ":" + first.httpPort();
            String secondBase = "http://" + second.host() + ":" + second.httpPort();

            query(firstBase, "CREATE TABLE only_here (x UInt8) ENGINE = MergeTree ORDER BY x");

            assertEquals("1", query(firstBase, "EXISTS TABLE only_here").strip());
            assertEquals("0", query(secondBase, "EXISTS TABLE only_here").strip());
        }
    }

    @Test
    void exits_on_its_own_when_the_process_that_started_it_dies(@TempDir Path dir) throws Exception {
        // A JVM killed with SIGKILL runs no shutdown hook; a shell stands in for it here, because the
        // test cannot SIGKILL its own JVM.
        Path launcher = dir.resolve(EmbeddedClickHouse.LAUNCHER_RESOURCE);
        try (InputStream in = EmbeddedClickHouse.class.getResourceAsStream(EmbeddedClickHouse.LAUNCHER_RESOURCE)) {
            Files.copy(in, launcher);
        }
        Path dataDir = Files.createDirectory(dir.resolve("data"));
        int port = freePort();
        Process parent = new ProcessBuilder("sh", "-c", "python3 \"$@\" >/dev/null 2>&1 & echo $!; wait", "sh",
                launcher.toString(), EmbeddedClickHouse.ensureEngine().toString(), dataDir.toString(),
                String.valueOf(port))
                .redirectErrorStream(true)
                .start();
        long serverPid;
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8))) {
            serverPid = Long.parseLong(out.readLine().strip());
        }
        Optional<ProcessHandle> server = ProcessHandle.of(serverPid);
        try {
            awaitPing("http://127.0.0.1:" + port, Duration.ofSeconds(60));

            parent.destroyForcibly().waitFor();

            ProcessHandle handle = server.orElseThrow();
            handle.onExit().get(10, TimeUnit.SECONDS);
            assertFalse(handle.isAlive());
        } finally {
            server.ifPresent(ProcessHandle::destroyForcibly);
            parent.destroyForcibly();
        }
    }

    private String get(String url) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(
                HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return response.body();
    }

    private String query(String base, String sql) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(
                HttpRequest.newBuilder(URI.create(base + "/"))
                        .timeout(Duration.ofSeconds(30))
                        .POST(HttpRequest.BodyPublishers.ofString(sql))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), sql + " -> " + response.body());
        return response.body();
    }

    private void awaitPing(String base, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if ("Ok.".equals(get(base + "/ping").strip())) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(100);
        }
        fail("no answer on " + base + "/ping within " + timeout.toSeconds() + " s");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }
}
