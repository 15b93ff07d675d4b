package io.pgchloader.clickhouse;

import io.pgchloader.common.Identifiers;
import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.SourceRow;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.List;

/**
 * The {@link PreparedStatement} behind the camel-sql producer's ClickHouse insert. Its one parameter is a
 * whole {@link Batch} (one split exchange) of RowBinary rows; {@code execute} hands it to its stream's
 * {@link StreamInsert}, which streams it into an
 * {@code INSERT ... FORMAT RowBinaryWithNamesAndTypes} through the official driver's own client on the
 * same pooled connection (same server, credentials and settings), and the update count is the batch's
 * rows.
 *
 * <p>Why the batch as one parameter rather than JDBC's {@code addBatch} per row: camel-sql would bind every
 * row through the statement strategy and this proxy, twice per row, about a tenth of the loader's own
 * CPU in a backfill (JFR); one execution per exchange keeps Camel's unit of work and error handling.
 *
 * <p>Why not the driver's statements: its default sends every value as SQL text that ClickHouse has to
 * parse (the loader's main cost, measured), and its RowBinary path ({@code beta.row_binary_for_simple_insert})
 * puts values in the wrong columns in 0.11.0 (see DataSources). Here the header names every column and
 * its type in the target table, so ClickHouse maps by name and checks that the bytes are what the
 * column holds (a mismatch is an error, never a misread value).
 *
 * <p>Only what camel-sql's insert uses is implemented; anything else fails loudly.
 */
public final class RowBinaryInsert implements InvocationHandler {

    static final String FORMAT = "RowBinaryWithNamesAndTypes";

    /** Which columns go where, and how each is encoded: the same for every batch of a stream. */
    public record Layout(String table, List<String> names, List<String> types) {

        /**
         * Columns by name and their types in the target table, exactly as ClickHouse declares them; a type
         * the loader cannot write stops the table here, before any row is read.
         */
        public static Layout of(String table, List<String> names, List<String> types) {
            types.forEach(RowBinary::encoder);
            return new Layout(table, List.copyOf(names), List.copyOf(types));
        }

        public String sql() {
            return "INSERT INTO " + table + " (" + Identifiers.chList(names) + ") FORMAT " + FORMAT;
        }

        void writeHeader(RowBinary.Buffer out) {
            out.writeVarInt(names.size());
            names.forEach(out::writeString);
            types.forEach(out::writeString);
        }

        /**
         * The encoders for rows of this shape: PostgreSQL's result must have the insert's columns in its
         * order (the stream's SELECT lists them so), and raw values are written from their bytes.
         */
        RowBinary.Encoder[] encodersFor(SourceRow.Shape shape) {
            List<String> read = shape.columns().stream().map(SourceRow.Column::name).toList();
            if (!read.equals(names)) {
                throw new IllegalStateException("PostgreSQL returned the columns " + read + " for an insert of " + names);
            }
            RowBinary.Encoder[] forShape = new RowBinary.Encoder[names.size()];
            for (int i = 0; i < forShape.length; i++) {
                forShape[i] = RowBinary.encoder(types.get(i), shape.column(i));
            }
            return forShape;
        }

        void writeRow(RowBinary.Buffer out, RowBinary.Encoder[] forShape, SourceRow row) {
            Object[] values = row.values();
            for (int i = 0; i < forShape.length; i++) {
                try {
                    forShape[i].write(out, values[i]);
                } catch (ClassCastException | NullPointerException e) {
                    // a reader and the column's type disagree: a bug, and no retry will fix it
                    throw new SyncException("column " + names.get(i) + " (" + types.get(i) + "): cannot encode "
                            + (values[i] == null ? "NULL" : "a " + values[i].getClass().getSimpleName()) + " read from PostgreSQL", e);
                } catch (ArithmeticException e) {
                    // a user-chosen column narrower in some direction than the type the loader creates
                    throw new SyncException("column " + names.get(i) + ": a value read from PostgreSQL does not fit the"
                            + " ClickHouse column's type " + types.get(i) + " (" + e.getMessage() + "); the table stops here"
                            + " rather than store another value. Give the column the type the loader would create (see README, Types).", e);
                }
            }
        }
    }

    /**
     * The body of one split exchange and the one parameter of one execution of the insert: a batch of a
     * stream's rows, already RowBinary (encoded on the stream's reading thread),
     * with how they count, the stream they go to, and whether the reader found it to be the stream's last.
     */
    public record Batch(StreamInsert stream, byte[] bytes, int rows, RowCounts.Count tally, boolean lastOfStream) {
    }

    static boolean handles(String sql) {
        return sql.startsWith("INSERT INTO ") && sql.endsWith(" FORMAT " + FORMAT);
    }

    static PreparedStatement prepare(Connection owner, Connection clickHouse, String sql) {
        return (PreparedStatement) Proxy.newProxyInstance(RowBinaryInsert.class.getClassLoader(),
                new Class<?>[] {PreparedStatement.class}, new RowBinaryInsert(owner, clickHouse, sql));
    }

    private final Connection owner;
    private final Connection clickHouse;
    private final String sql;
    private Batch pending;
    private int updateCount = -1;
    private boolean closed;

    private RowBinaryInsert(Connection owner, Connection clickHouse, String sql) {
        this.owner = owner;
        this.clickHouse = clickHouse;
        this.sql = sql;
    }

    private boolean execute() throws SQLException {
        if (pending == null) {
            throw new SQLException("execute without a batch: bind the batch with ClickHouseRowBinding");
        }
        Batch batch = pending;
        pending = null;
        if (!batch.stream().layout().sql().equals(sql)) {
            throw new SQLException("rows laid out for '" + batch.stream().layout().sql() + "' bound to '" + sql + "'");
        }
        batch.stream().insert(clickHouse, batch);
        updateCount = batch.rows();
        // no result set: an update count, as for any INSERT
        return false;
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        switch (method.getName()) {
            case "execute":
                if (args == null) {
                    return execute();
                }
                break;
            case "clearParameters":
                pending = null;
                return null;
            case "unwrap":
                throw new SQLException("not a wrapper for " + args[0]);
            case "isWrapperFor":
                return false;
            case "setObject":
                // the binding's way in: the batch (the next execute inserts) is the only parameter
                if (args.length == 2 && Integer.valueOf(1).equals(args[0]) && args[1] instanceof Batch batch) {
                    pending = batch;
                    return null;
                }
                break;
            case "close":
                closed = true;
                pending = null;
                return null;
            case "isClosed":
                return closed;
            case "getConnection":
                return owner;
            case "getUpdateCount":
                int count = updateCount;
                updateCount = -1;
                return count;
            case "getParameterMetaData":
            case "getWarnings":
                return null;
            // statement settings Spring and camel-sql may apply; they mean nothing for one INSERT
            case "setFetchSize":
            case "setMaxRows":
            case "setQueryTimeout":
            case "setEscapeProcessing":
            case "setPoolable":
            case "clearWarnings":
                return null;
            case "toString":
                return "RowBinaryInsert[" + sql + "]";
            case "hashCode":
                return System.identityHashCode(proxy);
            case "equals":
                return proxy == args[0];
            default:
                break;
        }
        throw new SQLFeatureNotSupportedException(method.getName() + " is not supported by the RowBinary insert,"
                + " which only takes rows (ClickHouseRowBinding) and executeBatch");
    }
}
