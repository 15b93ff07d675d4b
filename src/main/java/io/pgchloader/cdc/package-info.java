/**
 * The CDC mode: one logical replication slot and one publication per loader and database, shared by every
 * table of the {@code pg-cdc-to-clickhouse} template. {@link CdcStream} creates what is missing, loads each
 * new table under a snapshot consistent with the slot, decodes pgoutput ({@link PgOutput}) and applies the
 * changes through the ClickHouse side's sink, confirming the slot only past what ClickHouse holds.
 * Values are translated by the ClickHouse side's {@code PgToClickHouse}, as in the watermark mode.
 */
@Room(mayUse = {"common", "config", "postgres", "clickhouse"})
package io.pgchloader.cdc;

import io.pgchloader.common.Room;
