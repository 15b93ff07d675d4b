package io.pgchloader.support;

import io.pgchloader.cycle.RetryPolicy;
import io.pgchloader.cycle.SyncCycle;
import io.pgchloader.cycle.TableSync;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A loader that is started, killed with SIGKILL and started again, many times: every run gets a
 * working directory of its own ({@code run-001}, {@code run-002}, …) so each run's output is kept, and
 * the log lines of all runs can be counted together (cycles, failures, retries).
 */
public final class LoaderRuns implements AutoCloseable {

    /** A cycle's log line ({@code SyncCycle.summary()}): table, backfill flag, rows created and updated. */
    public static final Pattern CYCLE_LINE = Pattern.compile(
            ".*\\| INFO  \\| \\S+ \\| (\\S+?)( \\(backfill[^)]*\\))?: created (\\d+), updated (\\d+) rows \\((\\d+) [^)]*\\) in \\d+ batches.*");
    /** A retry line of {@code RetryPolicy}. */
    public static final Pattern RETRY_LINE = Pattern.compile(".*: attempt \\d+ of \\d+ failed, trying again: .*");
    /** A failed cycle's line of {@code TableSync.failCycle}. */
    /** A cycle that reconciled its table (reconcileCron or --repair) and ended. */
    public static final Pattern RECONCILED_LINE = Pattern.compile(".*; reconciled [0-9,]+ rows in .*");
    public static final Pattern FAILED_LINE = Pattern.compile(".*\\| ERROR \\| .*: cycle failed.*");

    /** What {@code Process.exitValue()} reports for a process ended by signal 9: 128 + 9. */
    public static final int SIGKILL_EXIT = 137;

    private static final long POLL_MS = 25;

    private final Path baseDir;
    private final Map<String, String> environment;
    private final List<LoaderProcess> runs = new ArrayList<>();
    private final List<Path> runDirs = new ArrayList<>();
    private LoaderProcess current;
    private int kills;

    public LoaderRuns(Path baseDir, Map<String, String> environment) {
        this.baseDir = baseDir;
        this.environment = Map.copyOf(environment);
    }

    /** Starts a new run (the previous one must have ended) with the given arguments of {@code Main}. */
    public LoaderProcess start(String... args) throws IOException {
        if (current != null && current.isAlive()) {
            throw new IllegalStateException("the previous run is still alive");
        }
        Path dir = Files.createDirectories(baseDir.resolve(String.format("run-%03d", runs.size() + 1)));
        current = LoaderProcess.start(dir, environment, args);
        runs.add(current);
        runDirs.add(dir);
        return current;
    }

    public LoaderProcess current() {
        return current;
    }

    /**
     * Kills the current run with {@code Process.destroyForcibly()} and checks that it really died of
     * SIGKILL (exit value 137; SIGTERM would give 143, a normal exit 0..2), not of anything gentler.
     */
    public void kill() throws InterruptedException {
        LoaderProcess process = current;
        if (!process.isAlive()) {
            throw new AssertionError("the loader had already exited (code " + process.awaitExit(Duration.ZERO)
                    + ") before it could be killed; output:\n" + process.output());
        }
        process.close(); // destroyForcibly(): SIGKILL on Linux
        int exit = process.awaitExit(Duration.ofSeconds(10));
        if (exit != SIGKILL_EXIT) {
            throw new AssertionError("expected the loader to die of SIGKILL (exit " + SIGKILL_EXIT + "), but it exited with "
                    + exit + "; output:\n" + process.output());
        }
        kills++;
    }

    public int kills() {
        return kills;
    }

    /**
     * Polls the current run's output until a line matches; false if the time is up. Fails the test
     * when the process ends first.
     */
    public boolean awaitLine(Predicate<String> line, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (current.lines().stream().anyMatch(line)) {
                return true;
            }
            assertAlive();
            Thread.sleep(POLL_MS);
        }
        return false;
    }

    /** Number of the current run's lines that match. */
    public long currentCount(Predicate<String> line) {
        return current.lines().stream().filter(line).count();
    }

    public void assertAlive() throws InterruptedException {
        if (!current.isAlive()) {
            throw new AssertionError("the loader exited by itself with " + current.awaitExit(Duration.ZERO)
                    + "; output:\n" + current.output());
        }
    }

    /** Every line of every run so far, run after run. */
    public List<String> allLines() {
        List<String> lines = new ArrayList<>();
        for (LoaderProcess run : runs) {
            lines.addAll(run.lines());
        }
        return lines;
    }

    public long count(Pattern pattern) {
        return allLines().stream().filter(l -> pattern.matcher(l).matches()).count();
    }

    /** Completed cycles over all runs, counted from their log lines. */
    public long cycles() {
        return count(CYCLE_LINE);
    }

    /** The last lines of every run, headed by the run's directory: for failure messages. */
    public String tail(int linesPerRun) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < runs.size(); i++) {
            List<String> lines = runs.get(i).lines();
            out.append("--- ").append(runDirs.get(i).getFileName()).append(" (").append(lines.size()).append(" lines)\n");
            for (String line : lines.subList(Math.max(0, lines.size() - linesPerRun), lines.size())) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    @Override
    public void close() throws InterruptedException {
        if (current != null) {
            current.close();
        }
    }
}
