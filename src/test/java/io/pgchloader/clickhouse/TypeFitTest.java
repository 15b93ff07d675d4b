package io.pgchloader.clickhouse;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** An existing ClickHouse column is accepted only if it holds every value of the source exactly. */
class TypeFitTest {

    @ParameterizedTest(name = "{1} holds {0}")
    @CsvSource(delimiter = '|', value = {
            "Int32 | Int32",
            "Int32 | Int64",
            "Int32 | Nullable(Int64)",
            "Nullable(Int16) | Nullable(Int32)",
            "Decimal(12, 2) | Decimal(18, 4)",
            "Nullable(Decimal(12, 2)) | Nullable(Decimal(12, 2))",
            "DateTime64(6, 'UTC') | DateTime64(6, 'UTC')",
            "DateTime64(6, 'UTC') | DateTime64(9)",
            "Nullable(String) | Nullable(String)",
            "String | LowCardinality(String)",
            "Float32 | Float64",
            "UUID | String",
            "Array(Nullable(Int32)) | Array(Nullable(Int64))",
    })
    void accepts_the_same_or_a_wider_type(String expected, String actual) {
        assertNull(TypeFit.misfit(expected, actual));
    }

    @ParameterizedTest(name = "{1} does not hold {0}")
    @CsvSource(delimiter = '|', value = {
            "Int64 | Int32",
            "Nullable(Int32) | Int32",
            "Decimal(12, 2) | Decimal(12, 1)",
            "Decimal(12, 2) | Decimal(11, 2)",
            "Decimal(12, 2) | Float64",
            "DateTime64(6, 'UTC') | DateTime64(3, 'UTC')",
            "DateTime64(6, 'UTC') | DateTime",
            "Date32 | Date",
            "String | FixedString(10)",
            "Float64 | Float32",
            "Array(Nullable(Int32)) | Array(Int32)",
            "Array(Nullable(Int32)) | String",
            "UUID | Int64",
    })
    void refuses_a_narrower_type(String expected, String actual) {
        assertNotNull(TypeFit.misfit(expected, actual));
    }
}
