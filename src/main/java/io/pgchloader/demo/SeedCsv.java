package io.pgchloader.demo;

import java.util.List;

/**
 * The CSV files of the seed schema that {@link SeedCsvGenerator} writes and {@link SeedCsvPopulator} loads:
 * one file per table, named after it, with a header line of the columns below. The tables are listed in
 * foreign-key order, so loading them in this order never points at a row that is not there yet.
 */
record SeedCsv(String table, List<String> columns) {

    static final List<SeedCsv> FILES = List.of(
            new SeedCsv("branches", List.of("id", "name", "city", "created_at", "updated_at")),
            new SeedCsv("cashiers", List.of("id", "branch_id", "full_name", "employee_no", "created_at", "updated_at")),
            new SeedCsv("app_users", List.of("id", "email", "full_name", "birth_date", "is_active", "created_at", "updated_at")),
            new SeedCsv("stores", List.of("id", "branch_id", "name", "address", "latitude", "longitude", "created_at",
                    "updated_at")),
            new SeedCsv("app_user_visits_fact", List.of("id", "app_user_id", "store_id", "branch_id", "cashier_id",
                    "visited_at", "duration_seconds", "amount", "channel", "created_at", "updated_at")));

    String fileName() {
        return table + ".csv";
    }

    String header() {
        return String.join(",", columns);
    }
}
