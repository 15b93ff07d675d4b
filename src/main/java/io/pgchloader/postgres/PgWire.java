package io.pgchloader.postgres;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Set;

/**
 * Values as PostgreSQL sends them, read without the driver: the binary forms of the fixed-size types and
 * numeric. These are the fields a {@link SourceRow} keeps raw; what ClickHouse makes of them, and which
 * values it cannot hold, is the ClickHouse side's business (its {@code PgToClickHouse}).
 */
public final class PgWire {

    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /** Binary forms decoded here (the driver sends these types in binary, see DataSources). */
    public static final Set<String> BINARY = Set.of(
            "int2", "int4", "int8", "float4", "float8", "bool", "numeric", "date", "uuid", "timestamp", "timestamptz");

    /** 2000-01-01, PostgreSQL's epoch, in microseconds and in days since 1970-01-01. */
    public static final long PG_EPOCH_MICROS = 946_684_800_000_000L;
    public static final int PG_EPOCH_DAYS = 10_957;

    static final long[] POWERS_OF_TEN = new long[19];

    static {
        POWERS_OF_TEN[0] = 1;
        for (int i = 1; i < POWERS_OF_TEN.length; i++) {
            POWERS_OF_TEN[i] = POWERS_OF_TEN[i - 1] * 10;
        }
    }

    /** What {@link #unscaled} answers for a value it leaves to the exact, slower path. */
    public static final long NOT_A_LONG = Long.MIN_VALUE;

    private PgWire() {
    }

    public static short int2(byte[] raw) {
        return (short) SHORT.get(raw, 0);
    }

    public static int int4(byte[] raw) {
        return (int) INT.get(raw, 0);
    }

    public static long int8(byte[] raw) {
        return (long) LONG.get(raw, 0);
    }

    /** A binary timestamp or timestamptz in microseconds since 1970-01-01 (UTC, or the wall clock for timestamp). */
    public static long micros(byte[] raw) {
        return int8(raw) + PG_EPOCH_MICROS;
    }

    /**
     * A binary numeric as the unscaled value of a {@code Decimal(precision, scale)}, or {@link #NOT_A_LONG}
     * when that takes more than this (NaN, infinity, a value needing more than a long, more fraction
     * digits than the scale, more digits than the precision): the caller then takes the exact path, which says
     * what does not fit. Also NOT_A_LONG for the one long value equal to it,
     * which the exact path writes just as well.
     *
     * <p>The form: digit count, weight (the power of 10000 of the first digit), sign, display scale, then
     * base-10000 digits, most significant first.
     */
    public static long unscaled(byte[] raw, int precision, int scale) {
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

    /** The second half of a binary uuid (the first is {@link #int8}). */
    public static long uuidLow(byte[] raw) {
        return (long) LONG.get(raw, 8);
    }
}
