package io.pgchloader.common;

import java.util.Locale;

/**
 * The delete guard every path that tombstones keys PostgreSQL no longer shows goes through: the
 * reconciliation, a CDC table's snapshot sweep and its repair. An unreadable or empty source (a wrong
 * database, a dropped or emptied table, a role that sees nothing) must never wipe a target, and one run
 * never removes more than {@code maxDeleteFraction} of a table unless the user says so ({@code --force}).
 */
public final class DeleteGuard {

    private DeleteGuard() {
    }

    /**
     * Why {@code deletes} tombstones may not be written, or null when they may.
     *
     * @param sourceRows rows PostgreSQL showed
     * @param targetRows rows ClickHouse holds (FINAL)
     */
    public static String refusal(String table, String routeId, long sourceRows, long deletes, long targetRows,
                                 double maxDeleteFraction) {
        if (deletes == 0) {
            return null;
        }
        if (sourceRows == 0) {
            return "nothing deleted: PostgreSQL's " + table + " shows no rows at all while ClickHouse holds " + targetRows
                    + " (a wrong database, a dropped or emptied table, a role that sees nothing?); if it really was emptied,"
                    + " run --repair --force --table " + routeId;
        }
        if (deletes > maxDeleteFraction * targetRows) {
            return String.format(Locale.ROOT, "nothing deleted: %,d of %,d rows (%.1f %%) would go, more than maxDeleteFraction"
                            + " %.3f allows; if PostgreSQL really lost them, run --repair --force --table %s",
                    deletes, targetRows, 100.0 * deletes / Math.max(1, targetRows), maxDeleteFraction, routeId);
        }
        return null;
    }

    /** A {@code maxDeleteFraction} parameter's value, checked: a number from 0 to 1. */
    public static double fraction(String routeId, String text) {
        try {
            double value = Double.parseDouble(text);
            if (value >= 0 && value <= 1) {
                return value;
            }
        } catch (NumberFormatException | NullPointerException e) {
            // said below
        }
        throw new IllegalArgumentException("route " + routeId + ": parameter maxDeleteFraction must be a number from 0 to 1"
                + " (0.05 allows a reconciliation to delete 5 % of the table), not '" + text + "'.");
    }
}
