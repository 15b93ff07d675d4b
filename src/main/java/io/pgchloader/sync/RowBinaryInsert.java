package io.pgchloader.sync;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Arrays;
import java.util.List;

/**
 * The {@link PreparedStatement} behind the camel-sql producer's ClickHouse insert: the rows of a batch
 * ({@code addBatch}) are encoded as RowBinary, and {@code executeBatch} hands the batch to its stream's
 * {@link StreamInsert}, which streams it into an {@code INSERT ... FORMAT RowBinaryWithNamesAndTypes}
 * through the official driver's own client on the same pooled connection (same server, credentials and
 * settings).
 *
 * <p>Why not the driver's statements: its default sends every value as SQL text that ClickHouse has to
 * parse (the loader's main cost, measured), and its RowBinary path ({@code beta.row_binary_for_simple_insert})
 * puts values in the wrong columns in 0.11.0 (see DataSources). Here the header names every column and
 * its type in the target table, so ClickHouse maps by name and checks that the bytes are what the
 * column holds (a mismatch is an error, never a misread value).
 *
 * <p>Only what camel-sql's batch insert uses is implemented; anything else fails loudly.
 */
final class RowBinaryInsert implements InvocationHandler {

    static final String FORMAT = "RowBinaryWithNamesAndTypes";

    /** Which columns go where, and how each is encoded: the same for every batch of a stream. */
    record Layout(String table, List<String> names, List<String> types, RowBinary.Encoder[] encoders) {

        /** Columns by name and their types in the target table, exactly as ClickHouse declares them. */
        static Layout of(String table, List<String> names, List<String> types) {
            return new Layout(table, List.copyOf(names), List.copyOf(types),
                    types.stream().map(RowBinary::encoder).toArray(RowBinary.Encoder[]::new));
        }

        String sql() {
            return "INSERT INTO " + table + " (" + Identifiers.chList(names) + ") FORMAT " + FORMAT;
        }

        void writeHeader(RowBinary.Buffer out) {
            out.writeVarInt(names.size());
            names.forEach(out::writeString);
            types.forEach(out::writeString);
        }

        void writeRow(RowBinary.Buffer out, Object[] row) {
            if (row.length != encoders.length) {
                throw new IllegalStateException("row has " + row.length + " values for " + encoders.length + " columns");
            }
            for (int i = 0; i < encoders.length; i++) {
                try {
                    encoders[i].write(out, row[i]);
                } catch (ClassCastException | NullPointerException e) {
                    // a reader and the column's type disagree: a bug, and no retry will fix it
                    throw new SyncException("column " + names.get(i) + " (" + types.get(i) + "): cannot encode "
                            + (row[i] == null ? "NULL" : "a " + row[i].getClass().getSimpleName()) + " read from PostgreSQL", e);
                }
            }
        }
    }

    /**
     * One row for the statement, with the stream it belongs to and whether its batch is the stream's
     * last (camel-sql binds rows one by one, so each carries that). It is also the one-element iterator
     * camel-sql asks the binding for, so binding a row allocates nothing else.
     */
    static final class Row implements java.util.Iterator<Object> {
        private final StreamInsert stream;
        private final Object[] values;
        private final boolean lastOfStream;
        private boolean taken;

        Row(StreamInsert stream, Object[] values, boolean lastOfStream) {
            this.stream = stream;
            this.values = values;
            this.lastOfStream = lastOfStream;
        }

        StreamInsert stream() {
            return stream;
        }

        Object[] values() {
            return values;
        }

        boolean lastOfStream() {
            return lastOfStream;
        }

        @Override
        public boolean hasNext() {
            return !taken;
        }

        @Override
        public Object next() {
            if (taken) {
                throw new java.util.NoSuchElementException();
            }
            taken = true;
            return this;
        }
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
    private Row pending;
    private StreamInsert stream;
    private boolean lastOfStream;
    private int rows;
    private boolean closed;

    private RowBinaryInsert(Connection owner, Connection clickHouse, String sql) {
        this.owner = owner;
        this.clickHouse = clickHouse;
        this.sql = sql;
    }

    private void addBatch() throws SQLException {
        if (pending == null) {
            throw new SQLException("addBatch without a row: bind rows with ClickHouseRowBinding");
        }
        if (rows == 0) {
            if (!pending.stream().layout().sql().equals(sql)) {
                throw new SQLException("rows laid out for '" + pending.stream().layout().sql() + "' bound to '" + sql + "'");
            }
            stream = pending.stream();
            stream.beginBatch();
        } else if (pending.stream() != stream) {
            throw new SQLException("rows of two streams in one batch of '" + sql + "'");
        }
        stream.add(pending.values());
        lastOfStream = pending.lastOfStream();
        pending = null;
        rows++;
    }

    private int[] executeBatch() throws SQLException {
        if (rows == 0) {
            return new int[0];
        }
        try {
            stream.endBatch(clickHouse, lastOfStream);
            int[] counts = new int[rows];
            Arrays.fill(counts, 1);
            return counts;
        } finally {
            clearBatch();
        }
    }

    private void clearBatch() {
        rows = 0;
        pending = null;
        stream = null;
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        switch (method.getName()) {
            case "addBatch":
                if (args == null) {
                    addBatch();
                    return null;
                }
                break;
            case "executeBatch":
                return executeBatch();
            case "clearBatch":
            case "clearParameters":
                clearBatch();
                return null;
            case "unwrap":
                throw new SQLException("not a wrapper for " + args[0]);
            case "isWrapperFor":
                return false;
            case "setObject":
                // the binding's way in: one call per row, the row (the next addBatch adds) being the only parameter
                if (args.length == 2 && args[1] instanceof Row row) {
                    pending = row;
                    return null;
                }
                break;
            case "close":
                closed = true;
                clearBatch();
                return null;
            case "isClosed":
                return closed;
            case "getConnection":
                return owner;
            case "getUpdateCount":
                return -1;
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
