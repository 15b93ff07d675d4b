package io.pgchloader.sync;

import java.math.BigDecimal;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Set;
import java.util.UUID;

/**
 * The type mapping from PostgreSQL to ClickHouse, in both of its halves: the column type a target
 * table gets, and how a value is read from PostgreSQL so that the ClickHouse driver writes it exactly.
 *
 * <p>Values are read into the Java types {@link RowBinary} encodes: timestamps as microseconds since the
 * epoch in UTC (a {@code Long}), so no Java date type, JVM time zone or driver conversion ever touches
 * them. {@code timestamp} (without time zone) is read as its wall-clock value and stored as that value
 * in UTC, so ClickHouse shows what PostgreSQL shows.
 * Values ClickHouse cannot hold (dates outside its range, numbers that do not fit the decimal) stop the
 * table with a message instead of being clamped or rounded.
 */
public final class ClickHouseTypes {

    /** Reads one column of the current row, converted for the ClickHouse driver. */
    @FunctionalInterface
    public interface Reader {
        Object read(ResultSet rs, int index) throws SQLException;
    }

    private static final LocalDate MIN_DATE = LocalDate.ofEpochDay(PgWire.MIN_DAY);
    private static final LocalDate MAX_DATE = LocalDate.ofEpochDay(PgWire.MAX_DAY);
    private static final int MAX_DECIMAL_PRECISION = 76;

    /** Element types whose arrays map to ClickHouse arrays; other arrays travel as PostgreSQL text. */
    private static final Set<String> ARRAY_ELEMENTS = Set.of(
            "int2", "int4", "int8", "float4", "float8", "bool", "text", "varchar", "bpchar", "name", "uuid", "numeric");

    private ClickHouseTypes() {
    }

    /** The ClickHouse type of a column, without Nullable. */
    public static String baseType(PgType type) {
        if (type.isArray()) {
            PgType element = type.element();
            return ARRAY_ELEMENTS.contains(element.name())
                    ? "Array(Nullable(" + baseType(element) + "))"
                    : "String";
        }
        return switch (type.name()) {
            case "int2" -> "Int16";
            case "int4" -> "Int32";
            case "int8" -> "Int64";
            case "oid" -> "UInt32";
            case "float4" -> "Float32";
            case "float8" -> "Float64";
            case "bool" -> "Bool";
            case "numeric" -> decimalType(type);
            case "uuid" -> "UUID";
            case "date" -> "Date32";
            case "timestamp", "timestamptz" -> "DateTime64(6, 'UTC')";
            // text, varchar, char, json, jsonb, interval, inet, enums, time, bytea (hex) and the rest:
            // their exact PostgreSQL text in a String
            default -> "String";
        };
    }

    /** The full ClickHouse column type: Nullable only where PostgreSQL allows NULL. */
    public static String columnType(PgColumn column) {
        String base = baseType(column.type());
        return column.notNull() || base.startsWith("Array(") ? base : "Nullable(" + base + ")";
    }

    private static String decimalType(PgType type) {
        if (type.precision() == 0) {
            // unconstrained numeric: the widest decimal ClickHouse has, half of it for the fraction;
            // a value that does not fit stops the table (see reader) rather than being rounded
            return "Decimal(76, 38)";
        }
        return "Decimal(" + type.precision() + ", " + type.scale() + ")";
    }

    public static boolean isTimestamp(PgType type) {
        return type.name().equals("timestamp") || type.name().equals("timestamptz");
    }

    /**
     * How to read a column of this type into the value its RowBinary encoder takes, for the columns a
     * {@link SourceRow} does not keep raw (see {@link PgWire#decodes}).
     */
    public static Reader reader(String column, PgType type) {
        if (type.isArray()) {
            PgType element = type.element();
            if (!ARRAY_ELEMENTS.contains(element.name())) {
                return ResultSet::getString;
            }
            return (rs, i) -> {
                Array array = rs.getArray(i);
                if (array == null) {
                    // ClickHouse has no Nullable(Array): a NULL array arrives as an empty one
                    return new Object[0];
                }
                Object[] values = (Object[]) array.getArray();
                for (Object value : values) {
                    if (value != null && value.getClass().isArray()) {
                        throw new SyncException("column " + column + ": a multi-dimensional " + element.name()
                                + " array cannot be stored exactly (ClickHouse columns here are one-dimensional arrays);"
                                + " keep the column one-dimensional or cast it to text in a view");
                    }
                }
                if (element.name().equals("numeric")) {
                    for (int k = 0; k < values.length; k++) {
                        values[k] = values[k] == null ? null : checkDecimal(column, element, (BigDecimal) values[k]);
                    }
                }
                return values;
            };
        }
        return switch (type.name()) {
            case "int2" -> (rs, i) -> {
                short v = rs.getShort(i);
                return rs.wasNull() ? null : v;
            };
            case "int4" -> (rs, i) -> {
                int v = rs.getInt(i);
                return rs.wasNull() ? null : v;
            };
            case "int8", "oid" -> (rs, i) -> {
                long v = rs.getLong(i);
                return rs.wasNull() ? null : v;
            };
            case "float4" -> (rs, i) -> {
                float v = rs.getFloat(i);
                return rs.wasNull() ? null : v;
            };
            case "float8" -> (rs, i) -> {
                double v = rs.getDouble(i);
                return rs.wasNull() ? null : v;
            };
            case "bool" -> (rs, i) -> {
                boolean v = rs.getBoolean(i);
                return rs.wasNull() ? null : v;
            };
            case "numeric" -> (rs, i) -> {
                BigDecimal v = rs.getBigDecimal(i);
                return v == null ? null : checkDecimal(column, type, v);
            };
            case "uuid" -> (rs, i) -> rs.getObject(i, UUID.class);
            case "date" -> (rs, i) -> {
                LocalDate v = rs.getObject(i, LocalDate.class);
                if (v != null && (v.isBefore(MIN_DATE) || v.isAfter(MAX_DATE))) {
                    throw outOfRange(column, v.toString(), "Date32 holds 1900-01-01 to 2299-12-31");
                }
                return v;
            };
            case "timestamp" -> (rs, i) -> {
                LocalDateTime v = rs.getObject(i, LocalDateTime.class);
                return v == null ? null : dateTime64(column, v.toEpochSecond(ZoneOffset.UTC) * 1_000_000L + v.getNano() / 1000, v);
            };
            case "timestamptz" -> (rs, i) -> {
                OffsetDateTime v = rs.getObject(i, OffsetDateTime.class);
                return v == null ? null : dateTime64(column, v.toEpochSecond() * 1_000_000L + v.getNano() / 1000, v);
            };
            // bytea travels as PostgreSQL's hex text ('\\x00ff'), exactly what ClickHouse's own postgresql()
            // engine reads; unhex(substring(col, 3)) gives the bytes back
            default -> ResultSet::getString;
        };
    }

    /** Microseconds since the epoch in UTC, how RowBinary carries a DateTime64(6) value, once range-checked. */
    private static Long dateTime64(String column, long micros, Object asRead) {
        if (micros < PgWire.MIN_MICROS || micros > PgWire.MAX_MICROS) {
            throw outOfRange(column, asRead.toString(), "DateTime64 holds 1900-01-01 to 2299-12-31");
        }
        return micros;
    }

    /** The instant a DateTime64(6, 'UTC') value of {@link #dateTime64} stands for. */
    public static Instant instantOfMicros(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000L);
    }

    public static long microsOf(Instant instant) {
        return instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1000;
    }

    static BigDecimal checkDecimal(String column, PgType type, BigDecimal value) {
        int precision = type.precision() == 0 ? MAX_DECIMAL_PRECISION : type.precision();
        int scale = type.precision() == 0 ? 38 : type.scale();
        BigDecimal v = value.scale() > scale ? value.stripTrailingZeros() : value;
        if (v.scale() > scale || v.precision() - v.scale() > precision - scale) {
            throw new SyncException("column " + column + ": value " + value.toPlainString()
                    + " does not fit ClickHouse Decimal(" + precision + ", " + scale
                    + ") exactly; declare the PostgreSQL column as numeric(p,s) with the precision it needs.");
        }
        return v;
    }

    static SyncException outOfRange(String column, String value, String range) {
        return new SyncException("column " + column + ": value " + value + " is outside what ClickHouse can hold ("
                + range + "); the table stops here rather than store a clamped value.");
    }
}
