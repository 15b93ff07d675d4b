package io.pgchloader.common;

/**
 * Text from outside (table and column names, database messages quoting them) as it may go into a log
 * line: whoever can create a table chooses its name, and a line break in it would start a log line of
 * its own, looking like the loader's (log forging).
 */
public final class LogText {

    private LogText() {
    }

    /**
     * The text with line breaks, tabs and the other control characters written as {@code \n}, {@code \r},
     * {@code \t} or {@code \}{@code uXXXX}, as are Unicode's line separators and the bidirectional overrides
     * that make a line read otherwise than it is. Everything else stays as it is.
     */
    public static String escape(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder escaped = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String replacement = switch (c) {
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                case '\t' -> "\\t";
                default -> needsEscape(c) ? String.format("\\u%04x", (int) c) : null;
            };
            if (replacement != null && escaped == null) {
                escaped = new StringBuilder(text.length() + 16).append(text, 0, i);
            }
            if (escaped != null) {
                if (replacement != null) {
                    escaped.append(replacement);
                } else {
                    escaped.append(c);
                }
            }
        }
        return escaped == null ? text : escaped.toString();
    }

    private static boolean needsEscape(char c) {
        return Character.isISOControl(c) || c == '\u2028' || c == '\u2029'
                || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069');
    }
}
