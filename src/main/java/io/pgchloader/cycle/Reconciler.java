package io.pgchloader.cycle;

import java.sql.SQLException;
import java.util.List;

/**
 * Finds what the streams cannot: keys ClickHouse holds that PostgreSQL deleted, and rows ClickHouse lacks
 * or holds in an older version. It writes the tombstones itself and hands back the rows to copy again,
 * which the cycle sends through its own sink like every other row. Implemented beside {@code --verify},
 * whose comparison it shares; bound in the registry, and absent where no table reconciles.
 */
public interface Reconciler {

    /** One table's reconciliation, as the cycle asks for it. */
    record Request(String routeId, String schema, String table, String targetTable, List<String> key, String createdColumn,
                   String updatedColumn, String softDeleteColumn, double maxDeleteFraction,
                   boolean force, boolean targetHoldsDeletes, List<String> migration) {
    }

    /**
     * What a reconciliation found and did. {@code keysRead} counts the rows both sides listed key by key
     * (the rest was compared by sums only); {@code copyCondition} selects in PostgreSQL (with
     * {@code copyParameter} bound to its one placeholder) the rows to copy again, null when there are none.
     */
    record Result(long comparedRows, long keysRead, long tombstoned, long deletesLeft, long toCopy, String copyCondition,
                  Object copyParameter, double seconds, String note) {

        public boolean copies() {
            return copyCondition != null;
        }
    }

    Result reconcile(Request request) throws SQLException;
}
