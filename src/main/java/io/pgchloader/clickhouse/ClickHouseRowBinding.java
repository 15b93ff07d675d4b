package io.pgchloader.clickhouse;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Iterator;
import java.util.List;
import org.apache.camel.Exchange;
import org.apache.camel.component.sql.SqlPrepareStatementStrategy;

/**
 * Binds a batch to the ClickHouse insert (the camel-sql producer's {@code prepareStatementStrategy}): the
 * whole {@link RowBinaryInsert.Batch} of a split exchange is the statement's one parameter, and
 * {@link RowBinaryInsert} encodes its rows in one loop. Nothing is looked up or bound per row.
 *
 * <p>camel-sql's default strategy would look for named parameters in the SQL with a regular expression
 * and hand each value to Spring's type dispatch, for every row: half of the loader's CPU in a backfill
 * (measured with JFR).
 */
public class ClickHouseRowBinding implements SqlPrepareStatementStrategy {

    @Override
    public String prepareQuery(String query, boolean allowNamedParameters, Exchange exchange) {
        return query;
    }

    @Override
    public Iterator<?> createPopulateIterator(String query, String preparedQuery, int expectedParams, Exchange exchange,
                                              Object value) {
        if (value instanceof RowBinaryInsert.Batch batch) {
            return List.of(batch).iterator();
        }
        throw new IllegalArgumentException("the ClickHouse insert takes the batches of copyStream.batches, not "
                + (value == null ? "null" : "a " + value.getClass().getName()));
    }

    @Override
    public void populateStatement(PreparedStatement ps, Iterator<?> iterator, int expectedParams) throws SQLException {
        try {
            ps.setObject(1, iterator.next());
        } catch (SQLException | RuntimeException e) {
            // any other statement (the plain ClickHouse pool) cannot take a whole batch as one value
            throw new SQLException("the ClickHouse insert must use the clickHouseSink data source, not " + ps, e);
        }
    }
}
