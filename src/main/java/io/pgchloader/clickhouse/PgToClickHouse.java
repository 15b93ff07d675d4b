package io.pgchloader.clickhouse;

import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.ColumnReader;
import io.pgchloader.postgres.PgColumn;
import io.pgchloader.postgres.PgType;
import io.pgchloader.postgres.PgWire;
import io.pgchloader.postgres.SourceRow;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Set;
import java.util.UUID;
import org.postgresql.util.ByteConverter;

/**
 * Where a PostgreSQL value becomes a ClickHouse one: the column type a target table gets, how a value is
 * read from PostgreSQL so that it is written exactly, which fields stay as PostgreSQL's wire bytes for
 * {@link RowBinary} to translate directly, and every range and precision check on the way. This is the one
 * place that knows both type systems; {@link RowBinary} uses it for the values it cannot copy byte for byte.
 *
 * <p>Values are read into the Java types {@link RowBinary} encodes: timestamps as microseconds since the
 * epoch in UTC (a {@code Long}), so no Java date type, JVM time zone or driver conversion ever touches
 * them. {@code timestamp} (without time zone) is read as its wall-clock value and stored as that value
 * in UTC, so ClickHouse shows what PostgreSQL shows.
 * Values ClickHouse cannot hold (dates outside its range, numbers that do not fit the decimal) stop the
 * table with a message instead of being clamped or rounded.
 */
public final class PgToClickHouse {

    // DateTime64 and Date32 cover 1900-01-01 .. 2299-12-31 in ClickHouse; outside, it clamps silently.
    public static final long MIN_MICROS = LocalDateTime.of(1900, 1, 1, 0, 0).toEpochSecond(ZoneOffset.UTC) * 1_000_000L;
    public static final long MAX_MICROS = LocalDateTime.of(2300, 1, 1, 0, 0).toEpochSecond(ZoneOffset.UTC) * 1_000_000L - 1;
    public static final long MIN_DAY = LocalDate.of(1900, 1, 1).toEpochDay();
    public static final long MAX_DAY = LocalDate.of(2299, 12, 31).toEpochDay();

    private static final LocalDate MIN_DATE = LocalDate.ofEpochDay(MIN_DAY);
    private static final LocalDate MAX_DATE = LocalDate.ofEpochDay(MAX_DAY);
    private static final int MAX_DECIMAL_PRECISION = 76;

    /** Element types whose arrays map to ClickHouse arrays; other arrays travel as PostgreSQL text. */
    private static final Set<String> ARRAY_ELEMENTS = Set.of(
            "int2", "int4", "int8", "float4", "float8", "bool", "text", "varchar", "bpchar", "name", "uuid", "numeric");

    private PgToClickHouse() {
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
     * {@link SourceRow} does not keep raw (see {@link #keptRaw}).
     */
    public static ColumnReader reader(String column, PgType type) {
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

    /**
     * Whether a result column is kept raw: the binary types PgWire decodes, and any column in text whose text the
     * loader stores as it is (its reader would be {@code getString}). bytea is the exception: the driver's
     * {@code getBytes} would decode its hex text, which the loader stores.
     */
    /** The reader of a result column for {@code SourceRowMapperFactory}: none where the field stays raw. */
    public static ColumnReader readerFor(String column, PgType type, boolean binary) {
        return keptRaw(type, binary) ? null : reader(column, type);
    }

    public static boolean keptRaw(PgType type, boolean binary) {
        if (binary) {
            return PgWire.BINARY.contains(type.name());
        }
        return baseType(type).equals("String") && !type.name().equals("bytea");
    }

    /** PgWire.micros, refused when ClickHouse's DateTime64 cannot hold it (infinity included). */
    public static long checkedMicros(String column, byte[] raw) {
        long pg = PgWire.int8(raw);
        long micros = pg + PgWire.PG_EPOCH_MICROS;
        if (pg == Long.MAX_VALUE || pg == Long.MIN_VALUE || micros < MIN_MICROS || micros > MAX_MICROS) {
            String shown = pg == Long.MAX_VALUE ? "infinity" : pg == Long.MIN_VALUE ? "-infinity"
                    : LocalDateTime.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
                    (int) Math.floorMod(micros, 1_000_000L) * 1000, ZoneOffset.UTC).toString();
            throw outOfRange(column, shown, "DateTime64 holds 1900-01-01 to 2299-12-31");
        }
        return micros;
    }

    /** A binary date as days since 1970-01-01, refused when ClickHouse's Date32 cannot hold it. */
    public static int checkedEpochDay(String column, byte[] raw) {
        int pg = PgWire.int4(raw);
        long day = (long) pg + PgWire.PG_EPOCH_DAYS;
        if (pg == Integer.MAX_VALUE || pg == Integer.MIN_VALUE || day < MIN_DAY || day > MAX_DAY) {
            String shown = pg == Integer.MAX_VALUE ? "infinity" : pg == Integer.MIN_VALUE ? "-infinity"
                    : LocalDate.ofEpochDay(day).toString();
            throw outOfRange(column, shown, "Date32 holds 1900-01-01 to 2299-12-31");
        }
        return (int) day;
    }

    /**
     * The Java value {@link #reader} would have read for this raw field, checked the same
     * way: for the conversions {@link RowBinary} has no direct path for (a wider target column, a value
     * outside the fast path).
     */
    public static Object value(SourceRow.Column column, byte[] raw) {
        if (!column.binary()) {
            return new String(raw, StandardCharsets.UTF_8);
        }
        return switch (column.type().name()) {
            case "int2" -> PgWire.int2(raw);
            case "int4" -> PgWire.int4(raw);
            case "int8" -> PgWire.int8(raw);
            case "float4" -> Float.intBitsToFloat(PgWire.int4(raw));
            case "float8" -> Double.longBitsToDouble(PgWire.int8(raw));
            case "bool" -> raw[0] != 0;
            case "numeric" -> {
                Number n = ByteConverter.numeric(raw);
                if (!(n instanceof BigDecimal decimal)) {
                    throw new SyncException("column " + column.name() + ": value " + n + " is not a number ClickHouse's"
                            + " Decimal can hold; the table stops here rather than store something else.");
                }
                yield checkDecimal(column.name(), column.type(), decimal);
            }
            case "date" -> LocalDate.ofEpochDay(checkedEpochDay(column.name(), raw));
            case "uuid" -> new UUID(PgWire.int8(raw), PgWire.uuidLow(raw));
            case "timestamp", "timestamptz" -> checkedMicros(column.name(), raw);
            default -> throw new IllegalStateException("no binary decoding of " + column.type().name());
        };
    }

    /** Microseconds since the epoch in UTC, how RowBinary carries a DateTime64(6) value, once range-checked. */
    private static Long dateTime64(String column, long micros, Object asRead) {
        if (micros < MIN_MICROS || micros > MAX_MICROS) {
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

    public static BigDecimal checkDecimal(String column, PgType type, BigDecimal value) {
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

    public static SyncException outOfRange(String column, String value, String range) {
        return new SyncException("column " + column + ": value " + value + " is outside what ClickHouse can hold ("
                + range + "); the table stops here rather than store a clamped value.");
    }
}
