package io.pgchloader.cdc;

import io.pgchloader.common.SyncException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * PostgreSQL's text form of an array ({@code {1,NULL,"with, comma"}}), as pgoutput sends it, parsed into
 * the elements pgjdbc's {@code Array.getArray()} gives the watermark mode for the same column: Integer,
 * String, BigDecimal, Boolean, UUID … with null for NULL, and a nested array for each inner brace, which the
 * watermark mode's reader then refuses as multi-dimensional, as it does there.
 */
final class TextArray {

    private final String column;
    private final String element;
    private final String text;
    private int at;

    private TextArray(String column, String element, String text) {
        this.column = column;
        this.element = element;
        this.text = text;
    }

    /** The elements of {@code text}, an array of {@code element} (its catalog name, e.g. {@code int4}). */
    static Object[] parse(String column, String element, String text) {
        TextArray parser = new TextArray(column, element, text);
        // explicit bounds ("[0:1]={1,2}") describe where the elements sit, not what they are
        if (text.startsWith("[")) {
            parser.at = text.indexOf('=') + 1;
        }
        Object[] values = parser.array();
        if (parser.at != text.length()) {
            throw parser.malformed();
        }
        return values;
    }

    private Object[] array() {
        expect('{');
        List<Object> values = new ArrayList<>();
        if (peek() == '}') {
            at++;
            return values.toArray();
        }
        while (true) {
            values.add(peek() == '{' ? array() : peek() == '"' ? value(quoted()) : unquoted());
            char c = next();
            if (c == '}') {
                return values.toArray();
            }
            if (c != ',') {
                throw malformed();
            }
        }
    }

    private String quoted() {
        expect('"');
        StringBuilder out = new StringBuilder();
        while (true) {
            char c = next();
            if (c == '"') {
                return out.toString();
            }
            out.append(c == '\\' ? next() : c);
        }
    }

    private Object unquoted() {
        int start = at;
        while (peek() != ',' && peek() != '}') {
            at++;
        }
        String token = text.substring(start, at).strip();
        return token.equalsIgnoreCase("NULL") ? null : value(token);
    }

    private Object value(String token) {
        try {
            return switch (element) {
                case "int2" -> Short.valueOf(token);
                case "int4" -> Integer.valueOf(token);
                case "int8" -> Long.valueOf(token);
                case "float4" -> Float.valueOf(token);
                case "float8" -> Double.valueOf(token);
                case "bool" -> token.equals("t");
                case "uuid" -> UUID.fromString(token);
                case "numeric" -> {
                    if (token.equals("NaN") || token.endsWith("Infinity")) {
                        throw new SyncException("column " + column + ": element " + token + " is not a number ClickHouse's"
                                + " Decimal can hold; the table stops here rather than store something else.");
                    }
                    yield new BigDecimal(token);
                }
                default -> token;
            };
        } catch (IllegalArgumentException e) {
            throw new SyncException("column " + column + ": element " + token + " of " + text + " cannot be stored exactly"
                    + " in ClickHouse; the table stops here rather than store something else", e);
        }
    }

    private char peek() {
        if (at >= text.length()) {
            throw malformed();
        }
        return text.charAt(at);
    }

    private char next() {
        char c = peek();
        at++;
        return c;
    }

    private void expect(char c) {
        if (next() != c) {
            throw malformed();
        }
    }

    private SyncException malformed() {
        return new SyncException("column " + column + ": " + text + " is not an array in PostgreSQL's text form");
    }
}
