package io.pgchloader.demo;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** The seed schema filled with synthetic data: dimensions and a visits fact table of any size. */
public final class SeedData {

    private SeedData() {
    }

    public static final int BRANCHES = 20;
    public static final int CASHIERS = 200;
    public static final int APP_USERS = 10_000;
    public static final int STORES = 300;
    /** Products each store stocks at first; the writer's inserts draw from 1.5 times as many. */
    public static final int PRODUCTS_PER_STORE = 40;

    /** Creates the seed schema and fills it; every tenth visit has been updated once since. */
    public static void create(Connection pg, int visits) throws SQLException {
        SqlScripts.run(pg, "sql/ddl-pg.sql");
        try (Statement s = pg.createStatement()) {
            s.execute("INSERT INTO branches (name, city, created_at) SELECT 'Branch ' || g,"
                    + " (ARRAY['Lisbon','Porto','Braga','Faro'])[1 + g % 4], localtimestamp - interval '30 days' + g * interval '1 minute'"
                    + " FROM generate_series(1, " + BRANCHES + ") g");
            s.execute("INSERT INTO cashiers (branch_id, full_name, employee_no, created_at) SELECT 1 + g % " + BRANCHES + ","
                    + " 'Cashier ' || g, 'E' || lpad(g::text, 6, '0'), localtimestamp - interval '29 days' + g * interval '1 second'"
                    + " FROM generate_series(1, " + CASHIERS + ") g");
            s.execute("INSERT INTO app_users (email, full_name, birth_date, is_active, created_at) SELECT 'user' || g || '@example.com',"
                    + " 'User ' || g, date '1940-01-01' + (g * 7 % 25000), g % 10 <> 0,"
                    + " localtimestamp - interval '28 days' + g * interval '100 milliseconds'"
                    + " FROM generate_series(1, " + APP_USERS + ") g");
            s.execute("INSERT INTO stores (branch_id, name, address, latitude, longitude, created_at) SELECT 1 + g % " + BRANCHES + ","
                    + " 'Store ' || g, g || ' Main Street', 38 + (g % 1000) / 1000.0, -9 - (g % 1000) / 1000.0,"
                    + " localtimestamp - interval '28 days' + g * interval '1 second'"
                    + " FROM generate_series(1, " + STORES + ") g");
            insertVisits(s, visits);
            // updated halfway between creation and now, so no update lies in the future
            s.execute("UPDATE app_user_visits_fact SET amount = amount + 1,"
                    + " updated_at = created_at + (localtimestamp - created_at) / 2 WHERE id % 10 = 0");
            s.execute("ANALYZE");
        }
        if (!pg.getAutoCommit()) {
            pg.commit();
        }
    }

    /**
     * The table without timestamps that the demo syncs by CDC ({@code sql/ddl-pg-cdc.sql}): every store
     * stocks products 1 to {@link #PRODUCTS_PER_STORE}. Needs the stores of {@link #create}.
     */
    public static void createStoreStock(Connection pg) throws SQLException {
        SqlScripts.run(pg, "sql/ddl-pg-cdc.sql");
        try (Statement s = pg.createStatement()) {
            s.execute("INSERT INTO store_stock (store_id, product_no, on_hand, reserved)"
                    + " SELECT st, p, (st * 31 + p * 7) % 200, p % 3 FROM generate_series(1, " + STORES + ") st,"
                    + " generate_series(1, " + PRODUCTS_PER_STORE + ") p");
            s.execute("ANALYZE store_stock");
        }
        if (!pg.getAutoCommit()) {
            pg.commit();
        }
    }

    /** Visits spread over the last 27 days, created in order. */
    public static void insertVisits(Statement s, int visits) throws SQLException {
        s.execute("INSERT INTO app_user_visits_fact (app_user_id, store_id, branch_id, cashier_id, visited_at,"
                + " duration_seconds, amount, channel, created_at)"
                + " SELECT 1 + g % " + APP_USERS + ", 1 + g % " + STORES + ", 1 + g % " + BRANCHES + ", 1 + g % " + CASHIERS + ","
                + " now() - interval '27 days' + g * (interval '27 days' / " + visits + "),"
                + " 30 + g % 3600, (g % 100000) / 100.0, (ARRAY['web','ios','android','store'])[1 + g % 4],"
                + " localtimestamp - interval '27 days' + g * (interval '27 days' / " + visits + ")"
                + " FROM generate_series(1, " + visits + ") g");
    }
}
