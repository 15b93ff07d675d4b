package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.demo.SeedData;
import io.pgchloader.demo.SqlScripts;
import io.pgchloader.demo.TableComparison;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The seed's five tables synced by the project's own routes, cycle after cycle. */
class TableSyncTest extends LoaderTestBase {

    static final List<String> SEED_ROUTES = List.of("sync-branches", "sync-cashiers", "sync-app-users", "sync-stores",
            "sync-app-user-visits-fact");
    static final List<String> SEED_TABLES = List.of("branches", "cashiers", "app_users", "stores", "app_user_visits_fact");


    private void seed(int visits) throws Exception {
        loader = new LoaderFixture(tmp).withSeedRoutes();
        try (Connection pg = loader.postgres()) {
            SeedData.create(pg, visits);
        }
        try (Connection ch = loader.clickHouse()) {
            SqlScripts.run(ch, "sql/ddl-ch.sql");
        }
        loader.start();
    }

    private void cycleAll() {
        for (String route : SEED_ROUTES) {
            SyncStatus.Outcome outcome = loader.cycle(route);
            assertTrue(outcome.succeeded(), outcome.message());
        }
    }

    private void assertAllTablesMatch() throws SQLException {
        try (Connection pg = loader.postgres(); Connection ch = loader.clickHouse()) {
            for (String table : SEED_TABLES) {
                TableComparison comparison = TableComparison.of(pg, ch, table);
                assertTrue(comparison.matches(), comparison.toString());
            }
        }
    }

    @Test
    void backfills_an_empty_target() throws Exception {
        seed(3_000);

        SyncStatus.Outcome visits = loader.cycle("sync-app-user-visits-fact");

        assertTrue(visits.succeeded(), visits.message());
        assertTrue(visits.message().contains("(backfill in key order, 1 chunk)"), visits.message());
        assertEquals(3_000, visits.rowsCreated(), "the backfill copies every row, updated or not, in key order");
        assertEquals(0, visits.rowsUpdated(), "nothing is left for the streams in the backfill's own cycle");
        assertEquals("", loader.chRows("SELECT comment FROM system.tables WHERE database = currentDatabase()"
                + " AND name = 'app_user_visits_fact'").get(0), "the finished backfill no longer marks the table");
        cycleAll();
        assertAllTablesMatch();
    }

    @Test
    void ships_created_and_updated_rows_in_later_cycles() throws Exception {
        seed(1_000);
        cycleAll();

        loader.pg("INSERT INTO app_user_visits_fact (app_user_id, store_id, branch_id, cashier_id, visited_at, amount)"
                        + " SELECT 1, 1, 1, 1, now(), 10 FROM generate_series(1, 25)",
                "UPDATE app_user_visits_fact SET amount = 777.77, updated_at = localtimestamp WHERE id IN (5, 6, 7)",
                "UPDATE app_users SET full_name = 'Renamed', updated_at = localtimestamp WHERE id = 42");
        SyncStatus.Outcome second = loader.cycle("sync-app-user-visits-fact");
        assertEquals(25, second.rowsCreated(), second.message());
        assertEquals(3, second.rowsUpdated(), second.message());

        // a row updated twice between cycles, and a never-updated row that gets its first update
        loader.pg("UPDATE app_user_visits_fact SET amount = 1.00, updated_at = localtimestamp WHERE id = 5",
                "UPDATE app_user_visits_fact SET amount = 2.00, updated_at = localtimestamp WHERE id = 5",
                "UPDATE app_user_visits_fact SET amount = 3.00, updated_at = localtimestamp WHERE id = 11");
        cycleAll();

        assertEquals(List.of("2.00", "777.77", "777.77", "3.00"), loader.chRows(
                "SELECT toString(toDecimalString(amount, 2)) FROM app_user_visits_fact FINAL WHERE id IN (5, 6, 7, 11) ORDER BY id"));
        assertEquals(List.of("Renamed"), loader.chRows("SELECT full_name FROM app_users FINAL WHERE id = 42"));
        assertAllTablesMatch();
    }

    @Test
    void a_rerun_without_changes_adds_nothing() throws Exception {
        seed(2_000);
        cycleAll();

        for (String route : SEED_ROUTES) {
            SyncStatus.Outcome again = loader.cycle(route);
            assertTrue(again.succeeded(), again.message());
            assertEquals(0, again.rowsCreated() + again.rowsUpdated(), again.message());
        }

        assertEquals(loader.pgLong("SELECT count(*) FROM app_user_visits_fact"),
                loader.chLong("SELECT count() FROM app_user_visits_fact FINAL"));
        assertEquals(0, loader.chLong("SELECT count() FROM (SELECT id FROM app_user_visits_fact FINAL GROUP BY id HAVING count() > 1)"),
                "no key appears twice");
        assertAllTablesMatch();
    }
}
