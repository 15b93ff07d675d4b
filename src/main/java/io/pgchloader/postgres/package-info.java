/**
 * The PostgreSQL side: the catalog ({@link PostgresCatalog}), the write horizon
 * and the open transactions that hold it, the stream windows and their queries' parameters, and rows read
 * as {@link SourceRow}s whose fields stay PostgreSQL's wire bytes where the sink can
 * take them ({@link PgWire} decodes those).
 *
 * <p>Knows nothing of ClickHouse or of the cycle: what a value becomes is the sink's choice, handed in as a
 * {@link ColumnReader.Choice}.
 */
@Room(mayUse = {"common"})
package io.pgchloader.postgres;

import io.pgchloader.common.Room;
