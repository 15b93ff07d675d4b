package io.pgchloader.bench;

import io.pgchloader.embedded.EmbeddedDatabases;
import io.pgchloader.support.Http;
import io.pgchloader.support.LoaderProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What start-up costs per table: for each N given, a ROUTES_DIR with the route template and N
 * templatedRoutes (tables that need not exist: the cron's next fire is in 2098, so no cycle runs), the
 * loader started as a user starts it ({@code java -Xmx256m … io.pgchloader.Main}, scheduled, on embedded
 * databases), timed to its "Started N table route(s)" line and to the first 200 from
 * {@code /observe/health/ready}, with its resident memory then.
 *
 * <p>Run: {@code mvn -B -q -DskipTests package && java -cp "$PWD/target/test-classes:$PWD/target/classes:$PWD/target/lib/*"
 * io.pgchloader.bench.StartupBenchmark 100 1000 10000:2g} (N:HEAP for another -Xmx than 256m)
 */
public final class StartupBenchmark {

    private static final Pattern STARTED = Pattern.compile("Started ([\\d,]+) table route\\(s\\) in ([\\d.]+) s");

    private StartupBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("pgch-startup-bench");
        try (EmbeddedDatabases databases = EmbeddedDatabases.start()) {
            System.out.println("| tables | heap | Camel started | ready (HTTP 200) | per table | RSS when ready |");
            System.out.println("|---|---|---|---|---|---|");
            for (String arg : args) {
                String[] parts = arg.split(":");
                int tables = Integer.parseInt(parts[0].replace("_", ""));
                String heap = parts.length > 1 ? parts[1] : null;
                Path dir = Files.createDirectories(work.resolve("n" + tables));
                Path routes = Files.createDirectories(dir.resolve("routes"));
                Files.copy(Path.of("routes", "pg-to-clickhouse.yaml"), routes.resolve("pg-to-clickhouse.yaml"));
                StringBuilder yaml = new StringBuilder();
                for (int i = 0; i < tables; i++) {
                    yaml.append("- templatedRoute:\n    routeTemplateRef: pg-to-clickhouse\n    routeId: sync-t").append(i)
                            .append("\n    parameters:\n      - name: table\n        value: t").append(i)
                            .append("\n      - name: cron\n        value: \"0 0 0 1 1 ? 2098\"\n");
                }
                Files.writeString(routes.resolve("tables.yaml"), yaml);
                Map<String, String> env = databases.settings("postgres", "default");
                env.put("ROUTES_DIR", routes.toString());
                int port = Http.freePort();
                env.put("HTTP_PORT", Integer.toString(port));
                long begin = System.nanoTime();
                // -Xmx256m unless given: N:HEAP, e.g. 10000:2g
                List<String> jvm = heap == null ? List.of() : List.of("-Xmx" + heap);
                try (LoaderProcess loader = LoaderProcess.start(dir, env, jvm)) {
                    double ready = awaitReady(loader, port, begin, Duration.ofMinutes(30));
                    Matcher started = STARTED.matcher(loader.output());
                    String camel = started.find() ? started.group(2) + " s" : "?";
                    System.out.printf("| %,d | %s | %s | %.1f s | %.1f ms | %d MB |%n", tables, heap == null ? "256m" : heap,
                            camel, ready, ready * 1000 / tables,
                            rssMegabytes(loader.pid()));
                    Files.writeString(dir.resolve("progress.txt"), String.join("\n", loader.lines().stream()
                            .filter(l -> l.contains("Starting:") || l.contains("Started ")).toList()));
                    loader.terminate();
                }
            }
        }
        System.out.println("progress lines: " + work + "/n*/progress.txt");
    }

    private static double awaitReady(LoaderProcess loader, int port, long begin, Duration limit) throws Exception {
        long deadline = begin + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!loader.isAlive()) {
                throw new IllegalStateException("the loader exited:\n" + loader.output());
            }
            try {
                if (Http.get(port, "/observe/health/ready").status() == 200) {
                    return (System.nanoTime() - begin) / 1e9;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("not ready within " + limit + ":\n" + loader.output());
    }

    private static long rssMegabytes(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
            }
        }
        return -1;
    }
}
