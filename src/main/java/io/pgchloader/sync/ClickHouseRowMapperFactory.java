package io.pgchloader.sync;

import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.apache.camel.component.sql.RowMapperFactory;
import org.postgresql.PGResultSetMetaData;
import org.springframework.jdbc.core.RowMapper;

/**
 * Turns PostgreSQL rows into {@link SourceRow}s for the ClickHouse insert, values in select-list order.
 * Plugged into the camel-sql consumer of the PostgreSQL stream ({@code rowMapperFactory}), so rows
 * never exist as maps: the insert encodes the values as they are.
 */
public class ClickHouseRowMapperFactory implements RowMapperFactory {

    @Override
    public RowMapper<?> newColumnRowMapper() {
        return new RowMapper<SourceRow>() {
            private SourceRow.Shape shape;
            /** Per column: its reader, or null where the field stays raw (its bytes as the driver holds them). */
            private ClickHouseTypes.Reader[] readers;

            @Override
            public SourceRow mapRow(ResultSet rs, int rowNum) throws SQLException {
                if (shape == null) {
                    shape = shapeOf(rs.getMetaData());
                    readers = new ClickHouseTypes.Reader[shape.size()];
                    for (int i = 0; i < readers.length; i++) {
                        SourceRow.Column c = shape.column(i);
                        readers[i] = c.raw() ? null : ClickHouseTypes.reader(c.name(), c.type());
                    }
                }
                Object[] values = new Object[readers.length];
                for (int i = 0; i < readers.length; i++) {
                    ClickHouseTypes.Reader reader = readers[i];
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

    private static SourceRow.Shape shapeOf(ResultSetMetaData meta) throws SQLException {
        List<SourceRow.Column> columns = new ArrayList<>();
        for (int i = 0; i < meta.getColumnCount(); i++) {
            String typeName = catalogName(meta.getColumnTypeName(i + 1));
            PgType type = typeName.equals("numeric") || typeName.equals("_numeric")
                    ? new PgType(typeName, meta.getPrecision(i + 1) > 1000 ? 0 : meta.getPrecision(i + 1), Math.max(0, meta.getScale(i + 1)))
                    : new PgType(typeName, 0, 0);
            boolean binary = meta.isWrapperFor(PGResultSetMetaData.class)
                    && meta.unwrap(PGResultSetMetaData.class).getFormat(i + 1) == 1;
            columns.add(SourceRow.Column.of(meta.getColumnLabel(i + 1), type, binary));
        }
        return new SourceRow.Shape(columns);
    }
}
