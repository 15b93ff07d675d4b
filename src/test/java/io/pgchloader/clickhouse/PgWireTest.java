package io.pgchloader.clickhouse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.PgType;
import io.pgchloader.postgres.PgWire;
import io.pgchloader.postgres.SourceRow;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.postgresql.util.ByteConverter;

/** PostgreSQL's binary numeric read as a Decimal's unscaled value: exact, or left to the exact slow path. */
class PgWireTest {

    private static final BigInteger TWO_TO_THE_63 = BigInteger.ONE.shiftLeft(63);
    private static final BigInteger[] POWERS = new BigInteger[80];

    static {
        for (int k = 0; k < POWERS.length; k++) {
            POWERS[k] = BigInteger.TEN.pow(k);
        }
    }

    @ParameterizedTest(name = "{0} as Decimal({1}, {2})")
    @CsvSource({
            "0, 12, 2",
            "0.01, 12, 2",
            "-0.01, 12, 2",
            "9999999999.99, 12, 2",
            "-9999999999.99, 12, 2",
            "1.5, 18, 4",
            "0.0001, 9, 4",
            "-0.001, 38, 10",
            "123456789012345678, 18, 0",
            "922337203685477580.7, 19, 1",
            "1.50000, 10, 1",
            "10000, 9, 0",
            "-100000000, 9, 0",
    })
    void reads_a_numeric_that_fits_as_its_unscaled_value(String value, int precision, int scale) {
        BigDecimal decimal = new BigDecimal(value);
        long expected = decimal.setScale(scale, RoundingMode.UNNECESSARY).unscaledValue().longValueExact();

        assertEquals(expected, PgWire.unscaled(ByteConverter.numeric(decimal), precision, scale));
    }

    @ParameterizedTest(name = "{0} as Decimal({1}, {2}) goes the exact way")
    @CsvSource({
            // a fraction digit beyond the scale, more digits than the precision, more than a long
            "0.125, 12, 2",
            "0.00001, 18, 4",
            "10000000000.00, 12, 2",
            "1000000000, 9, 0",
            "9223372036854775808, 38, 0",
            "1, 76, 38",
    })
    void leaves_what_does_not_fit_a_long_exactly_to_the_exact_path(String value, int precision, int scale) {
        assertEquals(PgWire.NOT_A_LONG, PgWire.unscaled(ByteConverter.numeric(new BigDecimal(value)), precision, scale));
    }

    @Test
    void agrees_with_big_decimal_on_random_values() {
        Random random = new Random(20261124);
        for (int n = 0; n < 200_000; n++) {
            int scale = random.nextInt(12);
            int precision = scale + 1 + random.nextInt(18 - scale);
            BigInteger unscaled = new BigInteger(random.nextInt(62) + 1, random).multiply(BigInteger.valueOf(random.nextBoolean() ? 1 : -1));
            // PostgreSQL may carry a larger display scale with trailing zeros
            BigDecimal value = new BigDecimal(unscaled, scale).setScale(scale + random.nextInt(3));
            long expected = unscaled.abs().compareTo(BigInteger.TEN.pow(precision)) < 0 ? unscaled.longValueExact() : PgWire.NOT_A_LONG;

            assertEquals(expected, PgWire.unscaled(ByteConverter.numeric(value), precision, scale), value + " as Decimal("
                    + precision + ", " + scale + ")");
        }
    }

    @ParameterizedTest(name = "{0} as Decimal({1}, {2})")
    @CsvSource({
            // the values: unscaled just above 2^63 - 1, the last base-10000 digit partly fraction
            "92233720368547758.10, 20, 2",
            "-92233720368547758.09, 20, 2",
            "-9.22337203685477581, 38, 18",
            "922337203685477580.8, 19, 1",
            "9223372036854775.808, 38, 3",
            "-9223372036854775.809, 38, 3",
    })
    void never_wraps_a_value_just_above_two_to_the_sixty_three(String value, int precision, int scale) {
        BigDecimal decimal = new BigDecimal(value);

        assertEquals(PgWire.NOT_A_LONG, PgWire.unscaled(wire(decimal), precision, scale));
        assertArrayEquals(littleEndian(decimal.setScale(scale).unscaledValue(), 16),
                written(decimal, new PgType("numeric", precision, scale), "Decimal(" + precision + ", " + scale + ")"));
    }

    @Test
    void reads_the_largest_long_in_every_scale_exactly() {
        for (int scale = 0; scale <= 18; scale++) {
            BigDecimal largest = new BigDecimal(BigInteger.valueOf(Long.MAX_VALUE), scale);
            assertEquals(Long.MAX_VALUE, PgWire.unscaled(wire(largest), 19, scale), largest.toPlainString());
            assertEquals(-Long.MAX_VALUE, PgWire.unscaled(wire(largest.negate()), 19, scale), largest.negate().toPlainString());
        }
    }

    @Test
    void leaves_nan_and_the_infinities_to_the_exact_path_which_refuses_them() {
        SourceRow.Column column = rawColumn("amount", new PgType("numeric", 0, 0));
        for (int sign : new int[] {0xC000, 0xD000, 0xF000}) {
            byte[] special = ByteBuffer.allocate(8).putShort((short) 0).putShort((short) 0).putShort((short) sign)
                    .putShort((short) 0).array();

            assertEquals(PgWire.NOT_A_LONG, PgWire.unscaled(special, 76, 38));
            assertThrows(SyncException.class, () -> PgToClickHouse.value(column, special));
        }
    }

    @Test
    void reads_minus_zero_as_zero() {
        // PostgreSQL itself never sends it (a zero result is positive), but the form is valid
        byte[] minusZero = ByteBuffer.allocate(8).putShort((short) 0).putShort((short) 0).putShort((short) 0x4000)
                .putShort((short) 2).array();

        assertEquals(0, PgWire.unscaled(minusZero, 10, 2));
    }

    /**
     * Where a long, a precision or a scale ends, the decoder has nothing to round to: every value a few
     * hundred units of the last place around each power of ten and around 2^63, in every scale a long can
     * carry, must come back exact or be left to the exact path.
     */
    @Test
    void agrees_with_big_decimal_around_every_power_of_ten_and_two_to_the_sixty_three() {
        List<BigInteger> boundaries = new ArrayList<>(Arrays.asList(POWERS).subList(0, 40));
        boundaries.add(TWO_TO_THE_63);
        List<String> wrong = new ArrayList<>();
        for (BigInteger boundary : boundaries) {
            for (int offset = -256; offset <= 256; offset++) {
                BigInteger magnitude = boundary.add(BigInteger.valueOf(offset));
                if (magnitude.signum() < 0) {
                    continue;
                }
                for (int scale = 0; scale <= 18; scale++) {
                    for (BigInteger unscaled : List.of(magnitude, magnitude.negate())) {
                        BigDecimal value = new BigDecimal(unscaled, scale);
                        // PostgreSQL's display scale may exceed the column's, the extra digits all zero
                        byte[] raw = wire(value, scale + Math.floorMod(offset, 3));
                        for (int precision = Math.max(1, scale); precision <= 38; precision++) {
                            long expected = expected(value, precision, scale);
                            long actual = PgWire.unscaled(raw, precision, scale);
                            if (actual != expected && wrong.size() < 20) {
                                wrong.add(value.toPlainString() + " as Decimal(" + precision + ", " + scale + "): "
                                        + actual + " instead of " + expected);
                            }
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), wrong);
    }

    /**
     * The whole range: unscaled values of up to 42 digits in scales up to 40, read as any Decimal up to
     * Decimal(76, 38), with display scales above the value's own.
     */
    @Test
    void agrees_with_big_decimal_on_random_values_of_the_whole_range() {
        Random random = new Random(20261201);
        for (int n = 0; n < 200_000; n++) {
            int digits = 1 + random.nextInt(42);
            BigInteger magnitude = new BigInteger(digits * 4, random).mod(POWERS[digits]);
            BigInteger unscaled = random.nextBoolean() ? magnitude : magnitude.negate();
            int valueScale = random.nextInt(41);
            BigDecimal value = new BigDecimal(unscaled, valueScale);
            int scale = Math.min(38, Math.max(0, valueScale + random.nextInt(5) - 2));
            int precision = random.nextInt(8) == 0 ? 76 : Math.max(1, scale) + random.nextInt(39 - Math.max(1, scale));
            byte[] raw = wire(value, valueScale + random.nextInt(5));

            assertEquals(expected(value, precision, scale), PgWire.unscaled(raw, precision, scale),
                    value.toPlainString() + " as Decimal(" + precision + ", " + scale + ")");
        }
    }

    /**
     * What RowBinary writes for a numeric column, through the fast path or the exact one, is the value's
     * unscaled form in the Decimal's width, also into a wider Decimal than the loader would create; a
     * value the source type cannot hold stops the table instead.
     */
    @Test
    void writes_every_decimal_width_exactly_as_big_decimal_says() {
        Random random = new Random(20261202);
        for (int n = 0; n < 40_000; n++) {
            boolean unconstrained = random.nextInt(8) == 0;
            int precision = unconstrained ? 76 : 1 + random.nextInt(76);
            int scale = unconstrained ? 38 : random.nextInt(Math.min(precision, 38) + 1);
            PgType source = unconstrained ? new PgType("numeric", 0, 0) : new PgType("numeric", precision, scale);
            // a wider target a user may choose (TypeFit accepts it), where ClickHouse has one
            int targetScale = Math.min(38, scale + random.nextInt(3));
            int targetPrecision = targetScale + (precision - scale) + random.nextInt(3);
            if (targetPrecision > 76) {
                targetScale = scale;
                targetPrecision = precision;
            }
            int digits = 1 + random.nextInt(precision);
            BigInteger magnitude = new BigInteger(digits * 4, random).mod(POWERS[digits]);
            BigDecimal value = new BigDecimal(random.nextBoolean() ? magnitude : magnitude.negate(), scale);
            // an unconstrained column's display scale follows the value, beyond the Decimal's scale
            BigDecimal shown = unconstrained ? value.setScale(scale + random.nextInt(3)) : value;
            int width = targetPrecision <= 9 ? 4 : targetPrecision <= 18 ? 8 : targetPrecision <= 38 ? 16 : 32;

            assertArrayEquals(littleEndian(value.setScale(targetScale).unscaledValue(), width),
                    written(shown, source, "Decimal(" + targetPrecision + ", " + targetScale + ")"),
                    value.toPlainString() + " into Decimal(" + targetPrecision + ", " + targetScale + ")");
        }
        PgType money = new PgType("numeric", 20, 2);
        assertThrows(SyncException.class, () -> written(new BigDecimal("0.125"), money, "Decimal(20, 2)"));
        assertThrows(SyncException.class, () -> written(new BigDecimal("1E+18"), money, "Decimal(20, 2)"));
    }

    /** The bytes RowBinary writes for a raw numeric of the source type into a column of the target type. */
    private static byte[] written(BigDecimal value, PgType source, String target) {
        RowBinary.Buffer out = new RowBinary.Buffer();
        RowBinary.encoder(target, rawColumn("amount", source)).write(out, wire(value));
        return Arrays.copyOf(out.bytes(), out.size());
    }

    /** The unscaled value of Decimal(precision, scale), or NOT_A_LONG where it or a long cannot hold the value. */
    private static long expected(BigDecimal value, int precision, int scale) {
        if (value.stripTrailingZeros().scale() > scale) {
            return PgWire.NOT_A_LONG;
        }
        BigInteger unscaled = value.setScale(scale, RoundingMode.UNNECESSARY).unscaledValue();
        if (unscaled.abs().compareTo(POWERS[precision]) >= 0 || unscaled.bitLength() > 63) {
            return PgWire.NOT_A_LONG;
        }
        return unscaled.longValueExact();
    }

    private static byte[] littleEndian(BigInteger value, int width) {
        byte[] bytes = new byte[width];
        for (int i = 0; i < width; i++) {
            bytes[i] = value.shiftRight(8 * i).byteValue();
        }
        return bytes;
    }

    private static byte[] wire(BigDecimal value) {
        return wire(value, Math.max(0, value.scale()));
    }

    /**
     * PostgreSQL's binary numeric as numeric_send writes it, built here independently of the driver: base-10000
     * digits aligned on the decimal point, zero digits at either end left out, zero with weight 0 and a
     * positive sign.
     */
    private static byte[] wire(BigDecimal value, int displayScale) {
        // whole base-10000 fraction digits: scale the unscaled value up to a multiple of 4 fraction digits
        int fractionDigits = Math.max(0, Math.floorDiv(value.scale() + 3, 4));
        BigInteger aligned = value.unscaledValue().abs().multiply(BigInteger.TEN.pow(4 * fractionDigits - value.scale()));
        List<Integer> groups = new ArrayList<>();
        for (BigInteger rest = aligned; rest.signum() > 0; rest = rest.divide(BigInteger.valueOf(10_000))) {
            groups.add(0, rest.mod(BigInteger.valueOf(10_000)).intValue());
        }
        int weight = groups.size() - 1 - fractionDigits;
        while (!groups.isEmpty() && groups.get(groups.size() - 1) == 0) {
            groups.remove(groups.size() - 1);
        }
        if (groups.isEmpty()) {
            weight = 0;
        }
        ByteBuffer raw = ByteBuffer.allocate(8 + 2 * groups.size())
                .putShort((short) groups.size())
                .putShort((short) weight)
                .putShort((short) (value.signum() < 0 ? 0x4000 : 0))
                .putShort((short) displayScale);
        for (int group : groups) {
            raw.putShort((short) group);
        }
        return raw.array();
    }

    private static SourceRow.Column rawColumn(String name, PgType type) {
        return new SourceRow.Column(name, type, true, PgToClickHouse.keptRaw(type, true));
    }
}
