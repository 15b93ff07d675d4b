package io.pgchloader.sync;

import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import org.apache.camel.component.sql.RowMapperFactory;
import org.postgresql.PGResultSetMetaData;
import org.springframework.jdbc.core.RowMapper;

/**
 * Turns PostgreSQL rows into arrays of values ready for the ClickHouse insert, in select-list order.
 * Plugged into the camel-sql consumer of the PostgreSQL stream ({@code rowMapperFactory}), so rows
 * never exist as maps: the insert binds the array as it is.
 */
public class ClickHouseRowMapperFactory implements RowMapperFactory {

    @Override
    public RowMapper<?> newColumnRowMapper() {
        return new RowMapper<Object[]>() {
            private ClickHouseTypes.Reader[] readers;

            @Override
            public Object[] mapRow(ResultSet rs, int rowNum) throws SQLException {
                if (readers == null) {
                    readers = readersFor(rs.getMetaData());
                }
                Object[] row = new Object[readers.length];
                for (int i = 0; i < readers.length; i++) {
                    row[i] = readers[i].read(rs, i + 1);
                }
                return row;
            }
        };
    }

    @Override
    public RowMapper<?> newBeanRowMapper(Class<?> mappedClass) {
        throw new UnsupportedOperationException("rows are mapped to ClickHouse value arrays, not beans");
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

    private static ClickHouseTypes.Reader[] readersFor(ResultSetMetaData meta) throws SQLException {
        ClickHouseTypes.Reader[] readers = new ClickHouseTypes.Reader[meta.getColumnCount()];
        for (int i = 0; i < readers.length; i++) {
            String typeName = catalogName(meta.getColumnTypeName(i + 1));
            PgType type = typeName.equals("numeric") || typeName.equals("_numeric")
                    ? new PgType(typeName, meta.getPrecision(i + 1) > 1000 ? 0 : meta.getPrecision(i + 1), Math.max(0, meta.getScale(i + 1)))
                    : new PgType(typeName, 0, 0);
            boolean binary = meta.isWrapperFor(PGResultSetMetaData.class)
                    && meta.unwrap(PGResultSetMetaData.class).getFormat(i + 1) == 1;
            readers[i] = ClickHouseTypes.reader(meta.getColumnLabel(i + 1), type, binary);
        }
        return readers;
    }
}
