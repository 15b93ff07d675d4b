package io.pgchloader.bench;

import io.pgchloader.embedded.EmbeddedDatabases;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * What one step of a benchmark read on each side, from the servers' own counters, so the figure does not
 * depend on how busy the machine was. ClickHouse: the {@code SelectedRows}/{@code SelectedBytes} profile
 * events of {@code system.events} (every query of the server, so nothing else may query it meanwhile; the
 * embedded engine keeps no {@code system.query_log}). PostgreSQL: the table's tuples read by sequential
 * and index scans ({@code pg_stat_user_tables}) and the table and index pages touched, from cache or disk
 * ({@code pg_statio_user_tables}), times the 8 KiB page.
 */
final class ReadCounters {

    record Reads(long clickHouseRows, long clickHouseBytes, long postgresRows, long postgresBytes) {

        Reads minus(Reads before) {
            return new Reads(clickHouseRows - before.clickHouseRows, clickHouseBytes - before.clickHouseBytes,
                    postgresRows - before.postgresRows, postgresBytes - before.postgresBytes);
        }

        @Override
        public String toString() {
            return String.format("ClickHouse read %,d rows, %,.0f MB; PostgreSQL read %,d rows, %,.0f MB of pages",
                    clickHouseRows, clickHouseBytes / 1e6, postgresRows, postgresBytes / 1e6);
        }
    }

    private final EmbeddedDatabases db;
    private final String table;

    ReadCounters(EmbeddedDatabases db, String table) {
        this.db = db;
        this.table = table;
    }

    Reads now() throws SQLException, InterruptedException {
        long chRows;
        long chBytes;
        try (Connection ch = FactsTable.clickHouse(db); Statement s = ch.createStatement();
                ResultSet r = s.executeQuery("SELECT sumIf(value, event = 'SelectedRows'), sumIf(value, event = 'SelectedBytes')"
                        + " FROM system.events")) {
            r.next();
            chRows = r.getLong(1);
            chBytes = r.getLong(2);
        }
        // an idle backend sends its counters up to 10 s after its last transaction (PGSTAT_IDLE_INTERVAL)
        Thread.sleep(11_000);
        try (Connection pg = db.postgres("postgres").getConnection(); Statement s = pg.createStatement()) {
            s.execute("SELECT pg_stat_clear_snapshot()");
            try (ResultSet r = s.executeQuery("SELECT coalesce(t.seq_tup_read, 0) + coalesce(t.idx_tup_fetch, 0),"
                    + " 8192 * (coalesce(io.heap_blks_read, 0) + coalesce(io.heap_blks_hit, 0)"
                    + " + coalesce(io.idx_blks_read, 0) + coalesce(io.idx_blks_hit, 0)"
                    + " + coalesce(io.toast_blks_read, 0) + coalesce(io.toast_blks_hit, 0))"
                    + " FROM pg_stat_user_tables t JOIN pg_statio_user_tables io USING (relid) WHERE t.relname = '" + table + "'")) {
                r.next();
                return new Reads(chRows, chBytes, r.getLong(1), r.getLong(2));
            }
        }
    }
}
