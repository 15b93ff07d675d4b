package io.pgchloader.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
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
