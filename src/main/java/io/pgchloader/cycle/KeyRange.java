package io.pgchloader.cycle;

import io.pgchloader.common.Identifiers;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One contiguous range of a {@link KeyBackfill}'s keys, by the first key column: from {@code from}
 * (inclusive; null for no lower end) to {@code to} (exclusive; null for no upper end). Copied in key order,
 * chunk by chunk, each chunk starting after the largest key ClickHouse holds within the range: the
 * chunks of one range go in one after another, so within it ClickHouse holds a prefix in key order, what
 * other ranges do in the meantime notwithstanding. Done once a chunk comes back short.
 */
public final class KeyRange {

    private final KeyBackfill backfill;
    private final Long from;
    private final Long to;
    private List<Long> after;
    private boolean pending = true;
    private long rowsBeforeChunk;
    private int chunks;

    KeyRange(KeyBackfill backfill, Long from, Long to) {
        this.backfill = backfill;
        this.from = from;
        this.to = to;
    }

    /** More chunks to copy: true until a chunk comes back short. */
    public boolean isPending() {
        return pending;
    }

    /** The range for messages, e.g. {@code id from 1000 below 2000}; empty for the whole key space. */
    String describe() {
        String column = backfill.key().get(0);
        return from == null && to == null ? "" : column + (from == null ? "" : " from " + from) + (to == null ? "" : " below " + to);
    }

    /** ClickHouse: the largest key it holds within the range (no row while it holds none). */
    String positionSql(String targetName) {
        List<String> key = backfill.key();
        return "SELECT " + Identifiers.chList(key) + " FROM " + targetName + within(Identifiers.ch(key.get(0)), " WHERE ") + " ORDER BY "
                + String.join(", ", key.stream().map(k -> Identifiers.ch(k) + " DESC").toList()) + " LIMIT 1";
    }

    /**
     * ClickHouse, for a Distributed target: each shard's largest key within the range (a shard without rows
     * there gives none). A chunk's INSERT that failed can have left its keys on some shards only, so only
     * below the smallest of these is every key in; the initiator must not merge them into one
     * (distributed_group_by_no_merge).
     */
    String shardPositionsSql(String targetName) {
        return positionSql(targetName) + " SETTINGS distributed_group_by_no_merge = 1";
    }

    /** The range's bounds as a condition on the first key column (numbers, never text), after {@code prefix}. */
    private String within(String column, String prefix) {
        if (from == null && to == null) {
            return "";
        }
        return prefix + (from == null ? "" : column + " >= " + from) + (from != null && to != null ? " AND " : "")
                + (to == null ? "" : column + " < " + to);
    }

    /** Takes the answer to {@link #positionSql} (camel-jdbc SelectList): the next chunk starts after it. */
    void acceptPosition(List<?> rows) {
        acceptPosition(rows, 1);
    }

    /**
     * Takes the answer to {@link #shardPositionsSql}: the next chunk starts after the smallest shard's
     * largest key, and at the range's beginning while a shard holds none (a range cut short in its first chunk).
     */
    void acceptPosition(List<?> rows, int shards) {
        if (rows == null || rows.size() < shards || rows.isEmpty()) {
            after = null;
            return;
        }
        List<Long> smallest = null;
        for (Object row : rows) {
            List<Long> values = new ArrayList<>();
            for (String k : backfill.key()) {
                values.add(((Number) ((Map<?, ?>) row).get(k)).longValue());
            }
            if (smallest == null || compare(values, smallest) < 0) {
                smallest = values;
            }
        }
        after = smallest;
    }

    private static int compare(List<Long> a, List<Long> b) {
        for (int i = 0; i < a.size(); i++) {
            int c = Long.compare(a.get(i), b.get(i));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    List<Long> after() {
        return after;
    }

    /** Before the first chunk: whether ClickHouse already held part of the range (a resumed one). */
    boolean firstChunk() {
        return chunks == 0;
    }

    /** PostgreSQL: the range's next chunk, in key order, after the position ClickHouse reported. */
    String chunkSql() {
        List<String> key = backfill.key();
        String keyList = Identifiers.pgList(key);
        return backfill.belowHorizonSql() + within(Identifiers.pg(key.get(0)), " AND ")
                + (after == null ? "" : " AND (" + keyList + ") > (" + String.join(", ", key.stream().map(k -> "?").toList()) + ")")
                + " ORDER BY " + keyList + " LIMIT ?";
    }

    List<Object> chunkParameters() {
        List<Object> parameters = new ArrayList<>(backfill.estimateParameters());
        if (after != null) {
            parameters.addAll(after);
        }
        parameters.add(backfill.chunkRows());
        return parameters;
    }

    void chunkStarts(long rowsSoFar) {
        rowsBeforeChunk = rowsSoFar;
    }

    /** After a chunk: a short one was the last. */
    void chunkDone(long rowsSoFar) {
        chunks++;
        long chunk = rowsSoFar - rowsBeforeChunk;
        if (chunk < backfill.chunkRows()) {
            pending = false;
        }
    }

    int chunks() {
        return chunks;
    }
}
