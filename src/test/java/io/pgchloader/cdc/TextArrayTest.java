package io.pgchloader.cdc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.common.SyncException;
import java.math.BigDecimal;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class TextArrayTest {

    @Test
    void reads_quoted_elements_with_escapes_and_tells_null_from_the_word_null() {
        assertArrayEquals(new Object[] {"x", null, "", "with, comma", "NULL", "a \"quote\" and \\ backslash", "{braces}"},
                TextArray.parse("c", "text", "{x,NULL,\"\",\"with, comma\",\"NULL\",\"a \\\"quote\\\" and \\\\ backslash\",\"{braces}\"}"));
    }

    @Test
    void gives_each_element_the_java_type_the_watermark_readers_take() {
        assertArrayEquals(new Object[] {1, null, -3}, TextArray.parse("c", "int4", "{1,NULL,-3}"));
        assertArrayEquals(new Object[] {(short) 7}, TextArray.parse("c", "int2", "{7}"));
        assertArrayEquals(new Object[] {-9223372036854775808L}, TextArray.parse("c", "int8", "{-9223372036854775808}"));
        assertArrayEquals(new Object[] {new BigDecimal("1.50"), null}, TextArray.parse("c", "numeric", "{1.50,NULL}"));
        assertArrayEquals(new Object[] {true, false, null}, TextArray.parse("c", "bool", "{t,f,NULL}"));
        assertArrayEquals(new Object[] {Double.NaN, Double.NEGATIVE_INFINITY}, TextArray.parse("c", "float8", "{NaN,-Infinity}"));
        assertArrayEquals(new Object[] {UUID.fromString("00000000-0000-0000-0000-000000000001")},
                TextArray.parse("c", "uuid", "{00000000-0000-0000-0000-000000000001}"));
        assertArrayEquals(new Object[] {}, TextArray.parse("c", "int4", "{}"));
        assertArrayEquals(new Object[] {1, 2}, TextArray.parse("c", "int4", "[0:1]={1,2}"), "explicit bounds");
    }

    @Test
    void nests_inner_braces_so_the_reader_can_refuse_a_multi_dimensional_array() {
        Object[] values = TextArray.parse("c", "int4", "{{1,2},{3,4}}");
        assertTrue(values[0] instanceof Object[], "a nested array, which the reader refuses as in the watermark mode");
    }

    @Test
    void refuses_what_it_cannot_store_exactly_naming_the_column() {
        SyncException nan = assertThrows(SyncException.class, () -> TextArray.parse("prices", "numeric", "{1,NaN}"));
        assertTrue(nan.getMessage().startsWith("column prices: element NaN"), nan.getMessage());
        assertThrows(SyncException.class, () -> TextArray.parse("n", "int2", "{40000}"));
        assertThrows(SyncException.class, () -> TextArray.parse("n", "int4", "{1,2"));
    }
}
