package io.pgchloader.clickhouse;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether an existing ClickHouse column can hold every value of a PostgreSQL column exactly: the type
 * the loader would have created, or a wider one. Anything narrower (fewer digits, fewer fractional
 * seconds, no NULL, a Date that stops at 1970) would clamp, round or replace values silently, so the
 * table is refused instead.
 */
public final class TypeFit {

    private static final List<String> INTS = List.of("Int8", "Int16", "Int32", "Int64", "Int128", "Int256");
    private static final Pattern DECIMAL = Pattern.compile("Decimal\\((\\d+), ?(\\d+)\\)");
    private static final Pattern DATETIME64 = Pattern.compile("DateTime64\\((\\d+)(, ?'[^']*')?\\)");

    private TypeFit() {
    }

    /** Null when {@code actual} holds every value of {@code expected}; otherwise why not. */
    static String misfit(String expected, String actual) {
        String want = expected.replace(" ", "");
        String have = unwrap(actual.replace(" ", ""), "LowCardinality");
        boolean wantNullable = want.startsWith("Nullable(");
        boolean haveNullable = have.startsWith("Nullable(");
        if (wantNullable && !haveNullable) {
            return "it cannot hold NULL, which the PostgreSQL column allows";
        }
        return baseMisfit(unwrap(want, "Nullable"), unwrap(have, "Nullable"));
    }

    private static String baseMisfit(String want, String have) {
        if (want.equals(have)) {
            return null;
        }
        if (want.startsWith("Array(")) {
            if (!have.startsWith("Array(")) {
                return "it is not an array";
            }
            String element = misfit(inner(want), inner(have));
            return element == null ? null : "its elements do not fit: " + element;
        }
        if (INTS.contains(want)) {
            return INTS.contains(have) && INTS.indexOf(have) >= INTS.indexOf(want) ? null : "it is narrower than " + want;
        }
        if (want.equals("UInt32")) {
            return have.equals("Int64") || have.equals("UInt64") ? null : "it is narrower than UInt32";
        }
        if (want.equals("Float32")) {
            return have.equals("Float64") ? null : "it is not a Float32 or Float64";
        }
        Matcher wantDecimal = DECIMAL.matcher(want);
        if (wantDecimal.matches()) {
            Matcher haveDecimal = DECIMAL.matcher(have);
            if (!haveDecimal.matches()) {
                return "it is not a Decimal";
            }
            int p = Integer.parseInt(wantDecimal.group(1));
            int s = Integer.parseInt(wantDecimal.group(2));
            int hp = Integer.parseInt(haveDecimal.group(1));
            int hs = Integer.parseInt(haveDecimal.group(2));
            return hs >= s && hp - hs >= p - s ? null : "it has fewer integer or fractional digits than " + want;
        }
        if (want.startsWith("DateTime64(")) {
            Matcher haveTime = DATETIME64.matcher(have);
            return haveTime.matches() && Integer.parseInt(haveTime.group(1)) >= 6 ? null
                    : "it does not keep microseconds (DateTime64(6) or finer is needed)";
        }
        if (want.equals("UUID") || want.equals("Bool")) {
            return have.equals("String") ? null : "it is not " + want + " or String";
        }
        return "it is not " + want;
    }

    private static String unwrap(String type, String wrapper) {
        return type.startsWith(wrapper + "(") ? inner(type) : type;
    }

    private static String inner(String type) {
        return type.substring(type.indexOf('(') + 1, type.length() - 1);
    }
}
