package io.pgchloader.verify;

import io.pgchloader.clickhouse.KeyTexts;
import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.common.Identifiers;
import io.pgchloader.postgres.PgColumn;
import java.util.ArrayList;
import java.util.List;

/**
 * The canonical text of a row's key and version, rendered identically by PostgreSQL and ClickHouse, so
 * both can hash it in SQL and the sums match. Key columns are joined by the unit separator (0x1F); the
 * version is {@code coalesce(updated, created)} in microseconds since 1970 (the wall-clock value for
 * {@code timestamp} columns, as ClickHouse stores it).
 *
 * <p>Per PostgreSQL type: integers, {@code bool}, {@code uuid} and the text types render alike on both
 * sides ({@code char(n)} with its padding, as the loader copies it); {@code numeric} without trailing
 * zeros; dates and timestamps in ISO form with microseconds, {@code timestamptz} in UTC; types the loader
 * stores as their PostgreSQL text (json, interval, inet, enums, …) as that text. Floating-point keys
 * and array keys are refused: their text forms differ between the two databases.
 */
final class KeyText {

    /** The hash of a text: the first 15 hex digits of its MD5 as a non-negative 60-bit number, in both dialects. */
    static String pgHash(String text) {
        return "('x' || substr(md5(" + text + "), 1, 15))::bit(60)::bigint";
    }

    static String chHash(String text) {
        return "bitShiftRight(halfMD5(" + text + "), 4)";
    }

    private KeyText() {
    }

    static void check(PgColumn column) {
        String type = column.type().name();
        if (column.type().isArray() || type.equals("float4") || type.equals("float8")) {
            throw new VerifyException("key column " + column.name() + " is of type " + type
                    + ", whose text differs between PostgreSQL and ClickHouse: --verify supports integer, numeric, text,"
                    + " uuid, date and timestamp keys.");
        }
    }

    static String pg(List<PgColumn> key) {
        return KeyTexts.pg(key);
    }

    static String ch(List<PgColumn> key) {
        return KeyTexts.ch(key);
    }

    /** Version in microseconds, PostgreSQL: per column, since created and updated may differ in type. */
    static String pgVersion(String created, String updated) {
        return "CASE WHEN " + Identifiers.pg(updated) + " IS NULL THEN " + pgMicros(created) + " ELSE " + pgMicros(updated) + " END";
    }

    private static String pgMicros(String column) {
        return "(extract(epoch FROM " + Identifiers.pg(column) + ") * 1000000)::bigint";
    }

    static String chVersion(String created, String updated) {
        return "coalesce(" + Identifiers.ch(updated) + ", " + Identifiers.ch(created) + ")";
    }

    static String chVersionMicros(String created, String updated) {
        return "toUnixTimestamp64Micro(" + chVersion(created, updated) + ")";
    }

    /**
     * A column's value as text both dialects render alike, NULL apart ({@code n}, every value else {@code v}
     * and its text), or null when they cannot render it alike: floating-point numbers (their shortest
     * text differs) and ClickHouse arrays. {@code chType} is the target column's type.
     */
    static String[] value(PgColumn column, String chType) {
        String type = column.type().name();
        if (type.equals("float4") || type.equals("float8") || chType.contains("Array(")) {
            return null;
        }
        String c = Identifiers.pg(column.name());
        String pg = switch (type) {
            case "int2", "int4", "int8", "oid", "numeric", "uuid", "date", "timestamp", "timestamptz", "bpchar" -> KeyTexts.pg(column);
            // booleans and everything the loader stores as PostgreSQL's own text render as that text
            default -> c + "::text";
        };
        String ch = chType.replace("Nullable(", "").startsWith("String") ? Identifiers.ch(column.name()) : KeyTexts.ch(column);
        return new String[] {"CASE WHEN " + c + " IS NULL THEN 'n' ELSE 'v' || " + pg + " END",
                "ifNull(concat('v', " + ch + "), 'n')"};
    }

    /**
     * What a row's hash covers besides key and version: every other column both tables have, as the text
     * {@link #value} gives on each side ({@code pg} appended to PostgreSQL's text, {@code ch} to a ClickHouse
     * {@code concat}), and the columns that cannot be rendered alike, for the summary line.
     */
    record ValueTexts(String pg, String ch, List<String> skipped) {

        static ValueTexts of(List<PgColumn> columns, List<PgColumn> key, TargetTable target) {
            StringBuilder pg = new StringBuilder();
            StringBuilder ch = new StringBuilder();
            List<String> skipped = new ArrayList<>();
            for (PgColumn column : columns) {
                String chType = target.columnType(column.name());
                if (chType == null || key.contains(column)) {
                    continue;
                }
                String[] text = value(column, chType);
                if (text == null) {
                    skipped.add(column.name() + " (" + column.type().name() + ")");
                    continue;
                }
                pg.append(" || chr(30) || ").append(text[0]);
                ch.append(", '\\x1E', ").append(text[1]);
            }
            return new ValueTexts(pg.toString(), ch.toString(), List.copyOf(skipped));
        }
    }
}
