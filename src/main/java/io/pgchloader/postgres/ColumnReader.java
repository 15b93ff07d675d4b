package io.pgchloader.postgres;

import java.sql.ResultSet;
import java.sql.SQLException;

/** Reads one column of the current row into the value the sink takes. */
@FunctionalInterface
public interface ColumnReader {

    Object read(ResultSet rs, int index) throws SQLException;

    /**
     * Chooses each result column's reader once per result; {@code null} keeps the field as the driver's
     * bytes (see {@link PgWire}). The sink decides, because only it knows what it can take as bytes.
     */
    @FunctionalInterface
    interface Choice {
        ColumnReader readerFor(String column, PgType type, boolean binary);
    }
}
