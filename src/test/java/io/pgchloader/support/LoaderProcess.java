package io.pgchloader.support;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TimeZone;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The loader as a user runs it: {@code java -cp … io.pgchloader.Main <args>} in a JVM of its own, in a
 * working directory of the test's choosing (so the repository's own {@code .env} is never read) and with
 * an environment that holds nothing but {@code PATH}, {@code HOME} and what the test passes (so the
 * developer's {@code POSTGRES_*} variables never leak in). Standard output and standard error go, merged,
 * into {@code loader-output.log} in the working directory.
 */
public final class LoaderProcess implements AutoCloseable {

    public static final String MAIN_CLASS = "io.pgchloader.Main";

    /** The loader's log line format: {@code YYYY-MM-DD HH:MM:SS | LEVEL | MODULE | MESSAGE}. */
    public static final Pattern LOG_LINE =
            Pattern.compile("^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} \\| (INFO |WARN |ERROR|DEBUG) \\| \\S+ \\| .*");

    private static final Duration POLL = Duration.ofMillis(100);
    private static String classPath;

    private final Process process;
    private final Path output;
    private final List<String> command;

    private LoaderProcess(Process process, Path output, List<String> command) {
        this.process = process;
        this.output = output;
        this.command = command;
    }

    /**
     * Starts the loader.
     *
     * @param workDir     working directory (use a {@code @TempDir}); the output file is written there
     * @param environment the child's whole environment besides PATH and HOME
     * @param args        command-line arguments of {@code Main}
     */
    public static LoaderProcess start(Path workDir, Map<String, String> environment, String... args) throws IOException {
        return start(workDir, environment, List.of(), args);
    }

    /** As {@link #start(Path, Map, String...)}, with extra options for the child JVM (before the main class). */
    public static LoaderProcess start(Path workDir, Map<String, String> environment, List<String> jvmOptions,
                                      String... args) throws IOException {
        Path output = workDir.resolve("loader-output.log");
        List<String> command = new ArrayList<>();
        command.add(javaBinary());
        command.add("-Xmx256m");
        command.add("-XX:TieredStopAtLevel=1");
        // the same (deliberately non-UTC) zone as the tests, since the ClickHouse driver applies it
        command.add("-Duser.timezone=" + TimeZone.getDefault().getID());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(classPath());
        command.add(MAIN_CLASS);
        command.addAll(Arrays.asList(args));

        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        Map<String, String> env = builder.environment();
        Map<String, String> keep = new LinkedHashMap<>();
        for (String name : List.of("PATH", "HOME")) {
            String value = System.getenv(name);
            if (value != null) {
                keep.put(name, value);
            }
        }
        env.clear();
        env.putAll(keep);
        env.putAll(environment);
        return new LoaderProcess(builder.start(), output, command);
    }

    /**
     * The child's class path: this JVM's, without {@code target/test-classes} (so a test logback
     * configuration never replaces the shipped one). Under surefire's manifest-only jar the real entries
     * are read from the jar's manifest, or from {@code surefire.test.class.path}.
     */
    public static synchronized String classPath() {
        if (classPath == null) {
            List<String> entries = new ArrayList<>();
            for (String entry : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
                if (!entry.isBlank()) {
                    entries.addAll(expandManifestOnlyJar(entry));
                }
            }
            if (!containsMain(entries)) {
                String surefire = System.getProperty("surefire.test.class.path");
                if (surefire != null) {
                    entries = new ArrayList<>(Arrays.asList(surefire.split(File.pathSeparator)));
                }
            }
            if (!containsMain(entries)) {
                throw new IllegalStateException("no class path entry holds " + MAIN_CLASS + ": java.class.path="
                        + System.getProperty("java.class.path") + ", surefire.test.class.path="
                        + System.getProperty("surefire.test.class.path"));
            }
            classPath = entries.stream()
                    .filter(e -> !Path.of(e).toAbsolutePath().normalize().endsWith(Path.of("target", "test-classes")))
                    .distinct()
                    .collect(Collectors.joining(File.pathSeparator));
        }
        return classPath;
    }

    private static boolean containsMain(List<String> entries) {
        String file = MAIN_CLASS.replace('.', '/') + ".class";
        return entries.stream().anyMatch(e -> Files.isRegularFile(Path.of(e).resolve(file)));
    }

    /** A jar whose manifest carries a Class-Path (surefire's "surefirebooter" jar) stands for those entries. */
    private static List<String> expandManifestOnlyJar(String entry) {
        Path path = Path.of(entry);
        if (!entry.endsWith(".jar") || !Files.isRegularFile(path)) {
            return List.of(entry);
        }
        try (JarFile jar = new JarFile(path.toFile())) {
            Manifest manifest = jar.getManifest();
            String manifestClassPath = manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
            if (manifestClassPath == null || !path.getFileName().toString().startsWith("surefirebooter")) {
                return List.of(entry);
            }
            List<String> expanded = new ArrayList<>();
            for (String url : manifestClassPath.trim().split("\\s+")) {
                URI uri = path.toUri().resolve(url);
                expanded.add(Path.of(uri).toString());
            }
            return expanded;
        } catch (IOException | RuntimeException e) {
            return List.of(entry);
        }
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command()
                .filter(c -> Files.isExecutable(Path.of(c)))
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the process to end; fails the test (and kills the process) when it does not in time. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            String out = output();
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("the loader did not exit within " + timeout.toSeconds() + " s; output:\n" + out);
        }
        return process.exitValue();
    }

    /** Sends SIGTERM, as an init system or {@code kill} does. */
    public void terminate() {
        process.destroy();
    }

    /** Everything the process wrote so far (stdout and stderr merged). */
    public String output() {
        try {
            return Files.exists(output) ? Files.readString(output, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public List<String> lines() {
        return output().lines().toList();
    }

    /** The output lines at level ERROR. */
    public List<String> errorLines() {
        return lines().stream().filter(l -> l.contains(" | ERROR | ")).toList();
    }

    /**
     * Waits until the output contains the text; fails the test when the process ends first or the time
     * is up.
     */
    public void awaitOutput(String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!output().contains(text)) {
            if (!process.isAlive()) {
                if (output().contains(text)) {
                    return;
                }
                throw new AssertionError("the loader exited (code " + process.exitValue() + ") before printing \""
                        + text + "\"; output:\n" + output());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no \"" + text + "\" within " + timeout.toSeconds() + " s; output:\n" + output());
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    public List<String> command() {
        return command;
    }

    /** Kills the process if a test left it running. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
