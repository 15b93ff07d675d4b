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
    record Layout(String table, List<String> names, List<String> types) {

        /**
         * Columns by name and their types in the target table, exactly as ClickHouse declares them; a type
         * the loader cannot write stops the table here, before any row is read.
         */
        static Layout of(String table, List<String> names, List<String> types) {
            types.forEach(RowBinary::encoder);
            return new Layout(table, List.copyOf(names), List.copyOf(types));
        }

        String sql() {
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
     * One row for the statement, with the stream it belongs to and whether it is the stream's last
     * (camel-sql binds rows one by one, so each carries that). It is also the one-element iterator
     * camel-sql asks the binding for, so binding a row allocates nothing else.
     */
    static final class Row implements java.util.Iterator<Object> {
        private final StreamInsert stream;
        private final SourceRow values;
        private final boolean lastOfStream;
        private boolean taken;

        Row(StreamInsert stream, SourceRow values, boolean lastOfStream) {
            this.stream = stream;
            this.values = values;
            this.lastOfStream = lastOfStream;
        }

        StreamInsert stream() {
            return stream;
        }

        SourceRow values() {
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

    /**
     * The body of one split exchange: a batch of a stream's rows, in stream order. Each row camel-sql
     * takes from it is a fresh {@link Row} (a retried exchange binds its rows again), and the batch the
     * stream's reader found to be the last marks its last row so (see {@link ReadAhead}).
     */
    static final class Batch extends java.util.AbstractList<Row> implements java.util.RandomAccess {
        private final StreamInsert stream;
        private final List<SourceRow> rows;
        private final boolean lastOfStream;

        Batch(StreamInsert stream, List<SourceRow> rows, boolean lastOfStream) {
            this.stream = stream;
            this.rows = rows;
            this.lastOfStream = lastOfStream;
        }

        @Override
        public Row get(int index) {
            return new Row(stream, rows.get(index), lastOfStream && index == rows.size() - 1);
        }

        @Override
        public int size() {
            return rows.size();
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
