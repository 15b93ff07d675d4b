package io.pgchloader.postgres;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Iterator;
import java.util.List;
import org.apache.camel.Exchange;
import org.apache.camel.component.sql.SqlPrepareStatementStrategy;

/**
 * Binds a stream's window bounds (the body: a list of one or two values)
 * to the PostgreSQL query of the {@code copy-stream} route (its {@code prepareStatementStrategy}).
 *
 * <p>The route declares {@code parametersCount: 1} so that camel-sql never asks the driver for parameter
 * metadata: that extra describe makes the PostgreSQL driver fetch the rows as text instead of binary,
 * which costs the reader about a third of its CPU. The window has one or two bounds; all are bound.
 */
public class StreamWindowBinding implements SqlPrepareStatementStrategy {

    @Override
    public String prepareQuery(String query, boolean allowNamedParameters, Exchange exchange) {
        return query;
    }

    @Override
    public Iterator<?> createPopulateIterator(String query, String preparedQuery, int expectedParams, Exchange exchange,
                                              Object value) {
        return ((List<?>) value).iterator();
    }

    @Override
    public void populateStatement(PreparedStatement ps, Iterator<?> iterator, int expectedParams) throws SQLException {
        int index = 0;
        while (iterator.hasNext()) {
            ps.setObject(++index, iterator.next());
        }
    }
}
