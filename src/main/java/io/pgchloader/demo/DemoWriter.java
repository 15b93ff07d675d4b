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
 * stores, in small transactions, while the loader runs.
 */
final class DemoWriter implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.writer");

    private final DataSource dataSource;
    private final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong inserted = new AtomicLong();
    final AtomicLong updated = new AtomicLong();

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
