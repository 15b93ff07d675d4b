package io.pgchloader.sync;

import javax.sql.DataSource;

/** What every table route shares: both databases, the ClickHouse database name and the status board. */
public record SyncEnvironment(DataSource postgres, DataSource clickHouse, String clickHouseDatabase, SyncStatus status) {
}
