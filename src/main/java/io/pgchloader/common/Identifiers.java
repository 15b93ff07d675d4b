package io.pgchloader.common;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Quotes identifiers for both SQL dialects. Every schema, table and column name that reaches SQL goes
 * through here, so names with capitals, spaces, quotes or reserved words work and route parameters can
 * never inject SQL.
 */
public final class Identifiers {

    private Identifiers() {
    }

    /** PostgreSQL: double quotes, embedded double quotes doubled. */
    public static String pg(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    public static String pg(String schema, String table) {
        return pg(schema) + '.' + pg(table);
    }

    /** ClickHouse: back quotes, with backslash escapes for back quotes and backslashes. */
    public static String ch(String name) {
        return '`' + name.replace("\\", "\\\\").replace("`", "\\`") + '`';
    }

    public static String ch(String database, String table) {
        return ch(database) + '.' + ch(table);
    }

    public static String chList(List<String> names) {
        return names.stream().map(Identifiers::ch).collect(Collectors.joining(", "));
    }

    public static String pgList(List<String> names) {
        return names.stream().map(Identifiers::pg).collect(Collectors.joining(", "));
    }

    /** A ClickHouse string literal, for names compared as values (system tables). */
    public static String chString(String value) {
        return '\'' + value.replace("\\", "\\\\").replace("'", "\\'") + '\'';
    }
}
