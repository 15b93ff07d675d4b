/**
 * {@code --verify}: compares each table's PostgreSQL rows with ClickHouse's by key ranges, keys, versions
 * and values, through both sides' catalogs and the cycle's environment, and writes nothing. The same
 * comparison, narrowed down, mends: {@link TableRepair} is the cycle's {@code Reconciler}, which writes
 * tombstones and hands back the rows to copy again. CDC tables are compared at a WAL position instead
 * ({@link CdcCheck}), and mended at a version between the changes before and after that position.
 */
@Room(mayUse = {"app", "common", "config", "postgres", "clickhouse", "cycle", "cdc"})
package io.pgchloader.verify;

import io.pgchloader.common.Room;
