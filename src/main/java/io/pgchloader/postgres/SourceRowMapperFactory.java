package io.pgchloader.postgres;

import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.apache.camel.component.sql.RowMapperFactory;
import org.postgresql.PGResultSetMetaData;
import org.springframework.jdbc.core.RowMapper;

/**
 * Turns PostgreSQL rows into {@link SourceRow}s for the sink, values in select-list order, each read the
 * way the sink's {@link ColumnReader.Choice} says.
 * Plugged into the camel-sql consumer of the PostgreSQL stream ({@code rowMapperFactory}), so rows
 * never exist as maps: the insert encodes the values as they are.
 */
public class SourceRowMapperFactory implements RowMapperFactory {

    private final ColumnReader.Choice choice;

    public SourceRowMapperFactory(ColumnReader.Choice choice) {
        this.choice = choice;
    }

    @Override
    public RowMapper<?> newColumnRowMapper() {
        return new RowMapper<SourceRow>() {
            private SourceRow.Shape shape;
            /** Per column: its reader, or null where the field stays raw (its bytes as the driver holds them). */
            private ColumnReader[] readers;

            @Override
            public SourceRow mapRow(ResultSet rs, int rowNum) throws SQLException {
                if (shape == null) {
                    readers = readersOf(rs.getMetaData());
                    shape = shapeOf(rs.getMetaData(), readers);
                }
                Object[] values = new Object[readers.length];
                for (int i = 0; i < readers.length; i++) {
                    ColumnReader reader = readers[i];
                    values[i] = reader == null ? rs.getBytes(i + 1) : reader.read(rs, i + 1);
                }
                return new SourceRow(shape, values);
            }
        };
    }

    @Override
    public RowMapper<?> newBeanRowMapper(Class<?> mappedClass) {
        throw new UnsupportedOperationException("rows are mapped to SourceRows for the ClickHouse insert, not beans");
    }

    /**
     * The catalog's name of a result column's type. The driver calls integer columns with a sequence
     * default "serial" (and so on); the catalog, and so the insert's layout, says int4.
     */
    private static String catalogName(String driverName) {
        return switch (driverName) {
            case "serial" -> "int4";
            case "bigserial" -> "int8";
            case "smallserial" -> "int2";
            default -> driverName;
        };
    }

    private ColumnReader[] readersOf(ResultSetMetaData meta) throws SQLException {
        ColumnReader[] readers = new ColumnReader[meta.getColumnCount()];
        for (int i = 0; i < readers.length; i++) {
            readers[i] = choice.readerFor(meta.getColumnLabel(i + 1), typeOf(meta, i), binary(meta, i));
        }
        return readers;
    }

    private static PgType typeOf(ResultSetMetaData meta, int i) throws SQLException {
        String typeName = catalogName(meta.getColumnTypeName(i + 1));
        return typeName.equals("numeric") || typeName.equals("_numeric")
                ? new PgType(typeName, meta.getPrecision(i + 1) > 1000 ? 0 : meta.getPrecision(i + 1), Math.max(0, meta.getScale(i + 1)))
                : new PgType(typeName, 0, 0);
    }

    private static boolean binary(ResultSetMetaData meta, int i) throws SQLException {
        return meta.isWrapperFor(PGResultSetMetaData.class)
                && meta.unwrap(PGResultSetMetaData.class).getFormat(i + 1) == 1;
    }

    private static SourceRow.Shape shapeOf(ResultSetMetaData meta, ColumnReader[] readers) throws SQLException {
        List<SourceRow.Column> columns = new ArrayList<>();
        for (int i = 0; i < meta.getColumnCount(); i++) {
            columns.add(new SourceRow.Column(meta.getColumnLabel(i + 1), typeOf(meta, i), binary(meta, i), readers[i] == null));
        }
        return new SourceRow.Shape(columns);
    }
}
