package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.demo.SeedCsvGenerator;
import io.pgchloader.demo.SeedCsvPopulator;
import io.pgchloader.demo.SqlScripts;
import io.pgchloader.demo.TableComparison;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.support.TestDatabases;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The seed's two scripts: {@code generate-seed-csv.sh} writes one CSV file per table, {@code populator.sh}
 * loads them into an empty seed schema with COPY, and the loader's {@code --once} then brings every row to
 * ClickHouse. The scripts are thin wrappers of the main classes run here, so the classes are what is tested.
 */
class SeedDataScriptsTest extends LoaderTestBase {

    static final List<String> TABLES = List.of("branches", "cashiers", "app_users", "stores", "app_user_visits_fact");
    static final String[] SIZES = {"--branches", "7", "--cashiers", "30", "--app-users", "500", "--stores", "40",
        "--visits", "5000"};

    /** What one run of a main class printed, and its exit code. */
    record Run(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + ", out: " + out + ", err: " + err;
        }
    }

    static Run generate(Path dir, String... options) {
        List<String> args = new ArrayList<>(List.of("--dir", dir.toString()));
        args.addAll(List.of(options));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = SeedCsvGenerator.run(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Run populate(Map<String, String> environment, Path dotEnv, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = SeedCsvPopulator.run(args, environment, dotEnv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private String port() {
        return Integer.toString(TestDatabases.servers().postgresPort());
    }

    private long pgCount(String table) throws Exception {
        return loader.pgLong("SELECT count(*) FROM " + table);
    }

    @Test
    void generated_files_populate_an_empty_seed_schema_and_once_brings_every_row_to_clickhouse() throws Exception {
        Path csv = tmp.resolve("csv");
        Run generated = generate(csv, SIZES);
        assertEquals(0, generated.exit(), generated.toString());
        loader = new LoaderFixture(tmp).withSeedRoutes();
        try (Connection pg = loader.postgres()) {
            SqlScripts.run(pg, "sql/ddl-pg.sql");
        }
        // host and port as options, user and database from .env: the fallback the loader's users already have
        Path dotEnv = tmp.resolve(".env");
        Files.writeString(dotEnv, "POSTGRES_USER=postgres\nPOSTGRES_DB=" + loader.database + "\n");

        Run populated = populate(Map.of(), dotEnv, "-h", "127.0.0.1", "-p", port(), "--dir", csv.toString());

        assertEquals(0, populated.exit(), populated.toString());
        assertTrue(populated.out().contains("branches 7, cashiers 30, app_users 500, stores 40, app_user_visits_fact 5000 rows"),
                populated.out());
        assertEquals(List.of(7L, 30L, 500L, 40L, 5000L), List.of(pgCount("branches"), pgCount("cashiers"),
                pgCount("app_users"), pgCount("stores"), pgCount("app_user_visits_fact")));
        assertEquals(0, loader.pgLong("SELECT count(*) FROM app_user_visits_fact v JOIN stores s ON s.id = v.store_id"
                + " JOIN cashiers c ON c.id = v.cashier_id WHERE v.branch_id <> s.branch_id OR c.branch_id <> s.branch_id"),
                "every visit is at a store of its branch, served by a cashier of that branch");
        assertEquals(500, loader.pgLong("SELECT count(*) FROM app_user_visits_fact WHERE updated_at IS NOT NULL"),
                "every tenth visit was updated, as in SeedData");
        // the sequences were moved past the loaded ids, so a plain INSERT after the populator does not collide
        loader.pg("INSERT INTO branches (name) VALUES ('Branch after the populator')");
        assertEquals(8, loader.pgLong("SELECT max(id) FROM branches"));

        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), loader.environment(), "--once");
        int exit = process.awaitExit(Duration.ofSeconds(120));

        assertEquals(0, exit, process.output());
        try (Connection pg = loader.postgres(); Connection ch = loader.clickHouse()) {
            for (String table : TABLES) {
                TableComparison comparison = TableComparison.of(pg, ch, table);
                assertTrue(comparison.matches(), comparison.toString());
            }
        }
        assertEquals(8, loader.chLong("SELECT count() FROM branches FINAL"));
        assertEquals(5000, loader.chLong("SELECT count() FROM app_user_visits_fact FINAL"));
        // a checksum of values, not only of keys and versions: the amounts and durations arrived as written
        assertEquals(loader.pgRows("SELECT sum(amount)::text || ' ' || sum(duration_seconds) || ' ' || sum(store_id * cashier_id)"
                        + " FROM app_user_visits_fact"),
                loader.chRows("SELECT toString(sum(amount)) || ' ' || toString(sum(duration_seconds)) || ' '"
                        + " || toString(sum(store_id * cashier_id)) FROM app_user_visits_fact FINAL"));
    }

    @Test
    void the_same_seed_and_sizes_write_the_same_files_and_another_seed_other_values() throws Exception {
        assertEquals(0, generate(tmp.resolve("a"), SIZES).exit());
        assertEquals(0, generate(tmp.resolve("b"), SIZES).exit());
        List<String> withSeed = new ArrayList<>(List.of(SIZES));
        withSeed.addAll(List.of("--seed", "2"));
        assertEquals(0, generate(tmp.resolve("c"), withSeed.toArray(String[]::new)).exit());

        for (String table : TABLES) {
            assertArrayEquals(Files.readAllBytes(tmp.resolve("a").resolve(table + ".csv")),
                    Files.readAllBytes(tmp.resolve("b").resolve(table + ".csv")), table);
        }
        assertFalse(Files.readString(tmp.resolve("a").resolve("app_user_visits_fact.csv"))
                .equals(Files.readString(tmp.resolve("c").resolve("app_user_visits_fact.csv"))), "another seed, other visits");
        assertEquals(5001, Files.readAllLines(tmp.resolve("a").resolve("app_user_visits_fact.csv")).size(), "a header and 5000 rows");
    }

    @Test
    void a_bad_option_or_a_missing_file_is_refused_in_one_line_with_exit_2_before_connecting() throws Exception {
        Path csv = tmp.resolve("csv");
        assertEquals(0, generate(csv, SIZES).exit());
        Files.delete(csv.resolve("stores.csv"));
        // nothing listens on port 1: a refusal that came from connecting would be exit 1, not 2
        Map<String, String> env = Map.of("POSTGRES_HOST", "127.0.0.1", "POSTGRES_PORT", "1", "POSTGRES_USER", "postgres",
                "POSTGRES_DB", "nowhere", "POSTGRES_PASSWORD", "s3cret-never-shown");
        Path noDotEnv = tmp.resolve("no.env");

        List<Run> refusals = List.of(
                populate(env, noDotEnv, "--dir", csv.toString()),
                populate(env, noDotEnv, "--dir", csv.toString(), "-p", "not-a-port"),
                populate(env, noDotEnv, "--dir", csv.toString(), "--password", "x"),
                populate(env, noDotEnv, "--dir"),
                populate(Map.of("POSTGRES_HOST", "127.0.0.1"), noDotEnv, "--dir", csv.toString()),
                generate(tmp.resolve("other"), "--visits", "0"),
                generate(tmp.resolve("other"), "--seed", "twelve"));

        for (Run refusal : refusals) {
            assertEquals(2, refusal.exit(), refusal.toString());
            assertEquals("", refusal.out(), refusal.toString());
            assertEquals(1, refusal.err().lines().count(), refusal.toString());
            assertFalse(refusal.err().contains("s3cret"), refusal.toString());
        }
        assertTrue(refusals.get(0).err().contains("missing " + csv.resolve("stores.csv")), refusals.get(0).err());
        assertTrue(refusals.get(1).err().contains("not-a-port"), refusals.get(1).err());
        assertTrue(refusals.get(2).err().contains("unknown option --password"), refusals.get(2).err());
        assertTrue(refusals.get(4).err().contains("pass -U USER or set POSTGRES_USER"), refusals.get(4).err());
        assertFalse(Files.exists(tmp.resolve("other").resolve("branches.csv")), "a refused generator writes nothing");

        // all files there, the server unreachable: exit 1, and the password is still not shown
        assertEquals(0, generate(csv, SIZES).exit());
        Run unreachable = populate(env, noDotEnv, "--dir", csv.toString());
        assertEquals(1, unreachable.exit(), unreachable.toString());
        assertFalse(unreachable.err().contains("s3cret"), unreachable.toString());
    }

    @Test
    void a_file_that_fails_to_load_leaves_every_table_empty_since_all_load_in_one_transaction() throws Exception {
        Path csv = tmp.resolve("csv");
        assertEquals(0, generate(csv, SIZES).exit());
        // the last visit points at a store that does not exist: the last file fails after four have loaded
        Path visits = csv.resolve("app_user_visits_fact.csv");
        List<String> lines = new ArrayList<>(Files.readAllLines(visits));
        String[] last = lines.get(lines.size() - 1).split(",", -1);
        last[2] = "999999";
        lines.set(lines.size() - 1, String.join(",", last));
        Files.write(visits, lines);
        loader = new LoaderFixture(tmp);
        try (Connection pg = loader.postgres()) {
            SqlScripts.run(pg, "sql/ddl-pg.sql");
        }
        Map<String, String> env = new HashMap<>(TestDatabases.servers().settings(loader.database, loader.database));

        Run failed = populate(env, tmp.resolve("no.env"), "--dir", csv.toString());

        assertEquals(1, failed.exit(), failed.toString());
        assertTrue(failed.err().contains("app_user_visits_fact") && failed.err().contains("nothing was loaded"), failed.err());
        assertEquals(1, failed.err().lines().count(), failed.err());
        for (String table : TABLES) {
            assertEquals(0, pgCount(table), table);
        }
    }
}
