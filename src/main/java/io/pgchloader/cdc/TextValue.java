package io.pgchloader.cdc;

import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.PgType;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLFeatureNotSupportedException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.UUID;

/**
 * One text value of a pgoutput tuple, seen as a one-column {@link ResultSet}, so that the readers of the
 * watermark mode ({@code PgToClickHouse.reader}) turn it into the value the sink takes, with the same range
 * and precision checks: one translation, not a second one. The replication session is pinned to ISO dates,
 * UTC and hex bytea, so the text forms are the ones parsed here.
 */
final class TextValue {

    private static final DateTimeFormatter TIMESTAMP = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .toFormatter();
    private static final DateTimeFormatter TIMESTAMPTZ = new DateTimeFormatterBuilder()
            .append(TIMESTAMP)
            .appendOffset("+HH:mm:ss", "+00")
            .toFormatter();

    private TextValue() {
    }

    /** A result set positioned on a row whose column 1, of {@code type}, holds {@code text} (null for NULL). */
    static ResultSet of(String column, PgType type, String text) {
        boolean[] wasNull = {false};
        return (ResultSet) Proxy.newProxyInstance(TextValue.class.getClassLoader(), new Class<?>[] {ResultSet.class},
                (proxy, method, args) -> {
                    String name = method.getName();
                    if (name.equals("wasNull")) {
                        return wasNull[0];
                    }
                    wasNull[0] = text == null;
                    try {
                        return switch (name) {
                            case "getString" -> text;
                            case "getShort" -> text == null ? (short) 0 : Short.parseShort(text);
                            case "getInt" -> text == null ? 0 : Integer.parseInt(text);
                            case "getLong" -> text == null ? 0L : Long.parseLong(text);
                            case "getFloat" -> text == null ? 0f : Float.parseFloat(text);
                            case "getDouble" -> text == null ? 0d : Double.parseDouble(text);
                            case "getBoolean" -> text != null && text.equals("t");
                            case "getBigDecimal" -> text == null ? null : decimal(column, text);
                            case "getObject" -> text == null ? null : object(column, text, (Class<?>) args[1]);
                            case "getArray" -> text == null ? null : array(column, type, text);
                            default -> throw new SQLFeatureNotSupportedException(name + " on a pgoutput value");
                        };
                    } catch (NumberFormatException | DateTimeParseException e) {
                        throw new SyncException("column " + column + ": value " + text + " cannot be stored exactly in"
                                + " ClickHouse; the table stops here rather than store something else", e);
                    }
                });
    }

    /** The array the watermark mode's reader takes from pgjdbc: only {@code getArray()} is asked of it. */
    private static Array array(String column, PgType type, String text) {
        Object[] elements = TextArray.parse(column, type.element().name(), text);
        return (Array) Proxy.newProxyInstance(TextValue.class.getClassLoader(), new Class<?>[] {Array.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getArray" -> elements;
                    case "free" -> null;
                    default -> throw new SQLFeatureNotSupportedException(method.getName() + " on a pgoutput array");
                });
    }

    private static BigDecimal decimal(String column, String text) {
        if (text.equals("NaN") || text.endsWith("Infinity")) {
            throw new SyncException("column " + column + ": value " + text + " is not a number ClickHouse's Decimal can"
                    + " hold; the table stops here rather than store something else.");
        }
        return new BigDecimal(text);
    }

    private static Object object(String column, String text, Class<?> type) {
        if (type == UUID.class) {
            return UUID.fromString(text);
        }
        if (type == LocalDate.class) {
            return LocalDate.parse(text);
        }
        if (type == LocalDateTime.class) {
            return LocalDateTime.parse(text, TIMESTAMP);
        }
        if (type == OffsetDateTime.class) {
            return OffsetDateTime.parse(text, TIMESTAMPTZ);
        }
        throw new IllegalStateException("column " + column + ": no text decoding into " + type.getSimpleName());
    }
}
