package io.pgchloader.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real ClickHouse 26.7 server for tests and the demo mode, on a machine without Docker or a
 * ClickHouse install.
 *
 * <p>The engine is the ClickHouse build that chDB ships as {@code libchdb.so} in an npm package.
 * {@code npm pack} fetches it once into a per-user cache (npm checks the tarball's integrity), so
 * the only prerequisites are npm (for the first run) and python3. A small python launcher loads the
 * library with ctypes and keeps the HTTP listener alive with a query that never ends; the engine runs
 * in that separate process because it installs its own signal handlers.
 *
 * <p>Each instance has its own port on 127.0.0.1 and its own temporary data directory, both released
 * by {@link #close()} or a JVM shutdown hook. If the JVM is killed outright, the launcher notices that
 * its parent is gone and exits, and the next {@code start()} on the machine deletes the data directory.
 */
public final class EmbeddedClickHouse implements AutoCloseable {

    public static final String CHDB_PACKAGE = "@chdb/lib-linux-x64-gnu";
    public static final String CHDB_VERSION = "26.7.3-stable.1";

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedClickHouse.class);

    static final String CACHE_DIR_ENV = "PGCH_CACHE_DIR";
    static final String LAUNCHER_RESOURCE = "clickhouse_http.py";
    private static final String ENGINE_FILE = "libchdb.so";
    private static final String PYTHON = "python3";
    private static final String HOST = "127.0.0.1";
    private static final String WORK_DIR_PREFIX = "pgch-clickhouse-";
    private static final String OWNER_LOCK = ".owner.lock";
    /**
     * Work dirs this JVM owns. The sweep must never open their lock file: on Linux, closing any channel
     * to a file drops every lock this process holds on it, which would leave a live server's data to the
     * next JVM's sweep (seen: a part file vanishing under a running test).
     */
    private static final Set<Path> OWN_WORK_DIRS = ConcurrentHashMap.newKeySet();

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration READY_POLL_INTERVAL = Duration.ofMillis(100);
    private static final Duration PING_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);
    // A 180 MB download on a slow link, plus npm's own retries, but not forever on a dead network.
    private static final Duration FETCH_TIMEOUT = Duration.ofMinutes(20);
    private static final Duration TOOL_CHECK_TIMEOUT = Duration.ofSeconds(30);
    // Far longer than a work dir can exist before its owner locks it.
    private static final Duration ABANDONED_MIN_AGE = Duration.ofMinutes(1);
    private static final int START_ATTEMPTS = 3;
    private static final int LOG_TAIL_LINES = 30;
    private static final int LOG_TAIL_BYTES = 16 * 1024;
    private static final String PORT_IN_USE_MARKER = "Address already in use";
    private static final String USE_EXISTING_HINT = "or set CLICKHOUSE_HOST to use an existing ClickHouse";

    // ClickHouse speaks HTTP/1.1 only; without this the client would offer an h2c upgrade on every call.
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1))
            .build();

    // FileChannel locks are held per JVM, and a second lock() from the same JVM throws instead of
    // waiting, so threads of one JVM queue here before competing with other JVMs for the file lock.
    private static final Object FETCH_MONITOR = new Object();

    private final Path workDir;
    private final Path dataDir;
    private final String host;
    private final int port;
    private final Process process;
    private final FileChannel ownerLock;
    private final Thread shutdownHook;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedClickHouse(Path workDir, Path dataDir, String host, int port, Process process, FileChannel ownerLock) {
        this.workDir = workDir;
        this.dataDir = dataDir;
        this.host = host;
        this.port = port;
        this.process = process;
        this.ownerLock = ownerLock;
        this.shutdownHook = new Thread(this::close, "embedded-clickhouse-" + port + "-shutdown");
    }

    /**
     * Starts a server on a free port of 127.0.0.1 with a fresh, empty data directory and returns once
     * it answers HTTP requests. The first call on a machine fetches the engine (about 180 MB).
     */
    public static EmbeddedClickHouse start() throws IOException {
        return start(HOST, List.of(), null);
    }

    /**
     * Starts one shard of a cluster on this machine: it listens on {@code listenHost} only (another
     * loopback address per shard, so shards share the HTTP port as real ones do), serves the native TCP
     * port too (Distributed tables reach the other shards through it) and reads {@code remote_servers}
     * from the config file. The ports are the caller's to choose; a taken one fails the start.
     */
    public static EmbeddedClickHouse startShard(String listenHost, int httpPort, int tcpPort, Path configFile)
            throws IOException {
        return start(listenHost, List.of(listenHost, String.valueOf(tcpPort), configFile.toAbsolutePath().toString()),
                httpPort);
    }

    /** @param fixedPort null: a free port, found again when another process takes it first */
    private static EmbeddedClickHouse start(String host, List<String> shardArgs, Integer fixedPort) throws IOException {
        requireSupportedPlatform();
        if (!Files.isRegularFile(enginePath())) {
            // Fail before a 180 MB download that could never be used.
            requirePython();
        }
        Path engine = ensureEngine();

        removeAbandonedWorkDirs();
        Path workDir = Files.createTempDirectory(WORK_DIR_PREFIX).toAbsolutePath();
        FileChannel ownerLock = null;
        boolean started = false;
        try {
            OWN_WORK_DIRS.add(workDir.toAbsolutePath().normalize());
            ownerLock = lockOwnership(workDir);
            Path launcher = workDir.resolve(LAUNCHER_RESOURCE);
            copyLauncher(launcher);
            Path dataDir = Files.createDirectory(workDir.resolve("data"));
            PortTakenException lastClash = null;
            int attempts = fixedPort == null ? START_ATTEMPTS : 1;
            for (int attempt = 1; attempt <= attempts; attempt++) {
                // Between closing the probe socket and the engine binding the port, another process
                // can take it; that is the only failure worth retrying.
                int port = fixedPort == null ? freePort() : fixedPort;
                try {
                    EmbeddedClickHouse server = launch(engine, launcher, workDir, dataDir, host, port, shardArgs, ownerLock);
                    try {
                        Runtime.getRuntime().addShutdownHook(server.shutdownHook);
                    } catch (IllegalStateException e) {
                        server.close();
                        throw new IOException("The JVM is shutting down; ClickHouse was stopped again", e);
                    }
                    started = true;
                    return server;
                } catch (PortTakenException e) {
                    LOG.debug("Port {} was taken before ClickHouse could listen on it (attempt {} of {})",
                            port, attempt, START_ATTEMPTS);
                    lastClash = e;
                }
            }
            if (fixedPort != null) {
                throw lastClash;
            }
            throw new IOException("ClickHouse found no free port on " + HOST + " in " + START_ATTEMPTS
                    + " attempts", lastClash);
        } finally {
            if (!started) {
                closeQuietly(ownerLock);
                deleteRecursively(workDir);
            }
        }
    }

    public String host() {
        return host;
    }

    public int httpPort() {
        return port;
    }

    /** The server's data directory; gone after {@link #close()}. */
    Path dataDir() {
        return dataDir;
    }

    /** Stops the server and deletes its data directory. Safe to call more than once. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // The JVM is already shutting down (possibly running this very hook): nothing to remove.
        }
        stop(process);
        closeQuietly(ownerLock);
        deleteRecursively(workDir);
        LOG.info("ClickHouse on {}:{} stopped", host, port);
    }

    @Override
    public String toString() {
        return "EmbeddedClickHouse[http://" + host + ":" + port + ", data=" + dataDir + "]";
    }

    /**
     * Returns the path of {@code libchdb.so} in the per-user cache, fetching it with npm first if it
     * is not there. Several JVMs may call this at once (parallel test forks, demo and tests); only one
     * of them fetches, the others wait for it.
     */
    static Path ensureEngine() throws IOException {
        requireSupportedPlatform();
        Path engine = enginePath();
        if (Files.isRegularFile(engine)) {
            return engine;
        }
        Path chdbDir = engine.getParent().getParent();
        synchronized (FETCH_MONITOR) {
            Files.createDirectories(chdbDir);
            try (FileChannel channel = FileChannel.open(chdbDir.resolve(".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = lockFetch(channel, chdbDir)) {
                if (Files.isRegularFile(engine)) {
                    return engine;
                }
                fetchEngine(chdbDir, engine);
            }
        }
        return engine;
    }

    private static Path enginePath() {
        return cacheDir().resolve("chdb").resolve(CHDB_VERSION).resolve(ENGINE_FILE);
    }

    private static Path cacheDir() {
        String configured = System.getenv(CACHE_DIR_ENV);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath();
        }
        return Path.of(System.getProperty("user.home"), ".cache", "pg-ch-loader");
    }

    private static FileLock lockFetch(FileChannel channel, Path chdbDir) throws IOException {
        FileLock lock = channel.tryLock();
        if (lock != null) {
            return lock;
        }
        LOG.info("Waiting for another process to finish fetching the ClickHouse engine into {}", chdbDir);
        return channel.lock();
    }

    private static void fetchEngine(Path chdbDir, Path engine) throws IOException {
        removeAbandonedFetches(chdbDir);
        String spec = CHDB_PACKAGE + "@" + CHDB_VERSION;
        LOG.info("Fetching the ClickHouse engine (npm package {}, ~180 MB) into {}", spec, engine.getParent());
        long startNanos = System.nanoTime();
        // Inside the cache dir, so the final move stays on one file system and can be atomic.
        Path work = Files.createTempDirectory(chdbDir, "fetch-");
        try {
            runTool(work, FETCH_TIMEOUT, List.of("npm", "pack", spec, "--ignore-scripts"),
                    "npm was not found on the PATH: install Node.js/npm (it fetches the ClickHouse engine "
                            + "on first use), " + USE_EXISTING_HINT,
                    "npm could not fetch " + spec,
                    "check network access to the npm registry (npm config get registry), " + USE_EXISTING_HINT);
            Path tarball = findTarball(work);
            runTool(work, FETCH_TIMEOUT, List.of("tar", "xzf", tarball.getFileName().toString(),
                            "package/" + ENGINE_FILE),
                    "tar was not found on the PATH: install tar, " + USE_EXISTING_HINT,
                    "tar could not unpack " + ENGINE_FILE + " from " + tarball.getFileName(),
                    "check free disk space in " + chdbDir + " (the engine needs ~570 MB), " + USE_EXISTING_HINT);
            Files.delete(tarball);
            Path unpacked = work.resolve("package").resolve(ENGINE_FILE);
            if (!Files.isRegularFile(unpacked)) {
                throw new IOException(spec + " contains no package/" + ENGINE_FILE);
            }
            Files.createDirectories(engine.getParent());
            // Readers only ever test for the final name, so it must never exist half-written.
            Files.move(unpacked, engine, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            deleteRecursively(work);
        }
        LOG.info("Fetched the ClickHouse engine in {} s", Duration.ofNanos(System.nanoTime() - startNanos).toSeconds());
    }

    /** Work dirs of fetches killed half-way; safe to delete because the caller holds the fetch lock. */
    private static void removeAbandonedFetches(Path chdbDir) throws IOException {
        try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(chdbDir, "fetch-*")) {
            for (Path leftover : leftovers) {
                deleteRecursively(leftover);
            }
        }
    }

    private static Path findTarball(Path work) throws IOException {
        try (Stream<Path> files = Files.list(work)) {
            List<Path> tarballs = files.filter(p -> p.getFileName().toString().endsWith(".tgz")).toList();
            if (tarballs.size() != 1) {
                throw new IOException("npm pack left " + tarballs.size() + " tarballs in " + work + ", expected 1");
            }
            return tarballs.get(0);
        }
    }

    /**
     * Runs an external tool with its output in files (a pipe nobody drains could block it) and turns
     * every way it can fail into an IOException that says how to fix it.
     */
    private static void runTool(Path workDir, Duration timeout, List<String> command,
                                String missingMessage, String failureMessage, String fix) throws IOException {
        String tool = command.get(0);
        Path out = workDir.resolve(tool + ".out");
        Path err = workDir.resolve(tool + ".err");
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .directory(workDir.toFile())
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
        } catch (IOException e) {
            throw new IOException(missingMessage, e);
        }
        process.getOutputStream().close();
        boolean finished;
        try {
            finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while running " + String.join(" ", command));
        }
        if (!finished) {
            process.destroyForcibly();
            throw new IOException(failureMessage + " (no result after " + timeout.toMinutes() + " min): "
                    + fix + ". " + tool + " said:\n" + tail(err));
        }
        if (process.exitValue() != 0) {
            throw new IOException(failureMessage + " (exit code " + process.exitValue() + "): "
                    + fix + ". " + tool + " said:\n" + tail(err));
        }
    }

    private static void requireSupportedPlatform() throws IOException {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new IOException("The embedded ClickHouse (" + CHDB_PACKAGE + ") runs on Linux x86-64 only, "
                    + "not on " + os + "/" + arch + "; " + USE_EXISTING_HINT);
        }
    }

    private static void requirePython() throws IOException {
        // To a file, not a pipe: a python3 that hangs must not block this thread on a read.
        Path output = Files.createTempFile("pgch-python-check-", ".log");
        try {
            Process process;
            try {
                process = new ProcessBuilder(PYTHON, "-c", "import ctypes, threading")
                        .redirectErrorStream(true)
                        .redirectOutput(output.toFile())
                        .start();
            } catch (IOException e) {
                throw new IOException(pythonMissingMessage(), e);
            }
            process.getOutputStream().close();
            try {
                if (!process.waitFor(TOOL_CHECK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                    throw new IOException(PYTHON + " did not finish a trivial script within "
                            + TOOL_CHECK_TIMEOUT.toSeconds() + " s; " + USE_EXISTING_HINT);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("Interrupted while checking for " + PYTHON);
            }
            if (process.exitValue() != 0) {
                throw new IOException(PYTHON + " on the PATH does not work (it needs the standard modules ctypes "
                        + "and threading to host the embedded ClickHouse): install a complete Python 3, "
                        + USE_EXISTING_HINT + ". " + PYTHON + " exited with code " + process.exitValue()
                        + " and said:\n" + tail(output));
            }
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static String pythonMissingMessage() {
        return PYTHON + " was not found on the PATH: install Python 3 (it hosts the embedded ClickHouse), "
                + USE_EXISTING_HINT;
    }

    private static void copyLauncher(Path target) throws IOException {
        try (InputStream in = EmbeddedClickHouse.class.getResourceAsStream(LAUNCHER_RESOURCE)) {
            if (in == null) {
                throw new IOException("Resource " + LAUNCHER_RESOURCE + " is missing next to "
                        + EmbeddedClickHouse.class.getName() + "; the build is broken");
            }
            Files.copy(in, target);
        }
    }

    /**
     * Marks a work dir as in use for as long as this JVM lives. The operating system drops the lock
     * when the JVM dies, even by SIGKILL, which is how later starts recognise leftovers.
     */
    private static FileChannel lockOwnership(Path workDir) throws IOException {
        FileChannel channel = FileChannel.open(workDir.resolve(OWNER_LOCK),
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try {
            channel.lock();
            return channel;
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /**
     * Deletes the work dirs of JVMs that died without closing their server (kill -9, a killed test
     * fork): the launcher exits on its own then, but nothing else would ever remove the data.
     */
    private static void removeAbandonedWorkDirs() {
        Path tempRoot = Path.of(System.getProperty("java.io.tmpdir"));
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tempRoot, WORK_DIR_PREFIX + "*")) {
            for (Path dir : dirs) {
                removeIfAbandoned(dir);
            }
        } catch (IOException | DirectoryIteratorException e) {
            LOG.debug("Could not look for abandoned ClickHouse work dirs in {}: {}", tempRoot, e.toString());
        }
    }

    private static void removeIfAbandoned(Path dir) {
        if (OWN_WORK_DIRS.contains(dir.toAbsolutePath().normalize())) {
            return;
        }
        try {
            Instant youngest = Instant.now().minus(ABANDONED_MIN_AGE);
            if (Files.getLastModifiedTime(dir).toInstant().isAfter(youngest)) {
                return; // its owner may not have taken the lock yet
            }
            try (FileChannel channel = FileChannel.open(dir.resolve(OWNER_LOCK), StandardOpenOption.WRITE);
                 FileLock lock = channel.tryLock()) {
                if (lock != null) {
                    // Deleted while holding the lock, so a second JVM sweeping at the same time skips it.
                    LOG.debug("Removing {}, left behind by a JVM that died without closing its ClickHouse", dir);
                    deleteRecursively(dir);
                }
            }
        } catch (OverlappingFileLockException | IOException e) {
            // Held by this JVM, half-created, or not ours to touch: leave it alone.
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("Could not release {}: {}", OWNER_LOCK, e.toString());
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        }
    }

    private static EmbeddedClickHouse launch(Path engine, Path launcher, Path workDir, Path dataDir, String host, int port,
                                             List<String> shardArgs, FileChannel ownerLock) throws IOException {
        // Outside the data dir so the engine never sees it, next to it so close() removes it too.
        Path log = workDir.resolve("clickhouse-" + port + ".log");
        List<String> command = new ArrayList<>(List.of(PYTHON, launcher.toString(), engine.toString(),
                dataDir.toString(), String.valueOf(port)));
        command.addAll(shardArgs);
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().put("PGCH_PARENT_PID", String.valueOf(ProcessHandle.current().pid()));
        long startNanos = System.nanoTime();
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IOException(pythonMissingMessage(), e);
        }
        String version;
        try {
            // The engine would otherwise wait on a pipe that never delivers anything.
            process.getOutputStream().close();
            version = awaitReady(process, host, port, dataDir, log);
        } catch (IOException | RuntimeException | Error e) {
            stop(process);
            throw e;
        }
        LOG.info("ClickHouse {} serves http://{}:{} (started in {} ms, data in {})", version, host, port,
                Duration.ofNanos(System.nanoTime() - startNanos).toMillis(), dataDir);
        return new EmbeddedClickHouse(workDir, dataDir, host, port, process, ownerLock);
    }

    /** Polls until the server answers; returns its version. */
    private static String awaitReady(Process process, String host, int port, Path dataDir, Path log) throws IOException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            if (!process.isAlive()) {
                String tail = tail(log);
                if (tail.contains(PORT_IN_USE_MARKER)) {
                    throw new PortTakenException(port, tail);
                }
                throw new IOException("ClickHouse exited with code " + process.exitValue()
                        + " before it answered on port " + port + "; its last output:\n" + tail);
            }
            if (pingAnswersOk(host, port)) {
                String[] identity = identify(host, port);
                if (identity != null) {
                    // Another server that took the port in the meantime would answer the ping as well.
                    if (!stripTrailingSlash(identity[0]).equals(stripTrailingSlash(dataDir.toString()))) {
                        throw new PortTakenException(port, "another server answers there (data path "
                                + identity[0] + ")");
                    }
                    return identity[1];
                }
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("ClickHouse did not answer on http://" + host + ":" + port + "/ping within "
                        + READY_TIMEOUT.toSeconds() + " s; its last output:\n" + tail(log));
            }
            try {
                Thread.sleep(READY_POLL_INTERVAL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("Interrupted while waiting for ClickHouse to start");
            }
        }
    }

    private static boolean pingAnswersOk(String host, int port) throws InterruptedIOException {
        HttpRequest ping = HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + "/ping"))
                .timeout(PING_TIMEOUT)
                .GET()
                .build();
        try {
            HttpResponse<String> response = HTTP.send(ping, HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 && response.body().strip().equals("Ok.");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while waiting for ClickHouse to start");
        }
    }

    /** The data path and version of whatever answers on the port, or null if it does not answer yet. */
    private static String[] identify(String host, int port) throws InterruptedIOException {
        HttpRequest query = HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + "/"))
                .timeout(QUERY_TIMEOUT)
                .POST(HttpRequest.BodyPublishers.ofString(
                        "SELECT getServerSetting('path'), version() FORMAT TabSeparatedRaw"))
                .build();
        try {
            HttpResponse<String> response = HTTP.send(query, HttpResponse.BodyHandlers.ofString());
            String[] fields = response.body().strip().split("\t");
            return response.statusCode() == 200 && fields.length == 2 ? fields : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while waiting for ClickHouse to start");
        }
    }

    private static String stripTrailingSlash(String path) {
        String stripped = path;
        while (stripped.length() > 1 && stripped.endsWith("/")) {
            stripped = stripped.substring(0, stripped.length() - 1);
        }
        return stripped;
    }

    private static void stop(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("ClickHouse (pid {}) ignored SIGTERM for {} s; killing it", process.pid(),
                        STOP_GRACE.toSeconds());
                process.destroyForcibly();
                if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.warn("ClickHouse (pid {}) is still running after SIGKILL", process.pid());
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Best effort: a leftover temp dir must not turn a successful run into a failure. */
    private static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("Could not delete {} completely: {}", root, e.toString());
        }
    }

    /** The last lines of a log file, read from its end so a chatty engine log costs nothing. */
    private static String tail(Path file) {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            int size = (int) Math.min(length, LOG_TAIL_BYTES);
            byte[] bytes = new byte[size];
            raf.seek(length - size);
            raf.readFully(bytes);
            List<String> lines = new ArrayList<>(Arrays.asList(
                    new String(bytes, StandardCharsets.UTF_8).split("\\R")));
            if (length > size && !lines.isEmpty()) {
                lines.remove(0); // most likely cut in the middle
            }
            List<String> last = lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size());
            String text = String.join("\n", last).strip();
            return text.isEmpty() ? "(no output)" : text;
        } catch (IOException e) {
            return "(" + file + " is unreadable: " + e.getMessage() + ")";
        }
    }

    /** The port was free when probed but something else listens there now; worth another try. */
    private static final class PortTakenException extends IOException {
        private static final long serialVersionUID = 1L;

        PortTakenException(int port, String detail) {
            super("Port " + port + " is taken: " + detail);
        }
    }
}
