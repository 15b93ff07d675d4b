package io.pgchloader.cycle;

import io.pgchloader.clickhouse.ClickHouseCluster;
import io.pgchloader.postgres.OpenTransactions;
import java.time.Duration;
import java.time.ZoneId;
import javax.sql.DataSource;

/**
 * What every table route shares: both databases, the ClickHouse database name, the zone of
 * timestamp-without-time-zone columns, the lookback, the watch on PostgreSQL's open transactions and the
 * status board, and the cluster of a sharded ClickHouse (null for plain tables).
 */
public record SyncEnvironment(DataSource postgres, DataSource clickHouse, String clickHouseDatabase,
                              ZoneId timestampZone, Duration lookback, Duration progressEvery, SyncStatus status,
                              OpenTransactions openTransactions, ClickHouseCluster cluster) {
}
