package io.pgchloader.demo;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code scripts/generate-seed-csv.sh}: synthetic rows of the seed schema as one CSV file per table, for
 * {@link SeedCsvPopulator}. The rows follow {@link SeedData}'s shape (names, e-mails, employee numbers, the
 * branch of each cashier and store) with random values drawn from the seed, and every visit points at a
 * store, the store's own branch and one of that branch's cashiers. Timestamps count back from
 * {@code --until}, not from now, so the same options always write the same bytes.
 */
public final class SeedCsvGenerator {

    static final String USAGE = """
            Usage: scripts/generate-seed-csv.sh [--dir DIR] [--seed N] [--branches N] [--cashiers N] [--app-users N]
                                                [--stores N] [--visits N] [--until 'YYYY-MM-DD HH:MM:SS']
              --dir        folder the five CSV files are written to (default resources; created when missing)
              --seed       random seed: the same seed and sizes give the same files (default 1)
              --branches   rows of branches (default %d); --cashiers (default %d), --app-users (default %d),
                           --stores (default %d), --visits (default %d) likewise; each at least 1
              --until      the newest timestamp written (default 2025-01-01 00:00:00); visits fill the 27 days
                           before it, the dimension tables the three days before those
            """.formatted(SeedData.BRANCHES, SeedData.CASHIERS, SeedData.APP_USERS, SeedData.STORES, SeedCsvGenerator.VISITS);

    static final int VISITS = 100_000;
    private static final String[] CITIES = {"Lisbon", "Porto", "Braga", "Faro"};
    private static final String[] CHANNELS = {"web", "ios", "android", "store"};
    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss.SSSSSS");
    private static final LocalDate OLDEST_BIRTH_DATE = LocalDate.of(1940, 1, 1);

    private final Map<String, Long> sizes;
    private final long seed;
    private final LocalDateTime until;

    private SeedCsvGenerator(Map<String, Long> sizes, long seed, LocalDateTime until) {
        this.sizes = sizes;
        this.seed = seed;
        this.until = until;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Exit code 0 when every file was written, 2 for a bad option, 1 when a file cannot be written. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, Long> sizes = new LinkedHashMap<>();
        sizes.put("--branches", (long) SeedData.BRANCHES);
        sizes.put("--cashiers", (long) SeedData.CASHIERS);
        sizes.put("--app-users", (long) SeedData.APP_USERS);
        sizes.put("--stores", (long) SeedData.STORES);
        sizes.put("--visits", (long) VISITS);
        Path dir = Path.of("resources");
        long seed = 1;
        LocalDateTime until = LocalDateTime.of(2025, 1, 1, 0, 0);
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (option.equals("-h") || option.equals("--help")) {
                out.print(USAGE);
                return 0;
            }
            if (!sizes.containsKey(option) && !List.of("--dir", "--seed", "--until").contains(option)) {
                return refuse(err, "unknown option " + option + " (see --help)");
            }
            if (i + 1 == args.length) {
                return refuse(err, option + " needs a value (see --help)");
            }
            String value = args[++i];
            try {
                switch (option) {
                    case "--dir" -> dir = Path.of(value);
                    case "--seed" -> seed = Long.parseLong(value);
                    case "--until" -> until = LocalDateTime.parse(value.trim().replace(' ', 'T'));
                    default -> {
                        long size = Long.parseLong(value.replace("_", ""));
                        if (size < 1) {
                            // a table of no rows leaves the foreign keys of the next one nothing to point at
                            return refuse(err, option + " must be at least 1, not " + value);
                        }
                        sizes.put(option, size);
                    }
                }
            } catch (NumberFormatException | DateTimeParseException e) {
                return refuse(err, option + " must be " + (option.equals("--until") ? "a timestamp such as '2025-01-01 00:00:00'"
                        : "a whole number") + ", not \"" + value + "\"");
            }
        }
        try {
            Files.createDirectories(dir);
            SeedCsvGenerator generator = new SeedCsvGenerator(sizes, seed, until);
            for (SeedCsv file : SeedCsv.FILES) {
                long rows = generator.write(file, dir.resolve(file.fileName()));
                out.println("generate-seed-csv: wrote " + dir.resolve(file.fileName()) + " (" + rows + " rows)");
            }
            return 0;
        } catch (IOException e) {
            err.println("generate-seed-csv: cannot write into " + dir + ": " + e);
            return 1;
        }
    }

    private static int refuse(PrintStream err, String reason) {
        err.println("generate-seed-csv: " + reason);
        return 2;
    }

    private long write(SeedCsv file, Path path) throws IOException {
        // one random stream per table, so that more visits leave the dimension tables as they were
        SplittableRandom random = new SplittableRandom(seed * 31 + SeedCsv.FILES.indexOf(file));
        long branches = sizes.get("--branches");
        long cashiers = sizes.get("--cashiers");
        try (BufferedWriter w = Files.newBufferedWriter(path, StandardCharsets.UTF_8)) {
            w.write(file.header());
            w.write('\n');
            switch (file.table()) {
                case "branches" -> {
                    for (long id = 1; id <= branches; id++) {
                        row(w, id, "Branch " + id, CITIES[random.nextInt(CITIES.length)], created(30, id, branches), null);
                    }
                }
                case "cashiers" -> {
                    for (long id = 1; id <= cashiers; id++) {
                        row(w, id, branchOf(id), "Cashier " + id, String.format("E%06d", id), created(29, id, cashiers), null);
                    }
                }
                case "app_users" -> {
                    long users = sizes.get("--app-users");
                    for (long id = 1; id <= users; id++) {
                        row(w, id, "user" + id + "@example.com", "User " + id,
                                OLDEST_BIRTH_DATE.plusDays(random.nextInt(25_000)).toString(), random.nextInt(10) != 0,
                                created(28, id, users), null);
                    }
                }
                case "stores" -> {
                    long stores = sizes.get("--stores");
                    for (long id = 1; id <= stores; id++) {
                        // somewhere in mainland Portugal, at the six decimals of numeric(9, 6)
                        row(w, id, branchOf(id), "Store " + id, id + " Main Street", micro(37_000_000 + random.nextInt(5_000_000)),
                                micro(-9_500_000 + random.nextInt(3_300_000)), created(28, id, stores), null);
                    }
                }
                case "app_user_visits_fact" -> writeVisits(w, random);
                default -> throw new IllegalStateException(file.table());
            }
        }
        return sizes.get(switch (file.table()) {
            case "branches" -> "--branches";
            case "cashiers" -> "--cashiers";
            case "app_users" -> "--app-users";
            case "stores" -> "--stores";
            default -> "--visits";
        });
    }

    private void writeVisits(BufferedWriter w, SplittableRandom random) throws IOException {
        long visits = sizes.get("--visits");
        long users = sizes.get("--app-users");
        long stores = sizes.get("--stores");
        for (long id = 1; id <= visits; id++) {
            long store = 1 + random.nextLong(stores);
            long branch = branchOf(store);
            int duration = 30 + random.nextInt(3_600);
            LocalDateTime created = created(27, id, visits);
            // every tenth visit was changed afterwards, halfway to --until, as in SeedData
            LocalDateTime updated = id % 10 == 0 ? created.plus(Duration.between(created, until).dividedBy(2)) : null;
            long cents = random.nextInt(100_000);
            row(w, id, 1 + random.nextLong(users), store, branch, cashierOf(branch, random),
                    TIMESTAMP.format(created.minusSeconds(duration)) + "+00", duration,
                    String.format("%d.%02d", cents / 100, cents % 100), CHANNELS[random.nextInt(CHANNELS.length)], created, updated);
        }
    }

    /** SeedData's branch of cashier or store {@code id}. */
    private long branchOf(long id) {
        return 1 + id % sizes.get("--branches");
    }

    /** One of the cashiers whose {@link #branchOf} is the branch; any cashier when the branch has none. */
    private long cashierOf(long branch, SplittableRandom random) {
        long branches = sizes.get("--branches");
        long cashiers = sizes.get("--cashiers");
        long first = branch - 1 == 0 ? branches : branch - 1;
        if (first > cashiers) {
            return 1 + random.nextLong(cashiers);
        }
        return first + random.nextLong((cashiers - first) / branches + 1) * branches;
    }

    /** Row {@code id} of {@code rows}, spread evenly over the day that begins {@code daysBack} days before --until. */
    private LocalDateTime created(int daysBack, long id, long rows) {
        long windowMicros = (daysBack == 27 ? 27 : 1) * 86_400_000_000L;
        long step = Math.max(1, windowMicros / rows);
        return until.minusDays(daysBack).plusNanos(id * step * 1_000);
    }

    private static String micro(long millionths) {
        return (millionths < 0 ? "-" : "") + Math.abs(millionths) / 1_000_000 + "."
                + String.format("%06d", Math.abs(millionths) % 1_000_000);
    }

    private static void row(BufferedWriter w, Object... values) throws IOException {
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                w.write(',');
            }
            Object v = values[i];
            if (v == null) {
                continue; // an unquoted empty field is NULL to COPY ... (FORMAT csv)
            }
            w.write(v instanceof LocalDateTime t ? TIMESTAMP.format(t) : csv(v.toString()));
        }
        w.write('\n');
    }

    /** A field quoted when CSV needs it; an empty text is quoted so that COPY reads it as '' and not NULL. */
    static String csv(String value) {
        if (!value.isEmpty() && value.chars().noneMatch(c -> c == ',' || c == '"' || c == '\n' || c == '\r')) {
            return value;
        }
        return '"' + value.replace("\"", "\"\"") + '"';
    }
}
