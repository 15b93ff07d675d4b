package io.pgchloader.postgres;

import java.util.List;

/**
 * One PostgreSQL row on its way to the insert, its values in select-list order. For the column types the
 * loader decodes itself ({@link PgWire}) a value is the driver's own buffer of the field, its bytes as
 * PostgreSQL sent them; any other value is what its {@link ColumnReader} read. NULL is null either way.
 *
 * <p>Why raw bytes: decoding a field into a Java object only for the RowBinary encoder to take it apart again
 * (boxed numbers, {@code BigDecimal}s, strings decoded from UTF-8 and encoded back) was the largest part
 * of the loader's own work in a backfill (JFR, docs/performance.md). The driver allocates each field's bytes
 * anyway; keeping them costs nothing more.
 */
public record SourceRow(Shape shape, Object[] values) {

    /** A result column: its name, its PostgreSQL type, how the driver received it, and whether it stays raw. */
    public record Column(String name, PgType type, boolean binary, boolean raw) {
    }

    /** The columns of a result, shared by all its rows. */
    public record Shape(List<Column> columns) {

        public Shape {
            columns = List.copyOf(columns);
        }

        public int size() {
            return columns.size();
        }

        public Column column(int index) {
            return columns.get(index);
        }
    }

    /** The value of a timestamp column in microseconds since the epoch, as the insert writes it. */
    public long micros(int index) {
        Object value = values[index];
        return shape.column(index).raw() ? PgWire.micros((byte[]) value) : (Long) value;
    }
}
