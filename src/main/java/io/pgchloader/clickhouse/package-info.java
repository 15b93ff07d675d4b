/**
 * The ClickHouse side: target tables (creation, drift, sorting key, type fit; on a cluster the Distributed
 * target over shard tables, and DDL on every host), the RowBinary encoding and the streamed, replayable
 * INSERT.
 *
 * <p>{@link PgToClickHouse} is the one place where a PostgreSQL value becomes a
 * ClickHouse one: column types, how each column is read, which fields go over as wire bytes, and every
 * range and precision check; {@link RowBinary} asks it about whatever it cannot copy
 * byte for byte. Uses the PostgreSQL side's model of a table and a row, never the cycle: rows are counted
 * through {@link RowCounts}.
 */
@Room(mayUse = {"common", "postgres"})
package io.pgchloader.clickhouse;

import io.pgchloader.common.Room;
