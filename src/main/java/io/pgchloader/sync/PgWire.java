package io.pgchloader.sync;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigDecimal;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Set;
import java.util.UUID;
import org.postgresql.util.ByteConverter;

/**
 * Values as PostgreSQL sends them, read without the driver: the binary forms of the fixed-size types and
 * numeric, and the text of everything the loader stores as a String. These are the columns a
 * {@link SourceRow} keeps raw; {@link RowBinary} writes most of them to ClickHouse straight from these
 * bytes, and {@link #value} gives the rest the same Java value (and the same range checks) as
 * {@link ClickHouseTypes#reader}.
 */
final class PgWire {

    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /** Binary forms decoded here (the driver sends these types in binary, see DataSources). */
    private static final Set<String> BINARY = Set.of(
            "int2", "int4", "int8", "float4", "float8", "bool", "numeric", "date", "uuid", "timestamp", "timestamptz");

    // DateTime64 and Date32 cover 1900-01-01 .. 2299-12-31 in ClickHouse; outside, it clamps silently.
    static final long MIN_MICROS = LocalDateTime.of(1900, 1, 1, 0, 0).toEpochSecond(ZoneOffset.UTC) * 1_000_000L;
    static final long MAX_MICROS = LocalDateTime.of(2300, 1, 1, 0, 0).toEpochSecond(ZoneOffset.UTC) * 1_000_000L - 1;
    static final long MIN_DAY = LocalDate.of(1900, 1, 1).toEpochDay();
    static final long MAX_DAY = LocalDate.of(2299, 12, 31).toEpochDay();
    /** 2000-01-01, PostgreSQL's epoch, in microseconds and in days since 1970-01-01. */
    private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;
    private static final int PG_EPOCH_DAYS = 10_957;

    static final long[] POWERS_OF_TEN = new long[19];

    static {
        POWERS_OF_TEN[0] = 1;
        for (int i = 1; i < POWERS_OF_TEN.length; i++) {
            POWERS_OF_TEN[i] = POWERS_OF_TEN[i - 1] * 10;
        }
    }

    /** What {@link #unscaled} answers for a value it leaves to the exact, slower path. */
    static final long NOT_A_LONG = Long.MIN_VALUE;

    private PgWire() {
    }

    /**
     * Whether a result column is kept raw: the binary types above, and any column in text whose text the
     * loader stores as it is (its reader would be {@code getString}). bytea is the exception: the driver's
     * {@code getBytes} would decode its hex text, which the loader stores.
     */
    static boolean decodes(PgType type, boolean binary) {
        if (binary) {
            return BINARY.contains(type.name());
        }
        return ClickHouseTypes.baseType(type).equals("String") && !type.name().equals("bytea");
    }

    static short int2(byte[] raw) {
        return (short) SHORT.get(raw, 0);
    }

    static int int4(byte[] raw) {
        return (int) INT.get(raw, 0);
    }

    static long int8(byte[] raw) {
        return (long) LONG.get(raw, 0);
    }

    /** A binary timestamp or timestamptz in microseconds since 1970-01-01 (UTC, or the wall clock for timestamp). */
    static long micros(byte[] raw) {
        return int8(raw) + PG_EPOCH_MICROS;
    }

    /** {@link #micros}, refused when ClickHouse's DateTime64 cannot hold it (infinity included). */
    static long checkedMicros(String column, byte[] raw) {
        long pg = int8(raw);
        long micros = pg + PG_EPOCH_MICROS;
        if (pg == Long.MAX_VALUE || pg == Long.MIN_VALUE || micros < MIN_MICROS || micros > MAX_MICROS) {
            String shown = pg == Long.MAX_VALUE ? "infinity" : pg == Long.MIN_VALUE ? "-infinity"
                    : LocalDateTime.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
                    (int) Math.floorMod(micros, 1_000_000L) * 1000, ZoneOffset.UTC).toString();
            throw ClickHouseTypes.outOfRange(column, shown, "DateTime64 holds 1900-01-01 to 2299-12-31");
        }
        return micros;
    }

    /** A binary date as days since 1970-01-01, refused when ClickHouse's Date32 cannot hold it. */
    static int checkedEpochDay(String column, byte[] raw) {
        int pg = int4(raw);
        long day = (long) pg + PG_EPOCH_DAYS;
        if (pg == Integer.MAX_VALUE || pg == Integer.MIN_VALUE || day < MIN_DAY || day > MAX_DAY) {
            String shown = pg == Integer.MAX_VALUE ? "infinity" : pg == Integer.MIN_VALUE ? "-infinity"
                    : LocalDate.ofEpochDay(day).toString();
            throw ClickHouseTypes.outOfRange(column, shown, "Date32 holds 1900-01-01 to 2299-12-31");
        }
        return (int) day;
    }

    /**
     * A binary numeric as the unscaled value of a {@code Decimal(precision, scale)}, or {@link #NOT_A_LONG}
     * when that takes more than this (NaN, infinity, a value needing more than a long, more fraction
     * digits than the scale, more digits than the precision): the caller then takes the exact path through
     * {@link #value}, which says what does not fit. Also NOT_A_LONG for the one long value equal to it,
     * which the exact path writes just as well.
     *
     * <p>The form: digit count, weight (the power of 10000 of the first digit), sign, display scale, then
     * base-10000 digits, most significant first.
     */
    static long unscaled(byte[] raw, int precision, int scale) {
        int digits = Short.toUnsignedInt((short) SHORT.get(raw, 0));
        int weight = (short) SHORT.get(raw, 2);
        int sign = Short.toUnsignedInt((short) SHORT.get(raw, 4));
        if (sign != 0x0000 && sign != 0x4000) {
            return NOT_A_LONG;
        }
        long unscaled = 0;
        for (int i = 0; i < digits; i++) {
            int digit = Short.toUnsignedInt((short) SHORT.get(raw, 8 + 2 * i));
            // the power of ten this digit stands for in the unscaled value
            int exponent = 4 * (weight - i) + scale;
            if (digit == 0) {
                continue;
            }
            long part;
            if (exponent >= 0) {
                if (exponent >= POWERS_OF_TEN.length || digit > Long.MAX_VALUE / POWERS_OF_TEN[exponent]) {
                    return NOT_A_LONG;
                }
                part = digit * POWERS_OF_TEN[exponent];
            } else if (exponent > -4 && digit % POWERS_OF_TEN[-exponent] == 0) {
                // a digit split by the decimal point (a scale not a multiple of 4): its integral part
                part = digit / POWERS_OF_TEN[-exponent];
            } else {
                // a fraction digit beyond the scale: not exact
                return NOT_A_LONG;
            }
            // every part, also the last one split by the decimal point, can carry the sum past 2^63 - 1:
            // it would wrap to a value of the other sign, and the precision check below would pass it
            if (part > Long.MAX_VALUE - unscaled) {
                return NOT_A_LONG;
            }
            unscaled += part;
        }
        // from Decimal(19, s) on, every long fits: 2^63 - 1 has 19 digits
        if (precision < POWERS_OF_TEN.length && unscaled >= POWERS_OF_TEN[precision]) {
            return NOT_A_LONG;
        }
        return sign == 0x4000 ? -unscaled : unscaled;
    }

    /**
     * The Java value {@link ClickHouseTypes#reader} would have read for this raw field, checked the same
     * way: for the conversions {@link RowBinary} has no direct path for (a wider target column, a value
     * outside the fast path).
     */
    static Object value(SourceRow.Column column, byte[] raw) {
        if (!column.binary()) {
            return new String(raw, StandardCharsets.UTF_8);
        }
        return switch (column.type().name()) {
            case "int2" -> int2(raw);
            case "int4" -> int4(raw);
            case "int8" -> int8(raw);
            case "float4" -> Float.intBitsToFloat(int4(raw));
            case "float8" -> Double.longBitsToDouble(int8(raw));
            case "bool" -> raw[0] != 0;
            case "numeric" -> {
                Number n = ByteConverter.numeric(raw);
                if (!(n instanceof BigDecimal decimal)) {
                    throw new SyncException("column " + column.name() + ": value " + n + " is not a number ClickHouse's"
                            + " Decimal can hold; the table stops here rather than store something else.");
                }
                yield ClickHouseTypes.checkDecimal(column.name(), column.type(), decimal);
            }
            case "date" -> LocalDate.ofEpochDay(checkedEpochDay(column.name(), raw));
            case "uuid" -> new UUID(int8(raw), uuidLow(raw));
            case "timestamp", "timestamptz" -> checkedMicros(column.name(), raw);
            default -> throw new IllegalStateException("no binary decoding of " + column.type().name());
        };
    }

    /** The second half of a binary uuid (the first is {@link #int8}). */
    static long uuidLow(byte[] raw) {
        return (long) LONG.get(raw, 8);
    }
}
