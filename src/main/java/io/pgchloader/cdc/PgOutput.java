package io.pgchloader.cdc;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * The messages of PostgreSQL's pgoutput plugin, protocol version 1 (text values), as documented in
 * "Logical Replication Message Formats". Only what the loader needs is kept; the rest is skipped by length.
 */
final class PgOutput {

    /** A tuple column that was not sent: an unchanged TOASTed value (pgoutput's 'u'). */
    static final Object UNCHANGED_TOAST = new Object() {
        @Override
        public String toString() {
            return "unchanged TOAST value";
        }
    };

    private PgOutput() {
    }

    sealed interface Message permits Begin, Commit, Relation, Insert, Update, Delete, Truncate, LogicalMessage, Other {
    }

    /** PostgreSQL's epoch for timestamps on the wire: microseconds since 2000-01-01 UTC. */
    private static final Instant PG_EPOCH = Instant.parse("2000-01-01T00:00:00Z");

    /** finalLsn: the LSN of the transaction's commit record, the same for all its changes. */
    record Begin(long finalLsn, int xid) implements Message {
    }

    /** endLsn: just past the commit record; confirming it tells PostgreSQL the transaction is applied. */
    record Commit(long commitLsn, long endLsn, Instant commitTime) implements Message {
    }

    /** A message of pg_logical_emit_message (sent with the option messages 'true'); lsn: the message's own. */
    record LogicalMessage(boolean transactional, long lsn, String prefix) implements Message {
    }

    /** replicaIdentity: 'd' default, 'f' full, 'i' index, 'n' nothing. */
    record Relation(int id, String schema, String name, char replicaIdentity, List<Column> columns) implements Message {
    }

    /** A column of a relation as the WAL had it when the change was written: its type may differ from today's catalog. */
    record Column(String name, int typeOid, int typeMod) {
    }

    /** Values are text (String), null for NULL, or {@link #UNCHANGED_TOAST}. */
    record Insert(int relation, Object[] values) implements Message {
    }

    /** old: the old key ('K') or old row ('O'), null when PostgreSQL sent neither (key unchanged, default identity). */
    record Update(int relation, Object[] old, Object[] values) implements Message {
    }

    record Delete(int relation, Object[] old) implements Message {
    }

    record Truncate(int[] relations) implements Message {
    }

    record Other(char type) implements Message {
    }

    static Message decode(ByteBuffer buffer) {
        char type = (char) buffer.get();
        switch (type) {
            case 'B': {
                long finalLsn = buffer.getLong();
                buffer.getLong(); // commit timestamp
                return new Begin(finalLsn, buffer.getInt());
            }
            case 'C': {
                buffer.get(); // flags
                long commitLsn = buffer.getLong();
                long endLsn = buffer.getLong();
                return new Commit(commitLsn, endLsn, PG_EPOCH.plus(buffer.getLong(), ChronoUnit.MICROS));
            }
            case 'R': {
                int id = buffer.getInt();
                String schema = string(buffer);
                String name = string(buffer);
                char identity = (char) buffer.get();
                int count = buffer.getShort();
                List<Column> columns = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    buffer.get(); // flags (part of the key)
                    columns.add(new Column(string(buffer), buffer.getInt(), buffer.getInt()));
                }
                return new Relation(id, schema, name, identity, columns);
            }
            case 'I': {
                int relation = buffer.getInt();
                buffer.get(); // 'N'
                return new Insert(relation, tuple(buffer));
            }
            case 'U': {
                int relation = buffer.getInt();
                char kind = (char) buffer.get();
                Object[] old = null;
                if (kind == 'K' || kind == 'O') {
                    old = tuple(buffer);
                    buffer.get(); // 'N'
                }
                return new Update(relation, old, tuple(buffer));
            }
            case 'D': {
                int relation = buffer.getInt();
                buffer.get(); // 'K' or 'O'
                return new Delete(relation, tuple(buffer));
            }
            case 'T': {
                int count = buffer.getInt();
                buffer.get(); // options
                int[] relations = new int[count];
                for (int i = 0; i < count; i++) {
                    relations[i] = buffer.getInt();
                }
                return new Truncate(relations);
            }
            case 'M': {
                boolean transactional = (buffer.get() & 1) != 0;
                long lsn = buffer.getLong();
                return new LogicalMessage(transactional, lsn, string(buffer));
            }
            default:
                // origin, type: nothing the loader applies
                return new Other(type);
        }
    }

    private static Object[] tuple(ByteBuffer buffer) {
        int count = buffer.getShort();
        Object[] values = new Object[count];
        for (int i = 0; i < count; i++) {
            char kind = (char) buffer.get();
            switch (kind) {
                case 'n' -> values[i] = null;
                case 'u' -> values[i] = UNCHANGED_TOAST;
                case 't', 'b' -> {
                    int length = buffer.getInt();
                    byte[] bytes = new byte[length];
                    buffer.get(bytes);
                    values[i] = new String(bytes, StandardCharsets.UTF_8);
                }
                default -> throw new IllegalStateException("pgoutput tuple column of unknown kind '" + kind + "'");
            }
        }
        return values;
    }

    private static String string(ByteBuffer buffer) {
        int start = buffer.position();
        int end = start;
        while (buffer.get(end) != 0) {
            end++;
        }
        byte[] bytes = new byte[end - start];
        buffer.get(bytes);
        buffer.get(); // the terminating zero
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
