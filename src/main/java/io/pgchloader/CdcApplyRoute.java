package io.pgchloader;

import io.pgchloader.cdc.CdcStream;
import io.pgchloader.clickhouse.RowBinaryInsert;
import java.sql.SQLException;
import java.util.function.Supplier;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.sql.SqlConstants;

/**
 * The CDC stream's writes as exchanges of the {@code cdc-apply} route (routes/pg-cdc-to-clickhouse.yaml): one
 * per batch, its INSERT in {@code CamelSqlQuery}, sent and waited for, so the stream confirms the slot only
 * past what the route's camel-sql producer wrote. A failure comes back to the stream, which decides what
 * happens next (it starts again from the slot's confirmed position).
 */
final class CdcApplyRoute implements CdcStream.Inserts {

    static final String ROUTE_ID = "cdc-apply";
    private static final String ENDPOINT = "direct:cdc-apply";

    private final Supplier<CamelContext> context;
    private volatile ProducerTemplate producer;

    /** @param context the loader's Camel context, started before the first write */
    CdcApplyRoute(Supplier<CamelContext> context) {
        this.context = context;
    }

    @Override
    public void insert(String sql, RowBinaryInsert.Batch batch) throws SQLException {
        Exchange done = producer().send(ENDPOINT, exchange -> {
            exchange.getIn().setHeader(SqlConstants.SQL_QUERY, sql);
            exchange.getIn().setBody(batch);
        });
        Exception failure = done.getException();
        if (failure == null) {
            return;
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sqlFailure) {
                throw sqlFailure;
            }
        }
        if (failure instanceof RuntimeException runtime) {
            throw runtime;
        }
        throw new SQLException(failure.getMessage(), failure);
    }

    private ProducerTemplate producer() {
        ProducerTemplate template = producer;
        if (template == null) {
            synchronized (this) {
                if (producer == null) {
                    producer = context.get().createProducerTemplate();
                }
                template = producer;
            }
        }
        return template;
    }
}
