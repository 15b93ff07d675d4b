package io.pgchloader.demo;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application the demo pretends to be: keeps inserting visits and users and updating visits and
 * stores, and inserting, updating and deleting stock rows (the CDC table), in small transactions, while
 * the loader runs.
 */
final class DemoWriter implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.writer");

    private final DataSource dataSource;
    private final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong inserted = new AtomicLong();
    final AtomicLong updated = new AtomicLong();
    final AtomicLong stockInserted = new AtomicLong();
    final AtomicLong stockUpdated = new AtomicLong();
    final AtomicLong stockDeleted = new AtomicLong();

    DemoWriter(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    void stop() {
        running.set(false);
    }

    @Override
    public void run() {
        try (Connection pg = dataSource.getConnection(); Statement s = pg.createStatement()) {
            pg.setAutoCommit(false);
            long tick = 0;
            while (running.get()) {
                tick++;
                inserted.addAndGet(s.executeUpdate(
                        "INSERT INTO app_user_visits_fact (app_user_id, store_id, branch_id, cashier_id, visited_at,"
                                + " duration_seconds, amount, channel)"
                                + " SELECT 1 + (random() * 9999)::int, 1 + (random() * 299)::int, 1 + (random() * 19)::int,"
                                + " 1 + (random() * 199)::int, now(), (random() * 3600)::int, round((random() * 500)::numeric, 2), 'web'"
                                + " FROM generate_series(1, 50)"));
                updated.addAndGet(s.executeUpdate(
                        "UPDATE app_user_visits_fact SET amount = amount + 1, updated_at = localtimestamp"
                                + " WHERE id IN (SELECT 1 + (random() * (SELECT max(id) - 1 FROM app_user_visits_fact))::bigint"
                                + " FROM generate_series(1, 20))"));
                // stock pairs drawn from more products than are stocked, so inserts find free keys and deletes taken ones
                String stockKeys = "SELECT 1 + (random() * " + (SeedData.STORES - 1) + ")::int, 1 + (random() * "
                        + (SeedData.PRODUCTS_PER_STORE * 3 / 2 - 1) + ")::int FROM generate_series(1, ";
                stockUpdated.addAndGet(s.executeUpdate("UPDATE store_stock SET on_hand = greatest(0, on_hand - 1 - (random() * 5)::int),"
                        + " reserved = (random() * 4)::int WHERE (store_id, product_no) IN (" + stockKeys + "8))"));
                if (tick % 2 == 0) {
                    stockInserted.addAndGet(s.executeUpdate("INSERT INTO store_stock (store_id, product_no, on_hand)"
                            + " SELECT k.*, (random() * 200)::int FROM (" + stockKeys + "3)) k ON CONFLICT DO NOTHING"));
                    stockDeleted.addAndGet(s.executeUpdate("DELETE FROM store_stock WHERE (store_id, product_no) IN (" + stockKeys + "3))"));
                }
                if (tick % 10 == 0) {
                    inserted.addAndGet(s.executeUpdate("INSERT INTO app_users (email, full_name)"
                            + " SELECT 'new' || gen_random_uuid() || '@example.com', 'New user'"));
                    updated.addAndGet(s.executeUpdate("UPDATE stores SET address = address || '.', updated_at = localtimestamp"
                            + " WHERE id = 1 + (random() * 299)::int"));
                }
                pg.commit();
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (SQLException e) {
            LOG.error("Writer stopped: {}", e.getMessage());
        }
    }
}
