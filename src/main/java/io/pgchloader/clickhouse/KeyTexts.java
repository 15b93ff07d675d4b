package io.pgchloader.clickhouse;

import io.pgchloader.common.Identifiers;
import io.pgchloader.postgres.PgColumn;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A key as the same text on both sides, so keys can be compared, ordered and listed across the pipe:
 * PostgreSQL's text of a key column written as ClickHouse's {@code toString} renders the column the loader
 * made of it. Composite keys join their columns with the unit separator (chr 31).
 */
public final class KeyTexts {

    private KeyTexts() {
    }

    /** The text of one key column in PostgreSQL. */
    public static String pg(PgColumn column) {
        String c = Identifiers.pg(column.name());
        return switch (column.type().name()) {
            // text() of char(n) drops the padding the loader keeps; concat uses the output function
            case "bpchar" -> "concat(" + c + ")";
            case "numeric" -> "trim_scale(" + c + ")::text";
            case "date" -> "to_char(" + c + ", 'YYYY-MM-DD')";
            case "timestamp" -> "to_char(" + c + ", 'YYYY-MM-DD HH24:MI:SS.US')";
            case "timestamptz" -> "to_char(" + c + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')";
            default -> c + "::text";
        };
    }

    /** The text of one key column in ClickHouse. */
    public static String ch(PgColumn column) {
        // DateTime64(6) renders with six decimals, Decimal without trailing zeros (the query pins that setting)
        return "toString(" + Identifiers.ch(column.name()) + ")";
    }

    /** The whole key's text in PostgreSQL. */
    public static String pg(List<PgColumn> key) {
        return key.stream().map(KeyTexts::pg).collect(Collectors.joining(" || chr(31) || "));
    }

    /** The whole key's text in ClickHouse. */
    public static String ch(List<PgColumn> key) {
        return key.size() == 1 ? ch(key.get(0))
                : "concat(" + key.stream().map(KeyTexts::ch).collect(Collectors.joining(", '\\x1F', ")) + ")";
    }

    /** A PostgreSQL escape string literal: means the same whatever standard_conforming_strings says. */
    public static String pgLiteral(String text) {
        return "E'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
