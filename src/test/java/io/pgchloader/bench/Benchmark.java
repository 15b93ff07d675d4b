package io.pgchloader.bench;

import io.pgchloader.cycle.SyncCycle;
import io.pgchloader.demo.SeedData;
import io.pgchloader.demo.SqlScripts;
import io.pgchloader.embedded.EmbeddedDatabases;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TimeZone;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * The backfill benchmark of issue 5, in one run on embedded databases:
 * <ol>
 *   <li>an N-row {@code app_user_visits_fact} (the seed schema, every tenth row updated) in PostgreSQL;</li>
 *   <li>ClickHouse's own pull, {@code INSERT INTO … SELECT * FROM postgresql(…)}, into an empty copy;</li>
 *   <li>the loader's backfill of the same table, {@code java -Xmx256m … io.pgchloader.Main --once} in a JVM of
 *   its own (clean environment, ROUTES_DIR with the template and one templatedRoute), with its peak RSS;</li>
 *   <li>the incremental cycle: 5,000 updates + 5,000 inserts, one {@code --once} timed end to end and by its
 *   own log line, then the EXPLAIN of both stream queries.</li>
 * </ol>
 * Test scope on purpose (it never ships); {@code scripts/benchmark.sh} builds and runs it.
 *
 * <p>Arguments: {@code ROWS [--variant "label [batchSize=N] [insertRows=N] [fetchSize=N] [template=FILE] [jvm=OPT]..."]...
 * [--jfr DIR] [--no-incremental] [--heap 256m] [--loader-classpath CP] [--work DIR]}. Each variant is one more
 * backfill of the same PostgreSQL table into a fresh ClickHouse database (default: one variant "loader" with the
 * template's defaults). {@code --jfr DIR} records the first variant with JFR (settings=profile).
 */
public final class Benchmark {

    private static final String TABLE = "app_user_visits_fact";
    private static final String PG_DB = "postgres";
    private static final Pattern CYCLE_LINE = Pattern.compile(
            "public\\.app_user_visits_fact( \\(backfill[^)]*\\))?: created (\\d+), updated (\\d+) rows \\((\\d+) read again\\)"
                    + " in (\\d+) batches, ([\\d.,]+) s");
    private static final long CLOCK_TICKS = 100; // USER_HZ on Linux

    private final int rows;
    private final List<Variant> variants = new ArrayList<>();
    private boolean incremental = true;
    private int rounds = 1;
    private final List<IdleVariant> idleVariants = new ArrayList<>();
    private int idleRounds = 5;
    private String heap = "256m";
    private Path jfrDir;
    private Path work;
    private String loaderClassPath;
    private EmbeddedDatabases db;

    record Variant(String label, Map<String, String> parameters, Integer fetchSize, Path template, List<String> jvm,
                   String classPath) {
    }

    /**
     * JVM options for the start-up comparison of an idle {@code --once}. {@code archive=FILE}: one unmeasured
     * training run writes a class data sharing archive there ({@code -XX:ArchiveClassesAtExit}), and the
     * measured runs map it ({@code -XX:SharedArchiveFile}).
     */
    record IdleVariant(String label, List<String> jvm, Path archive) {
        static IdleVariant parse(String spec) {
            String[] parts = spec.trim().split("\\s+");
            List<String> jvm = new ArrayList<>();
            Path archive = null;
            for (int i = 1; i < parts.length; i++) {
                String[] kv = parts[i].split("=", 2);
                switch (kv[0]) {
                    case "jvm" -> jvm.add(kv[1]);
                    case "archive" -> archive = Path.of(kv[1]).toAbsolutePath();
                    default -> throw new IllegalArgumentException("unknown idle variant option " + parts[i]);
                }
            }
            return new IdleVariant(parts[0], jvm, archive);
        }
    }

    record Run(String label, int exit, double wallSeconds, double cycleSeconds, long created, long updated, long batches,
               long peakRssKb, double loaderCpu, double pgCpu, double chCpu, long targetRows, String output, String load) {
    }

    private Benchmark(int rows) {
        this.rows = rows;
    }

    public static void main(String[] args) throws Exception {
        Locale.setDefault(Locale.ROOT);
        if (args.length == 0) {
            System.err.println("usage: Benchmark ROWS [--variant \"label batchSize=N fetchSize=N template=FILE jvm=OPT\"]..."
                    + " [--rounds N] [--jfr DIR] [--no-incremental] [--heap 256m] [--loader-classpath CP] [--work DIR]");
            System.exit(2);
        }
        Benchmark b = new Benchmark(Integer.parseInt(args[0].replace("_", "")));
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--variant" -> b.variants.add(parseVariant(args[++i]));
                case "--jfr" -> b.jfrDir = Path.of(args[++i]).toAbsolutePath();
                case "--no-incremental" -> b.incremental = false;
                case "--rounds" -> b.rounds = Integer.parseInt(args[++i]);
                case "--idle" -> b.idleVariants.add(IdleVariant.parse(args[++i]));
                case "--idle-rounds" -> b.idleRounds = Integer.parseInt(args[++i]);
                case "--heap" -> b.heap = args[++i];
                case "--loader-classpath" -> b.loaderClassPath = args[++i];
                case "--work" -> b.work = Path.of(args[++i]).toAbsolutePath();
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (b.variants.isEmpty()) {
            b.variants.add(new Variant("loader", Map.of(), null, null, List.of(), null));
        }
        System.exit(b.run());
    }

    private static Variant parseVariant(String spec) {
        String[] parts = spec.trim().split("\\s+");
        Map<String, String> parameters = new LinkedHashMap<>();
        Integer fetch = null;
        Path template = null;
        List<String> jvm = new ArrayList<>();
        String classPath = null;
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].split("=", 2);
            switch (kv[0]) {
                // any route template parameter, e.g. batchSize=1000 insertRows=500000
                case "batchSize", "insertRows", "cron", "backfillParallelism", "backfillChunkRows" -> parameters.put(kv[0], kv[1]);
                case "fetchSize" -> fetch = Integer.parseInt(kv[1]);
                case "template" -> template = Path.of(kv[1]).toAbsolutePath();
                case "jvm" -> jvm.add(kv[1]);
                case "cp" -> classPath = kv[1];
                default -> throw new IllegalArgumentException("unknown variant setting " + parts[i]);
            }
        }
        return new Variant(parts[0], parameters, fetch, template, jvm, classPath);
    }

    private int run() throws Exception {
        if (work == null) {
            work = Files.createTempDirectory("pgch-bench-");
        }
        if (loaderClassPath == null) {
            loaderClassPath = Path.of("target/classes").toAbsolutePath() + ":" + Path.of("target/lib").toAbsolutePath() + "/*";
        }
        printMachine();
        boolean ok = true;
        long t0 = System.nanoTime();
        try (EmbeddedDatabases databases = EmbeddedDatabases.start()) {
            db = databases;
            say("PostgreSQL 127.0.0.1:%d, ClickHouse %s:%d, work dir %s (started in %.1f s)", db.postgresPort(),
                    db.clickHouseHost(), db.clickHousePort(), work, secondsSince(t0));
            seed();

            // rounds alternate the native pull and the loader, so a busy moment of a shared machine hits both
            List<Double> natives = new ArrayList<>();
            List<List<Run>> rounds = new ArrayList<>();
            for (int round = 1; round <= this.rounds; round++) {
                if (this.rounds > 1) {
                    say("--- round %d of %d", round, this.rounds);
                }
                natives.add(nativePull());
                List<Run> runs = new ArrayList<>();
                for (int i = 0; i < variants.size(); i++) {
                    Run r = backfill(variants.get(i), round == 1 && i == 0 && jfrDir != null);
                    runs.add(r);
                    ok &= r.exit == 0 && r.targetRows == rows;
                }
                rounds.add(runs);
                if (round == 1) {
                    compareTargetSchemas(runs.get(0).label);
                }
            }

            for (int round = 0; round < rounds.size(); round++) {
                double nativeSeconds = natives.get(round);
                say("");
                say("=== Backfill, %,d rows (loader heap -Xmx%s)%s ===", rows, heap,
                        rounds.size() > 1 ? ", round " + (round + 1) : "");
                say("native pull: %.2f s, %,.0f rows/s", nativeSeconds, rows / nativeSeconds);
                say("%-22s %8s %8s %10s %10s %7s %7s %9s %8s %8s %8s %8s", "variant", "cycle s", "wall s", "rows/s",
                        "rows/s e2e", "ratio", "e2e", "peakRSS", "cpuJVM", "cpuPG", "cpuCH", "load 1m");
                for (Run r : rounds.get(round)) {
                    say("%-22s %8.2f %8.2f %,10.0f %,10.0f %7.2f %7.2f %6d MB %8.1f %8.1f %8.1f %8s%s", r.label, r.cycleSeconds,
                            r.wallSeconds, rows / r.cycleSeconds, rows / r.wallSeconds, nativeSeconds / r.cycleSeconds,
                            nativeSeconds / r.wallSeconds, r.peakRssKb / 1024, r.loaderCpu, r.pgCpu, r.chCpu,
                            r.load.split(" ")[0], r.exit == 0 && r.targetRows == rows ? "" : "  FAILED exit " + r.exit + ", " + r.targetRows + " rows");
                }
            }
            say("(ratio = loader rows/s / native rows/s, by the cycle's own duration; e2e includes JVM and Camel"
                    + " start; cpu* = CPU seconds each process used during the run)");
            if (rounds.size() > 1) {
                say("");
                say("=== Medians over %d rounds ===", rounds.size());
                say("native pull: %.2f s (%.2f .. %.2f)", median(natives), Collections.min(natives),
                        Collections.max(natives));
                for (int i = 0; i < variants.size(); i++) {
                    List<Double> cycles = new ArrayList<>();
                    List<Double> ratios = new ArrayList<>();
                    long peak = 0;
                    for (int round = 0; round < rounds.size(); round++) {
                        Run r = rounds.get(round).get(i);
                        cycles.add(r.cycleSeconds);
                        ratios.add(natives.get(round) / r.cycleSeconds);
                        peak = Math.max(peak, r.peakRssKb / 1024);
                    }
                    say("%-22s cycle %.2f s (%.2f .. %.2f), %,.0f rows/s, ratio %.2f (%.2f .. %.2f), peak RSS up to %d MB",
                            variants.get(i).label(), median(cycles), Collections.min(cycles),
                            Collections.max(cycles), rows / median(cycles), median(ratios),
                            Collections.min(ratios), Collections.max(ratios), peak);
                }
            }
            List<Run> runs = rounds.get(0);

            if (incremental) {
                ok &= incremental(runs.get(0).label);
            }
        }
        say("total %.1f s", secondsSince(t0));
        return ok ? 0 : 1;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    // ---------------------------------------------------------------- setup

    private void printMachine() throws IOException {
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("?");
        String mem = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
                .findFirst().map(l -> l.replaceAll("\\D+", "")).orElse("0");
        say("machine: %d cores (%s), %.1f GiB RAM, %s %s, JDK %s (%s)", Runtime.getRuntime().availableProcessors(), cpu,
                Long.parseLong(mem) / 1024.0 / 1024.0, System.getProperty("os.name"), System.getProperty("os.version"),
                System.getProperty("java.version"), System.getProperty("java.vm.name"));
    }

    private void seed() throws SQLException {
        long t = System.nanoTime();
        try (Connection pg = pg().getConnection(); Statement s = pg.createStatement()) {
            SeedData.create(pg, rows);
            // hint bits and visibility map set once, so neither contender pays for them
            s.execute("VACUUM (ANALYZE) " + TABLE);
            try (ResultSet rs = s.executeQuery("SELECT count(*), count(updated_at), pg_size_pretty(pg_total_relation_size('"
                    + TABLE + "')), pg_size_pretty(pg_relation_size('" + TABLE + "')), version() FROM " + TABLE)) {
                rs.next();
                say("seeded %s: %,d rows (%,d updated), %s with indexes (heap %s) in %.1f s; %s", TABLE, rs.getLong(1),
                        rs.getLong(2), rs.getString(3), rs.getString(4), secondsSince(t), rs.getString(5).replaceAll(" on .*", ""));
            }
        }
    }

    private DataSource pg() {
        return db.postgres(PG_DB);
    }

    private Connection ch(String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "default");
        p.setProperty("password", db.clickHousePassword());
        return DriverManager.getConnection("jdbc:clickhouse://" + db.clickHouseHost() + ":" + db.clickHousePort() + "/"
                + database, p);
    }

    // ---------------------------------------------------------------- (a) native pull

    private double nativePull() throws Exception {
        try (Connection ch = ch("default"); Statement s = ch.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS bench_native");
            s.execute("CREATE DATABASE bench_native");
        }
        try (Connection ch = ch("bench_native")) {
            // the seed's ClickHouse schema: the tables as the loader creates them
            SqlScripts.run(ch, "sql/ddl-ch.sql");
        }
        Cpu pgCpu = new Cpu(postmasterPid());
        Cpu chCpu = new Cpu(clickHousePid());
        long t = System.nanoTime();
        try (Connection ch = ch("bench_native"); Statement s = ch.createStatement()) {
            s.execute("INSERT INTO bench_native." + TABLE + " SELECT * FROM postgresql('127.0.0.1:" + db.postgresPort()
                    + "', '" + PG_DB + "', '" + TABLE + "', 'postgres', '')");
        }
        double seconds = secondsSince(t);
        double pg = pgCpu.used();
        double chUsed = chCpu.used();
        long count = count("bench_native");
        say("native pull: %,d rows in %.2f s = %,.0f rows/s (CPU s: PostgreSQL %.1f, ClickHouse %.1f); load average %s",
                count, seconds, count / seconds, pg, chUsed, loadAverage());
        if (count != rows) {
            throw new IllegalStateException("native pull copied " + count + " rows, expected " + rows);
        }
        return seconds;
    }

    private long count(String database) throws SQLException {
        try (Connection ch = ch(database); Statement s = ch.createStatement();
             ResultSet rs = s.executeQuery("SELECT count() FROM " + database + "." + TABLE)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private void compareTargetSchemas(String loaderDb) throws SQLException {
        String sql = "SELECT name, type FROM system.columns WHERE database = '%s' AND table = '" + TABLE + "' ORDER BY position";
        List<String> a = new ArrayList<>();
        List<String> b = new ArrayList<>();
        try (Connection ch = ch("default"); Statement s = ch.createStatement()) {
            try (ResultSet rs = s.executeQuery(String.format(sql, "bench_native"))) {
                while (rs.next()) {
                    a.add(rs.getString(1) + " " + rs.getString(2));
                }
            }
            try (ResultSet rs = s.executeQuery(String.format(sql, "bench_" + loaderDb))) {
                while (rs.next()) {
                    b.add(rs.getString(1) + " " + rs.getString(2));
                }
            }
        }
        say(a.equals(b) ? "target tables identical (%d columns)" : "NOTE: target tables differ: native %s vs loader %s",
                a.equals(b) ? a.size() : a, b);
    }

    // ---------------------------------------------------------------- (b) the loader's backfill

    private Run backfill(Variant v, boolean jfr) throws Exception {
        String database = "bench_" + v.label;
        try (Connection ch = ch("default"); Statement s = ch.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + database);
            s.execute("CREATE DATABASE " + database);
        }
        Path dir = Files.createDirectories(work.resolve(v.label));
        Path routes = Files.createDirectories(dir.resolve("routes"));
        Path template = v.template != null ? v.template : Path.of("routes/pg-to-clickhouse.yaml");
        Files.copy(template, routes.resolve("pg-to-clickhouse.yaml"), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(routes.resolve("tables.yaml"), """
                - templatedRoute:
                    routeTemplateRef: pg-to-clickhouse
                    routeId: sync-app-user-visits-fact
                    parameters:
                      - name: table
                        value: app_user_visits_fact
                """ + v.parameters.entrySet().stream().map(p -> """
                      - name: %s
                        value: "%s"
                """.formatted(p.getKey(), p.getValue())).collect(Collectors.joining()));
        List<String> jvm = new ArrayList<>(v.jvm);
        if (jfr) {
            Files.createDirectories(jfrDir);
            jvm.add("-XX:StartFlightRecording=filename=" + jfrDir.resolve(v.label + ".jfr") + ",settings=profile,jdk.ExecutionSample#period=1ms,dumponexit=true");
        }
        Map<String, String> env = env(database, routes);
        if (v.fetchSize != null) {
            env.put("PG_FETCH_SIZE", Integer.toString(v.fetchSize));
        }
        say("--- backfill %s (parameters %s, PG_FETCH_SIZE %s, template %s%s)", v.label,
                v.parameters.isEmpty() ? "default" : v.parameters, v.fetchSize == null ? "default" : v.fetchSize, template,
                jvm.isEmpty() ? "" : ", jvm " + String.join(" ", jvm));
        Run r = runLoader(v.label, dir, env, jvm, database, v.classPath);
        say("%s: exit %d, cycle %.2f s (%,.0f rows/s), wall %.2f s, %d batches, peak RSS %d MB, CPU s: loader %.1f,"
                        + " PostgreSQL %.1f, ClickHouse %.1f; ClickHouse holds %,d rows; load average %s", v.label, r.exit,
                r.cycleSeconds, rows / r.cycleSeconds, r.wallSeconds, r.batches, r.peakRssKb / 1024, r.loaderCpu, r.pgCpu,
                r.chCpu, r.targetRows, r.load);
        if (r.exit != 0 || r.targetRows != rows) {
            say("loader output:%n%s", r.output);
        }
        if (jfr) {
            say("JFR recording: %s", jfrDir.resolve(v.label + ".jfr"));
        }
        return r;
    }

    private Map<String, String> env(String database, Path routes) {
        Map<String, String> env = new LinkedHashMap<>(db.settings(PG_DB, database));
        env.put("ROUTES_DIR", routes.toString());
        env.put("LOG_LEVEL", "INFO");
        return env;
    }

    /** One {@code --once} in a JVM of its own, with a clean environment; peak RSS by polling VmHWM. */
    private Run runLoader(String label, Path dir, Map<String, String> environment, List<String> jvmOptions,
                          String database) throws Exception {
        return runLoader(label, dir, environment, jvmOptions, database, null);
    }

    private Run runLoader(String label, Path dir, Map<String, String> environment, List<String> jvmOptions,
                          String database, String classPath) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + heap);
        command.add("-Duser.timezone=" + TimeZone.getDefault().getID());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(classPath != null ? classPath : loaderClassPath);
        command.add("io.pgchloader.Main");
        command.add("--once");
        Path output = dir.resolve("loader-output.log");
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(output.toFile());
        Map<String, String> env = builder.environment();
        String path = System.getenv("PATH");
        String home = System.getenv("HOME");
        env.clear();
        if (path != null) {
            env.put("PATH", path);
        }
        if (home != null) {
            env.put("HOME", home);
        }
        env.putAll(environment);

        Cpu pgCpu = new Cpu(postmasterPid());
        Cpu chCpu = new Cpu(clickHousePid());
        long childCpuBefore = ownChildrenCpuTicks();
        long t = System.nanoTime();
        Process p = builder.start();
        long peak = 0;
        Path status = Path.of("/proc/" + p.pid() + "/status");
        while (!p.waitFor(50, TimeUnit.MILLISECONDS)) {
            peak = Math.max(peak, hwmKb(status));
        }
        double wall = secondsSince(t);
        int exit = p.exitValue();
        String load = loadAverage();
        double loaderCpu = (ownChildrenCpuTicks() - childCpuBefore) / (double) CLOCK_TICKS;
        double pg = pgCpu.used();
        double chUsed = chCpu.used();
        String out = Files.readString(output, StandardCharsets.UTF_8);
        Matcher m = CYCLE_LINE.matcher(out);
        double cycle = Double.NaN;
        long created = 0;
        long updated = 0;
        long batches = 0;
        if (m.find()) {
            created = Long.parseLong(m.group(2));
            updated = Long.parseLong(m.group(3));
            batches = Long.parseLong(m.group(5));
            cycle = Double.parseDouble(m.group(6).replace(',', '.'));
        }
        return new Run(label, exit, wall, cycle, created, updated, batches, peak, loaderCpu, pg, chUsed, count(database), out,
                load);
    }

    private static long hwmKb(Path status) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("\\D+", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process ended between two polls
        }
        return 0;
    }

    // ---------------------------------------------------------------- (c) the incremental cycle

    private boolean incremental(String label) throws Exception {
        String database = "bench_" + label;
        Path dir = work.resolve(label);
        Map<String, String> env = env(database, dir.resolve("routes"));
        say("");
        say("=== Incremental cycle on the %,d-row table (ClickHouse database %s) ===", rows, database);

        // what the stream queries will see: the watermarks ClickHouse holds now (the whole-target form of
        // SyncCycle.getWatermarkSql, as a first cycle after a start runs it; WatermarkBenchmark times the rest)
        String[] marks = watermark(database);

        // 5,000 updates of never-updated rows spread over the table, 5,000 new rows
        int changes = 5_000;
        long step = Math.max(1, rows / changes / 2);
        long t = System.nanoTime();
        try (Connection pg = pg().getConnection(); Statement s = pg.createStatement()) {
            pg.setAutoCommit(false);
            int updatedRows = s.executeUpdate("UPDATE " + TABLE + " SET amount = amount + 1, updated_at = localtimestamp"
                    + " WHERE id IN (SELECT id FROM " + TABLE + " WHERE updated_at IS NULL AND id % " + step + " = 1"
                    + " ORDER BY id LIMIT " + changes + ")");
            int inserted = s.executeUpdate("INSERT INTO " + TABLE + " (app_user_id, store_id, branch_id, cashier_id, visited_at,"
                    + " duration_seconds, amount, channel, created_at) SELECT 1 + g % " + SeedData.APP_USERS + ", 1 + g % "
                    + SeedData.STORES + ", 1 + g % " + SeedData.BRANCHES + ", 1 + g % " + SeedData.CASHIERS + ", now(),"
                    + " 30 + g % 3600, (g % 100000) / 100.0, 'web', localtimestamp FROM generate_series(1, " + changes + ") g");
            pg.commit();
            say("changed in PostgreSQL: %,d updated, %,d inserted (%.2f s)", updatedRows, inserted, secondsSince(t));
        }

        // with the first variant's JVM options, like its backfill
        List<String> jvm = variants.get(0).jvm();
        Run r = runLoader(label + "-incremental", dir, env, jvm, database);
        say("incremental --once: exit %d, end to end %.2f s (JVM start, Camel start, catalog, horizon, cycle, exit);"
                        + " cycle's own line %.2f s; created %,d, updated %,d in %d batches; peak RSS %d MB", r.exit,
                r.wallSeconds, r.cycleSeconds, r.created, r.updated, r.batches, r.peakRssKb / 1024);
        printLoaderTimeline(r.output);
        Run idle = runLoader(label + "-idle", dir, env, jvm, database);
        say("no-change --once (fixed cost): end to end %.2f s, cycle's own line %.2f s", idle.wallSeconds, idle.cycleSeconds);
        if (!idleVariants.isEmpty()) {
            idleStarts(dir, env, database);
        }

        explainStreams(marks);
        timeWatermarkQuery(database);
        return r.exit == 0 && r.created == changes && r.updated == changes;
    }

    /**
     * What a cron run costs when there is nothing to do: each idle variant's {@code --once}, rounds
     * alternating between the variants so a busy moment of a shared machine hits them all.
     */
    private void idleStarts(Path dir, Map<String, String> env, String database) throws Exception {
        for (IdleVariant v : idleVariants) {
            if (v.archive() != null) {
                Files.deleteIfExists(v.archive());
                List<String> training = new ArrayList<>(v.jvm());
                training.add("-XX:ArchiveClassesAtExit=" + v.archive());
                Run r = runLoader(v.label() + "-training", dir, env, training, database);
                say("%s: training run wrote %s (%,d KB) in %.2f s, exit %d", v.label(), v.archive(),
                        Files.size(v.archive()) / 1024, r.wallSeconds, r.exit);
            }
        }
        Map<String, List<Run>> runs = new LinkedHashMap<>();
        for (int round = 1; round <= idleRounds; round++) {
            for (IdleVariant v : idleVariants) {
                List<String> jvm = new ArrayList<>(v.jvm());
                if (v.archive() != null) {
                    jvm.add("-XX:SharedArchiveFile=" + v.archive());
                }
                Run r = runLoader(v.label() + "-idle-" + round, dir, env, jvm, database);
                if (r.exit != 0 || r.created != 0 || r.updated != 0) {
                    throw new IllegalStateException(v.label() + ": an idle --once exited " + r.exit + " or moved rows:\n" + r.output);
                }
                runs.computeIfAbsent(v.label(), k -> new ArrayList<>()).add(r);
            }
        }
        say("");
        say("=== Idle --once on %,d rows, medians of %d rounds (-Xmx%s) ===", rows, idleRounds, heap);
        say("%-16s %8s %12s %8s %12s %9s  %s", "variant", "wall s", "(min..max)", "cpu s", "cycle line s", "peakRSS", "JVM options");
        for (IdleVariant v : idleVariants) {
            List<Run> rs = runs.get(v.label());
            List<Double> walls = rs.stream().map(Run::wallSeconds).toList();
            say("%-16s %8.2f %5.2f..%-5.2f %8.2f %12.2f %6d MB  %s%s", v.label(), median(walls), Collections.min(walls),
                    Collections.max(walls), median(rs.stream().map(Run::loaderCpu).toList()),
                    median(rs.stream().map(Run::cycleSeconds).toList()),
                    rs.stream().mapToLong(Run::peakRssKb).max().orElse(0) / 1024, String.join(" ", v.jvm()),
                    v.archive() == null ? "" : " + CDS archive");
        }
    }

    private void printLoaderTimeline(String output) {
        output.lines().filter(l -> l.contains(" | ")).forEach(l -> say("    | %s", l));
    }

    private String[] watermark(String database) throws SQLException {
        try (Connection ch = ch(database); Statement s = ch.createStatement(); ResultSet rs = s.executeQuery(watermarkSql(database))) {
            rs.next();
            return new String[] {rs.getString("created_mark"), rs.getString("updated_mark")};
        }
    }

    private static String watermarkSql(String database) {
        String t = database + "." + TABLE;
        return "WITH (SELECT maxIfOrNull(created_at, isNull(updated_at)) FROM " + t + ") AS cm,"
                + " (SELECT maxOrNull(updated_at) FROM " + t + ") AS um"
                + " SELECT count() AS target_rows, toString(cm) AS created_mark, toString(um) AS updated_mark,"
                + " uniqExactIf(tuple(id), isNull(updated_at) AND created_at = cm) AS created_keys_at_mark,"
                + " uniqExactIf(tuple(id), updated_at = um) AS updated_keys_at_mark FROM " + t;
    }

    private void timeWatermarkQuery(String database) throws SQLException {
        try (Connection ch = ch(database); Statement s = ch.createStatement()) {
            for (int i = 1; i <= 2; i++) {
                long t = System.nanoTime();
                try (ResultSet rs = s.executeQuery(watermarkSql(database))) {
                    rs.next();
                }
                say("ClickHouse watermark query over the whole target (a first cycle), run %d: %.3f s", i, secondsSince(t));
            }
        }
    }

    /** EXPLAIN ANALYZE of both stream queries as SyncCycle.getSelectSql builds them, bounds as literals. */
    private void explainStreams(String[] marks) throws SQLException {
        String columns = "\"id\", \"app_user_id\", \"store_id\", \"branch_id\", \"cashier_id\", \"visited_at\","
                + " \"duration_seconds\", \"amount\", \"channel\", \"created_at\", \"updated_at\"";
        String from = " FROM \"public\".\"app_user_visits_fact\" WHERE ";
        Map<String, String> queries = new LinkedHashMap<>();
        queries.put("created stream (incremental)", "SELECT " + columns + from + "\"updated_at\" IS NULL AND \"created_at\" >= '"
                + marks[0] + "'::timestamp AND \"created_at\" < localtimestamp ORDER BY \"created_at\"");
        queries.put("updated stream (incremental)", "SELECT " + columns + from + "\"updated_at\" >= '" + marks[1]
                + "'::timestamp AND \"updated_at\" < localtimestamp ORDER BY \"updated_at\"");
        queries.put("created stream (backfill, plan only)", "SELECT " + columns + from
                + "\"updated_at\" IS NULL AND \"created_at\" < localtimestamp ORDER BY \"created_at\"");
        queries.put("updated stream (backfill, plan only)", "SELECT " + columns + from
                + "\"updated_at\" < localtimestamp ORDER BY \"updated_at\"");
        try (Connection pg = pg().getConnection(); Statement s = pg.createStatement()) {
            for (Map.Entry<String, String> q : queries.entrySet()) {
                boolean analyze = q.getKey().contains("incremental");
                say("EXPLAIN %s: %s", q.getKey(), q.getValue().replace(columns, "<11 columns>"));
                try (ResultSet rs = s.executeQuery("EXPLAIN " + (analyze ? "(ANALYZE, BUFFERS) " : "") + q.getValue())) {
                    while (rs.next()) {
                        say("    %s", rs.getString(1));
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- CPU accounting

    /** CPU used by a process and its descendants since construction; exited children count via cutime. */
    private static final class Cpu {
        private final long pid;
        private final long start;

        Cpu(long pid) {
            this.pid = pid;
            this.start = treeTicks(pid);
        }

        double used() {
            return pid <= 0 ? Double.NaN : (treeTicks(pid) - start) / (double) CLOCK_TICKS;
        }

        private static long treeTicks(long pid) {
            if (pid <= 0) {
                return 0;
            }
            long[] own = stat(pid);
            long total = own[0] + own[1] + own[2] + own[3];
            for (ProcessHandle child : ProcessHandle.of(pid).map(h -> h.descendants().toList()).orElse(List.of())) {
                long[] c = stat(child.pid());
                total += c[0] + c[1];
            }
            return total;
        }
    }

    /** utime, stime, cutime, cstime of a process (zeros when it is gone). */
    private static long[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            // fields after "(comm)": state=0 … utime=11 stime=12 cutime=13 cstime=14
            return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[13]), Long.parseLong(f[14])};
        } catch (IOException | RuntimeException e) {
            return new long[4];
        }
    }

    /** CPU of this JVM's reaped children (the loader runs), from /proc/self/stat. */
    private static long ownChildrenCpuTicks() {
        long[] s = stat(ProcessHandle.current().pid());
        return s[2] + s[3];
    }

    private long postmasterPid() throws SQLException {
        try (Connection pg = pg().getConnection(); Statement s = pg.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return ProcessHandle.of(rs.getLong(1)).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L);
        }
    }

    private long clickHousePid() {
        String port = "http_port=" + db.clickHousePort();
        return ProcessHandle.allProcesses()
                .filter(h -> h.info().commandLine().map(c -> c.contains(port) || c.contains("clickhouse_http.py")).orElse(false))
                .filter(h -> h.parent().map(p -> p.pid() == ProcessHandle.current().pid()).orElse(false))
                .map(ProcessHandle::pid).findFirst().orElse(-1L);
    }

    // ---------------------------------------------------------------- output

    /** 1, 5 and 15 minute load averages: other work on the machine skews every number here. */
    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    private static double secondsSince(long nanos) {
        return (System.nanoTime() - nanos) / 1e9;
    }

    private static void say(String format, Object... args) {
        System.out.println(args.length == 0 ? format : String.format(format, args));
        System.out.flush();
    }
}
