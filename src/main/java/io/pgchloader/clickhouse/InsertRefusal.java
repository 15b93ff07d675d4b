package io.pgchloader.clickhouse;

import java.sql.SQLException;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ClickHouse refusing an INSERT for what its target is, not for an outage: a column the INSERT names that the
 * table no longer has, a type it cannot convert to, a NULL for a column that is not Nullable. The same rows
 * would be refused again however often they are sent, so trying again only stalls everything behind them.
 */
public final class InsertRefusal {

    /** NOT_FOUND_COLUMN_IN_BLOCK, NO_SUCH_COLUMN_IN_TABLE, TYPE_MISMATCH, CANNOT_CONVERT_TYPE, CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN. */
    private static final Set<Integer> CODES = Set.of(10, 16, 53, 70, 349);
    private static final Pattern CODE = Pattern.compile("Code: (\\d+)\\.");

    private InsertRefusal() {
    }

    public static boolean isRefusal(SQLException failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && CODES.contains(sql.getErrorCode())) {
                return true;
            }
            Matcher code = CODE.matcher(String.valueOf(t.getMessage()));
            if (code.find() && CODES.contains(Integer.parseInt(code.group(1)))) {
                return true;
            }
        }
        return false;
    }
}
