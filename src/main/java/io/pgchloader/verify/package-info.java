/**
 * {@code --verify}: compares each table's PostgreSQL rows with ClickHouse's by key ranges, keys and versions,
 * through both sides' catalogs and the cycle's environment; writes nothing.
 */
@Room(mayUse = {"app", "common", "config", "postgres", "clickhouse", "cycle"})
package io.pgchloader.verify;

import io.pgchloader.common.Room;
