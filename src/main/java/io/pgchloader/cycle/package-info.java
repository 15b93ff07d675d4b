/**
 * One table's cycle, between the two sides: {@link TableSync} (the route's bean),
 * {@link SyncCycle} (one run: horizon, backfill, streams, watermarks), the read-ahead,
 * progress, retries and the status board every observer reads. Uses both sides; neither side uses it.
 */
@Room(mayUse = {"common", "postgres", "clickhouse"})
package io.pgchloader.cycle;

import io.pgchloader.common.Room;
