package io.pgchloader.config;

import io.pgchloader.common.CronSchedule;
import io.pgchloader.common.DeleteGuard;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * Checks the templatedRoutes in {@code ROUTES_DIR} before Camel sees them, for what Camel would let pass
 * silently: a parameter the template does not declare (a typo, whose default would then be used), and a
 * property placeholder in a parameter that names a table or column (Camel would expand it, so
 * {@code {{env:POSTGRES_PASSWORD}}} would end up in log lines and SQL), a {@code cron} that is no schedule
 * (Camel would fail with a stack trace naming neither the route nor the parameter, in scheduled mode only)
 * and an {@code enabled} that is neither true nor false. Every problem in one message.
 */
public final class RouteFiles {

    /** Parameters that name schemas, tables or columns: taken literally, never expanded. */
    static final Set<String> NAME_PARAMETERS = Set.of("table", "schema", "targetTable", "primaryKey", "createdColumn",
            "updatedColumn");

    /** Parameters checked by value: the value the templatedRoute gives, else the template's default. */
    private static final String CRON = "cron";
    private static final String RECONCILE_CRON = "reconcileCron";
    private static final String ENABLED = "enabled";
    private static final String BACKFILL_PARALLELISM = "backfillParallelism";
    private static final String MAX_DELETE_FRACTION = "maxDeleteFraction";

    /**
     * The most key ranges one backfill copies at once: each holds a PostgreSQL cursor, a ClickHouse INSERT
     * and its read-ahead batches, and the connection pools grow by one connection per range beyond the first.
     */
    public static final int MAX_BACKFILL_PARALLELISM = 64;

    private RouteFiles() {
    }

    /** One templatedRoute as written: its id and the parameters it sets (not the template's defaults). */
    public record TemplatedRoute(String routeId, Map<String, String> parameters) {

        /** The ClickHouse table it writes: targetTable, or the source table's name when that is empty. */
        public String targetTable() {
            String target = parameters.getOrDefault("targetTable", "");
            return target.isEmpty() ? parameters.getOrDefault("table", "") : target;
        }
    }

    /**
     * Throws a {@link ConfigurationException} listing every problem; returns the templatedRoutes of the
     * templates found when there is none.
     */
    public static List<TemplatedRoute> check(Path routesDir) {
        Map<String, Set<String>> templates = new HashMap<>();
        Map<String, Map<String, String>> defaults = new HashMap<>();
        List<Map<?, ?>> templated = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (Map<?, ?> map : entries(routesDir, problems)) {
            if (map.get("routeTemplate") instanceof Map<?, ?> template && template.get("id") != null) {
                Set<String> names = new LinkedHashSet<>();
                Map<String, String> given = new HashMap<>();
                if (template.get("parameters") instanceof List<?> parameters) {
                    for (Object p : parameters) {
                        if (p instanceof Map<?, ?> parameter && parameter.get("name") != null) {
                            names.add(parameter.get("name").toString());
                            if (parameter.get("defaultValue") != null) {
                                given.put(parameter.get("name").toString(), parameter.get("defaultValue").toString());
                            }
                        }
                    }
                }
                templates.put(template.get("id").toString(), names);
                defaults.put(template.get("id").toString(), given);
            }
            if (map.get("templatedRoute") instanceof Map<?, ?> route) {
                templated.add(route);
            }
        }
        List<TemplatedRoute> found = new ArrayList<>();
        for (Map<?, ?> route : templated) {
            String id = String.valueOf(route.get("routeId"));
            Set<String> known = templates.get(String.valueOf(route.get("routeTemplateRef")));
            if (known == null) {
                continue;
            }
            Map<String, String> given = new LinkedHashMap<>();
            found.add(new TemplatedRoute(id, given));
            Map<String, String> values = new HashMap<>(defaults.get(String.valueOf(route.get("routeTemplateRef"))));
            List<?> parameters = route.get("parameters") instanceof List<?> list ? list : List.of();
            for (Object p : parameters) {
                if (!(p instanceof Map<?, ?> parameter) || parameter.get("name") == null) {
                    continue;
                }
                String name = parameter.get("name").toString();
                String value = String.valueOf(parameter.get("value"));
                given.put(name, value);
                values.put(name, value);
                if (!known.contains(name)) {
                    problems.add("route " + id + ": unknown parameter '" + name + "'" + nearest(name, known)
                            + "; the parameters are " + String.join(", ", known) + ".");
                } else if (NAME_PARAMETERS.contains(name) && value.contains("{{")) {
                    problems.add("route " + id + ": parameter " + name + " holds a property placeholder (" + value
                            .replaceAll("\\{\\{[^}]*}}", "{{…}}") + "), but names are taken literally: write the name itself.");
                }
            }
            checkValues(id, values, known, problems);
        }
        if (!problems.isEmpty()) {
            throw new ConfigurationException("the routes in ROUTES_DIR " + routesDir + " have " + problems.size()
                    + " problem(s): " + String.join(" ", problems));
        }
        return found;
    }

    private static void checkSchedule(String id, String name, String cron, Set<String> known, List<String> problems) {
        // a placeholder ({{env:SYNC_CRON}}) is Camel's to expand; its value is checked where it is used
        if (known.contains(name) && cron != null && !cron.contains("{{")) {
            try {
                CronSchedule.parse(cron);
            } catch (IllegalArgumentException e) {
                problems.add("route " + id + ": parameter " + name + " is \"" + cron + "\", which is no schedule ("
                        + e.getMessage() + "): write " + CronSchedule.EXAMPLES + ".");
            }
        }
    }

    /** The values Camel would only trip over later: the schedule, and the switch that keeps a table out. */
    private static void checkValues(String id, Map<String, String> values, Set<String> known, List<String> problems) {
        checkSchedule(id, CRON, values.get(CRON), known, problems);
        String reconcile = values.get(RECONCILE_CRON);
        if (reconcile != null && !reconcile.isBlank()) {
            checkSchedule(id, RECONCILE_CRON, reconcile, known, problems);
        }
        String enabled = values.get(ENABLED);
        if (known.contains(ENABLED) && enabled != null && !enabled.contains("{{")
                && !enabled.equals("true") && !enabled.equals("false")) {
            problems.add("route " + id + ": parameter enabled is \"" + enabled + "\": write true (sync the table) or false"
                    + " (keep it out of every mode).");
        }
        String parallelism = values.get(BACKFILL_PARALLELISM);
        if (known.contains(BACKFILL_PARALLELISM) && parallelism != null && !parallelism.contains("{{")
                && backfillParallelism(parallelism) == 0) {
            problems.add("route " + id + ": parameter " + BACKFILL_PARALLELISM + " is \"" + parallelism + "\": write a whole"
                    + " number from 1 (one key range at a time, the default) to " + MAX_BACKFILL_PARALLELISM + ".");
        }
        // both templates' delete guard
        String fraction = values.get(MAX_DELETE_FRACTION);
        if (known.contains(MAX_DELETE_FRACTION) && fraction != null && !fraction.contains("{{")) {
            try {
                DeleteGuard.fraction(id, fraction);
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        }
    }

    /** A backfillParallelism value as a number of key ranges, or 0 when it is none from 1 to the maximum. */
    public static int backfillParallelism(String value) {
        try {
            int n = Integer.parseInt(value.strip());
            return n >= 1 && n <= MAX_BACKFILL_PARALLELISM ? n : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * The templatedRoutes of one template, each as its parameters (the template's defaults filled in) plus
     * {@code routeId}: what the CDC mode needs before Camel starts, to prepare its one shared slot.
     */
    public static List<Map<String, String>> templatedRoutes(Path routesDir, String templateId) {
        Map<String, String> defaults = new HashMap<>();
        List<Map<?, ?>> templated = new ArrayList<>();
        for (Map<?, ?> map : entries(routesDir, new ArrayList<>())) {
            if (map.get("routeTemplate") instanceof Map<?, ?> template && templateId.equals(String.valueOf(template.get("id")))
                    && template.get("parameters") instanceof List<?> parameters) {
                for (Object p : parameters) {
                    if (p instanceof Map<?, ?> parameter && parameter.get("name") != null && parameter.get("defaultValue") != null) {
                        defaults.put(parameter.get("name").toString(), parameter.get("defaultValue").toString());
                    }
                }
            }
            if (map.get("templatedRoute") instanceof Map<?, ?> route && templateId.equals(String.valueOf(route.get("routeTemplateRef")))) {
                templated.add(route);
            }
        }
        List<Map<String, String>> routes = new ArrayList<>();
        for (Map<?, ?> route : templated) {
            Map<String, String> values = new HashMap<>(defaults);
            values.put("routeId", String.valueOf(route.get("routeId")));
            if (route.get("parameters") instanceof List<?> parameters) {
                for (Object p : parameters) {
                    if (p instanceof Map<?, ?> parameter && parameter.get("name") != null) {
                        values.put(parameter.get("name").toString(), String.valueOf(parameter.get("value")));
                    }
                }
            }
            routes.add(values);
        }
        return routes;
    }

    /** The top-level entries of every YAML file of the folder; Camel reports malformed YAML itself, with line numbers. */
    private static List<Map<?, ?>> entries(Path routesDir, List<String> problems) {
        List<Map<?, ?>> found = new ArrayList<>();
        for (Path file : yamlFiles(routesDir, problems)) {
            Object document;
            try {
                document = new Load(LoadSettings.builder().build()).loadFromString(Files.readString(file));
            } catch (IOException | RuntimeException e) {
                continue;
            }
            if (document instanceof List<?> entries) {
                for (Object entry : entries) {
                    if (entry instanceof Map<?, ?> map) {
                        found.add(map);
                    }
                }
            }
        }
        return found;
    }

    private static List<Path> yamlFiles(Path dir, List<String> problems) {
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return files;
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.yaml")) {
            stream.forEach(files::add);
        } catch (IOException e) {
            problems.add("cannot read " + dir + ": " + e.getMessage());
        }
        files.sort(Comparator.naturalOrder());
        return files;
    }

    /** " (did you mean 'x'?)" for the known name closest to a typo, or nothing when none is close. */
    static String nearest(String name, Set<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : known) {
            int d = distance(name.toLowerCase(), candidate.toLowerCase());
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        return best != null && bestDistance <= Math.max(2, name.length() / 3) ? " (did you mean '" + best + "'?)" : "";
    }

    private static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
