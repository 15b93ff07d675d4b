package io.pgchloader.cdc;

import io.pgchloader.clickhouse.PgToClickHouse;
import io.pgchloader.clickhouse.RowBinaryInsert;
import io.pgchloader.clickhouse.TargetTable;
import io.pgchloader.common.Identifiers;
import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.ColumnReader;
import io.pgchloader.postgres.PgColumn;
import io.pgchloader.postgres.PgType;
import io.pgchloader.postgres.SourceRow;
import io.pgchloader.postgres.SourceTable;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One table of the CDC mode as the stream sees it: its columns, key and target, and how a pgoutput tuple
 * becomes a {@link SourceRow} for the sink (a row with its version, or a tombstone of its key).
 */
final class CdcTable {

    private static final Set<String> INTEGER_TYPES = Set.of("int2", "int4", "int8");

    /** The parameters of one templatedRoute of {@code pg-cdc-to-clickhouse}. */
    record Spec(String routeId, String schema, String table, String targetTable, String primaryKey, int batchSize,
                int insertRows, double maxDeleteFraction) {

        String target() {
            return targetTable == null || targetTable.isBlank() ? table : targetTable;
        }
    }

    final Spec spec;
    final SourceTable source;
    final List<String> key;
    final String qualifiedTarget;
    final RowBinaryInsert.Layout rowLayout;
    final RowBinaryInsert.Layout tombstoneLayout;
    private final SourceRow.Shape rowShape;
    private final SourceRow.Shape tombstoneShape;
    private final ColumnReader[] readers;
    private final int[] keyPositions;

    CdcTable(Spec spec, SourceTable source, List<String> key, String qualifiedTarget, List<String> insertTypes) {
        this.spec = spec;
        this.source = source;
        this.key = key;
        this.qualifiedTarget = qualifiedTarget;
        List<PgColumn> columns = source.columns();
        readers = new ColumnReader[columns.size()];
        List<SourceRow.Column> shape = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<String> types = new ArrayList<>(insertTypes);
        for (int i = 0; i < columns.size(); i++) {
            PgColumn c = columns.get(i);
            // pgoutput (protocol 1) sends text: what the loader keeps as text goes over as its bytes, the rest is
            // read by the watermark mode's readers from that text (TextValue)
            readers[i] = PgToClickHouse.readerFor(c.name(), c.type(), false);
            shape.add(new SourceRow.Column(c.name(), c.type(), false, readers[i] == null));
            names.add(c.name());
        }
        shape.addAll(extraColumns());
        names.add(TargetTable.VERSION_COLUMN);
        names.add(TargetTable.DELETED_COLUMN);
        types.add(TargetTable.CDC_VERSION_TYPE);
        types.add("UInt8");
        rowShape = new SourceRow.Shape(shape);
        rowLayout = RowBinaryInsert.Layout.of(qualifiedTarget, names, types);

        keyPositions = new int[key.size()];
        List<SourceRow.Column> keyShape = new ArrayList<>();
        List<String> keyTypes = new ArrayList<>();
        for (int k = 0; k < key.size(); k++) {
            keyPositions[k] = source.columnNames().indexOf(key.get(k));
            keyShape.add(rowShape.column(keyPositions[k]));
            keyTypes.add(insertTypes.get(keyPositions[k]));
        }
        keyShape.addAll(extraColumns());
        keyTypes.add(TargetTable.CDC_VERSION_TYPE);
        keyTypes.add("UInt8");
        List<String> keyNames = new ArrayList<>(key);
        keyNames.add(TargetTable.VERSION_COLUMN);
        keyNames.add(TargetTable.DELETED_COLUMN);
        tombstoneShape = new SourceRow.Shape(keyShape);
        tombstoneLayout = RowBinaryInsert.Layout.of(qualifiedTarget, keyNames, keyTypes);
    }

    private static List<SourceRow.Column> extraColumns() {
        return List.of(new SourceRow.Column(TargetTable.VERSION_COLUMN, new PgType("numeric", 0, 0), false, false),
                new SourceRow.Column(TargetTable.DELETED_COLUMN, new PgType("int2", 0, 0), false, false));
    }

    String name() {
        return source.qualifiedName();
    }

    /** Whether every key column is an integer: keys PostgreSQL and ClickHouse order alike, so a load can resume by key. */
    boolean hasIntegerKey() {
        return key.stream().allMatch(k -> INTEGER_TYPES.contains(source.column(k).orElseThrow().type().name()));
    }

    /** The row a change leaves, its values in source column order (text, null, never unchanged TOAST). */
    SourceRow row(Object[] values, BigInteger version) {
        Object[] out = new Object[values.length + 2];
        for (int i = 0; i < values.length; i++) {
            out[i] = value(i, values[i]);
        }
        out[values.length] = version;
        out[values.length + 1] = 0;
        return new SourceRow(rowShape, out);
    }

    /** A tombstone: the key of a deleted row, its own version, _is_deleted = 1. */
    SourceRow tombstone(Object[] values, BigInteger version) {
        Object[] out = new Object[keyPositions.length + 2];
        for (int k = 0; k < keyPositions.length; k++) {
            out[k] = value(keyPositions[k], values[keyPositions[k]]);
        }
        out[keyPositions.length] = version;
        out[keyPositions.length + 1] = 1;
        return new SourceRow(tombstoneShape, out);
    }

    /** Whether two tuples (in source order) carry the same key. */
    boolean sameKey(Object[] a, Object[] b) {
        for (int position : keyPositions) {
            Object x = a[position];
            Object y = b[position];
            if (x == PgOutput.UNCHANGED_TOAST || y == PgOutput.UNCHANGED_TOAST) {
                continue;
            }
            if (x == null ? y != null : !x.equals(y)) {
                return false;
            }
        }
        return true;
    }

    private Object value(int column, Object text) {
        if (text == PgOutput.UNCHANGED_TOAST) {
            // never written as NULL or '': CdcStream fills these from the old row, or stops before coming here
            throw new IllegalStateException("unchanged TOAST value of " + source.columns().get(column).name() + " left unfilled");
        }
        if (readers[column] == null) {
            return text == null ? null : ((String) text).getBytes(StandardCharsets.UTF_8);
        }
        PgColumn c = source.columns().get(column);
        // NULL goes through the reader too, as in the watermark mode: a NULL array becomes an empty one
        try {
            return readers[column].read(TextValue.of(c.name(), c.type(), (String) text), 1);
        } catch (java.sql.SQLException e) {
            throw new SyncException(name() + ": column " + c.name() + ": " + e.getMessage(), e);
        }
    }

    /** Tombstones, at {@code version}, every key the target holds in an older version: what TRUNCATE and a snapshot's sweep need. */
    String sweepSql(BigInteger version) {
        return "INSERT INTO " + qualifiedTarget + " (" + Identifiers.chList(key) + ", " + Identifiers.ch(TargetTable.VERSION_COLUMN)
                + ", " + Identifiers.ch(TargetTable.DELETED_COLUMN) + ") SELECT " + Identifiers.chList(key) + ", toUInt128('"
                + version + "'), 1 FROM " + qualifiedTarget + " FINAL WHERE " + Identifiers.ch(TargetTable.VERSION_COLUMN)
                + " < toUInt128('" + version + "')";
    }
}
