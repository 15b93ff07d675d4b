package io.pgchloader.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.postgresql.util.ByteConverter;

/** PostgreSQL's binary numeric read as a Decimal's unscaled value: exact, or left to the exact slow path. */
class PgWireTest {

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
    void never_wraps_a_value_just_above_two_to_the_sixty_three() {
        // the values: unscaled forms just above 2^63 - 1, scales that are not a multiple of 4
        for (String value : new String[] {"92233720368547758.10", "-92233720368547758.09"}) {
            assertEquals(PgWire.NOT_A_LONG, PgWire.unscaled(ByteConverter.numeric(new BigDecimal(value)), 20, 2), value);
        }
        for (String value : new String[] {"9.223372036854775808", "-9.22337203685477581", "9.22337203685477581"}) {
            assertEquals(PgWire.NOT_A_LONG, PgWire.unscaled(ByteConverter.numeric(new BigDecimal(value)), 38, 18), value);
        }
    }

    /**
     * Every scale and precision a long can carry, both signs, a few hundred values of the last place
     * around each power of ten and around 2^63: the exact long, or the exact path exactly when the value
     * does not fit the long, the precision or the scale.
     */
    @Test
    void agrees_with_big_decimal_around_every_power_of_ten_and_two_to_the_sixty_three() {
        List<BigInteger> centres = new ArrayList<>();
        for (int k = 0; k <= 40; k++) {
            centres.add(BigInteger.TEN.pow(k));
        }
        centres.add(BigInteger.TWO.pow(63));
        long checked = 0;
        for (int scale = 0; scale <= 38; scale++) {
            for (BigInteger centre : centres) {
                for (int delta = -150; delta <= 150; delta++) {
                    BigInteger unscaled = centre.add(BigInteger.valueOf(delta));
                    for (BigInteger signed : List.of(unscaled, unscaled.negate())) {
                        for (int extraScale = 0; extraScale <= 3; extraScale += 3) {
                            BigDecimal value = new BigDecimal(signed, scale).setScale(scale + extraScale);
                            byte[] raw = ByteConverter.numeric(value);
                            for (int precision : new int[] {Math.max(1, scale), 18, 19, 20, 38, 76}) {
                                if (precision < scale) {
                                    continue;
                                }
                                assertEquals(expected(signed, precision), PgWire.unscaled(raw, precision, scale),
                                        value + " as Decimal(" + precision + ", " + scale + ")");
                                checked++;
                            }
                        }
                    }
                }
            }
        }
        assertTrue(checked > 1_000_000, "checked " + checked);
    }

    /** What unscaled must answer for an exact unscaled value under a precision. */
    private static long expected(BigInteger unscaled, int precision) {
        boolean fitsLong = unscaled.bitLength() < 64 && !unscaled.equals(BigInteger.valueOf(Long.MIN_VALUE));
        boolean fitsPrecision = unscaled.abs().compareTo(BigInteger.TEN.pow(precision)) < 0;
        return fitsLong && fitsPrecision ? unscaled.longValueExact() : PgWire.NOT_A_LONG;
    }

    @Test
    void agrees_with_big_decimal_on_random_values_over_the_whole_range() {
        Random random = new Random(20261201);
        for (int n = 0; n < 300_000; n++) {
            int scale = random.nextInt(39);
            int precision = Math.max(1, scale) + random.nextInt(77 - Math.max(1, scale));
            BigInteger unscaled = new BigInteger(1 + random.nextInt(130), random);
            if (random.nextBoolean()) {
                unscaled = unscaled.negate();
            }
            BigDecimal value = new BigDecimal(unscaled, scale);
            // more fraction digits than the scale: never a long, whatever the digits
            int extra = random.nextInt(4) == 0 ? 1 + random.nextInt(3) : 0;
            BigDecimal sent = extra == 0 ? value.setScale(scale + random.nextInt(3))
                    : new BigDecimal(unscaled.multiply(BigInteger.TEN.pow(extra)).add(BigInteger.ONE), scale + extra);
            long want = extra == 0 ? expected(unscaled, precision) : PgWire.NOT_A_LONG;

            assertEquals(want, PgWire.unscaled(ByteConverter.numeric(sent), precision, scale), sent + " as Decimal("
                    + precision + ", " + scale + ")");
        }
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
}
