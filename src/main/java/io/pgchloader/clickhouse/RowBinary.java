package io.pgchloader.clickhouse;

import io.pgchloader.common.SyncException;
import io.pgchloader.postgres.PgWire;
import io.pgchloader.postgres.SourceRow;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.UUID;

/**
 * ClickHouse's RowBinary encoding of the values {@link PgToClickHouse} reads from PostgreSQL, for the
 * column types it maps them to. This is the insert path's hot loop: every value of every row goes through
 * an {@link Encoder} once, straight into one growing byte array per batch, with no text and no per-value
 * objects in between, and ClickHouse reads it without parsing (docs/performance.md: the SQL-text path it
 * replaced was the loader's largest cost).
 */
public final class RowBinary {

    /** Writes one non-null-checked value of one column type. */
    @FunctionalInterface
    interface Encoder {
        void write(Buffer out, Object value);
    }

    private RowBinary() {
    }

    /**
     * The encoder for a column of the target table, by its ClickHouse type as {@code system.columns} shows
     * it (the same text goes into the RowBinaryWithNamesAndTypes header, so data and header cannot
     * disagree). That is the type the loader creates ({@link PgToClickHouse#columnType}) or a wider one a
     * user chose and {@link TypeFit} accepted, so values are widened here exactly, never narrowed.
     * It takes the values {@link PgToClickHouse#reader} reads.
     */
    static Encoder encoder(String type) {
        return encoder(type, null);
    }

    /**
     * The encoder for a target column fed by {@code source}: for a column a {@link SourceRow} keeps raw,
     * one that writes from PostgreSQL's bytes (see {@link #fromWire}).
     */
    static Encoder encoder(String type, SourceRow.Column source) {
        if (type.startsWith("LowCardinality(")) {
            // RowBinary writes a LowCardinality value like the plain one
            return encoder(inner(type), source);
        }
        if (type.startsWith("Nullable(")) {
            Encoder value = encoder(inner(type), source);
            return (out, v) -> {
                if (v == null) {
                    out.writeByte(1);
                } else {
                    out.writeByte(0);
                    value.write(out, v);
                }
            };
        }
        Encoder plain = plain(type);
        return source != null && source.raw() ? fromWire(source, type, plain) : plain;
    }

    private static Encoder plain(String type) {
        if (type.startsWith("Array(")) {
            Encoder element = encoder(inner(type));
            return (out, v) -> {
                Object[] values = (Object[]) v;
                out.writeVarInt(values.length);
                for (Object e : values) {
                    element.write(out, e);
                }
            };
        }
        if (type.startsWith("Decimal(")) {
            int[] ps = decimalPrecisionScale(type);
            return decimal(ps[0], ps[1]);
        }
        if (type.startsWith("DateTime64(")) {
            long factor = microsFactor(type);
            return (out, v) -> out.writeLong(ticks((Long) v, factor));
        }
        return switch (type) {
            case "Int16" -> (out, v) -> out.writeShort(((Number) v).shortValue());
            case "Int32" -> (out, v) -> out.writeInt(((Number) v).intValue());
            // oid is read as a long within 0 .. 2^32-1, so UInt32 takes its low half
            case "UInt32" -> (out, v) -> out.writeInt((int) ((Number) v).longValue());
            case "Int64", "UInt64" -> (out, v) -> out.writeLong(((Number) v).longValue());
            // the CDC version (commit LSN and order in the transaction) and the tombstone flag
            case "UInt8" -> (out, v) -> out.writeByte(((Number) v).intValue());
            case "UInt128" -> (out, v) -> out.writeLittleEndian((BigInteger) v, 16);
            case "Int128" -> (out, v) -> out.writeLittleEndian(BigInteger.valueOf(((Number) v).longValue()), 16);
            case "Int256" -> (out, v) -> out.writeLittleEndian(BigInteger.valueOf(((Number) v).longValue()), 32);
            case "Float32" -> (out, v) -> out.writeInt(Float.floatToRawIntBits(((Number) v).floatValue()));
            case "Float64" -> (out, v) -> out.writeLong(Double.doubleToRawLongBits(((Number) v).doubleValue()));
            case "Bool" -> (out, v) -> out.writeByte((Boolean) v ? 1 : 0);
            // two little-endian UInt64 halves, the most significant first
            case "UUID" -> (out, v) -> {
                UUID uuid = (UUID) v;
                out.writeLong(uuid.getMostSignificantBits());
                out.writeLong(uuid.getLeastSignificantBits());
            };
            case "Date32" -> (out, v) -> out.writeInt((int) ((LocalDate) v).toEpochDay());
            // text, or a uuid or bool kept in a String column: its canonical text, as ClickHouse would cast it
            case "String" -> (out, v) -> out.writeString(v instanceof String text ? text : v.toString());
            default -> throw new SyncException("the loader cannot write ClickHouse columns of type " + type
                    + "; give the column the type the loader would create (see README, Types)");
        };
    }

    /**
     * Writes a raw {@link SourceRow} value of {@code source} into a column of {@code type} (neither
     * Nullable nor LowCardinality): straight from PostgreSQL's bytes where the column is what the loader
     * creates for that source type (or a plainly wider integer or float), through {@link PgWire#value} and
     * {@code plain} otherwise. Either way the bytes are those {@code plain} writes for the read value.
     */
    private static Encoder fromWire(SourceRow.Column source, String type, Encoder plain) {
        String column = source.name();
        Encoder exact = (out, v) -> plain.write(out, PgToClickHouse.value(source, (byte[]) v));
        if (!source.binary()) {
            // text the loader stores as it is: PostgreSQL sends UTF-8, which is what a String holds
            return type.equals("String") ? (out, v) -> out.writeBytes((byte[]) v) : exact;
        }
        String name = source.type().name();
        if (type.startsWith("Decimal(") && name.equals("numeric")) {
            int[] ps = decimalPrecisionScale(type);
            int width = decimalWidth(ps[0]);
            return (out, v) -> {
                long unscaled = PgWire.unscaled((byte[]) v, ps[0], ps[1]);
                if (unscaled == PgWire.NOT_A_LONG) {
                    exact.write(out, v);
                } else if (width == 4) {
                    out.writeInt((int) unscaled);
                } else {
                    out.writeSignExtended(unscaled, width);
                }
            };
        }
        if (type.startsWith("DateTime64(") && PgToClickHouse.isTimestamp(source.type())) {
            long factor = microsFactor(type);
            return factor == 1
                    ? (out, v) -> out.writeLong(PgToClickHouse.checkedMicros(column, (byte[]) v))
                    : (out, v) -> out.writeLong(ticks(PgToClickHouse.checkedMicros(column, (byte[]) v), factor));
        }
        return switch (name + " " + type) {
            case "int2 Int16" -> (out, v) -> out.writeShort(PgWire.int2((byte[]) v));
            case "int2 Int32" -> (out, v) -> out.writeInt(PgWire.int2((byte[]) v));
            case "int2 Int64" -> (out, v) -> out.writeLong(PgWire.int2((byte[]) v));
            case "int4 Int32" -> (out, v) -> out.writeInt(PgWire.int4((byte[]) v));
            case "int4 Int64" -> (out, v) -> out.writeLong(PgWire.int4((byte[]) v));
            case "int8 Int64" -> (out, v) -> out.writeLong(PgWire.int8((byte[]) v));
            // the same IEEE 754 bits, only in the other byte order
            case "float4 Float32" -> (out, v) -> out.writeInt(PgWire.int4((byte[]) v));
            case "float8 Float64" -> (out, v) -> out.writeLong(PgWire.int8((byte[]) v));
            case "bool Bool" -> (out, v) -> out.writeByte(((byte[]) v)[0] != 0 ? 1 : 0);
            case "date Date32" -> (out, v) -> out.writeInt(PgToClickHouse.checkedEpochDay(column, (byte[]) v));
            case "uuid UUID" -> (out, v) -> {
                out.writeLong(PgWire.int8((byte[]) v));
                out.writeLong(PgWire.uuidLow((byte[]) v));
            };
            default -> exact;
        };
    }

    /** A DateTime64 value in ticks of a finer column; DateTime64(9) ends in 2262, before PostgreSQL's values do. */
    private static long ticks(long micros, long factor) {
        long high = Math.multiplyHigh(micros, factor);
        long ticks = micros * factor;
        if ((high != 0 || ticks < 0) && (high != -1 || ticks >= 0)) {
            throw new ArithmeticException("a DateTime64(9) column ends at 2262-04-11 23:47:16 UTC");
        }
        return ticks;
    }

    private static int[] decimalPrecisionScale(String type) {
        String[] ps = inner(type).split(",");
        return new int[] {Integer.parseInt(ps[0].trim()), Integer.parseInt(ps[1].trim())};
    }

    private static int decimalWidth(int precision) {
        return precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32;
    }

    /** What a DateTime64 column's ticks are in microseconds (PgToClickHouse reads timestamps as microseconds). */
    private static long microsFactor(String type) {
        int precision = Integer.parseInt(inner(type).split(",")[0].trim());
        if (precision < 6 || precision > 9) {
            throw new SyncException("no exact RowBinary encoding of microseconds for a " + type + " column");
        }
        return (long) Math.pow(10, precision - 6);
    }

    /** Decimal(P, S): the unscaled value as a little-endian two's-complement integer of 4, 8, 16 or 32 bytes. */
    private static Encoder decimal(int precision, int scale) {
        int width = decimalWidth(precision);
        return (out, v) -> {
            // PgToClickHouse already refused values that do not fit, so this never rounds
            BigInteger unscaled = ((BigDecimal) v).setScale(scale, RoundingMode.UNNECESSARY).unscaledValue();
            if (width == 4) {
                out.writeInt(unscaled.intValueExact());
            } else if (width == 8) {
                out.writeLong(unscaled.longValueExact());
            } else {
                out.writeLittleEndian(unscaled, width);
            }
        };
    }

    private static String inner(String type) {
        return type.substring(type.indexOf('(') + 1, type.length() - 1);
    }

    /** A growable little-endian byte buffer; one per insert statement, reused batch after batch. */
    public static final class Buffer {
        private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
        private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
        private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

        private byte[] bytes = new byte[1 << 16];
        private int size;

        public byte[] bytes() {
            return bytes;
        }

        public int size() {
            return size;
        }

        void clear() {
            size = 0;
        }

        private void ensure(int more) {
            if (size + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }

        void writeByte(int b) {
            ensure(1);
            bytes[size++] = (byte) b;
        }

        void writeShort(short v) {
            ensure(2);
            SHORT.set(bytes, size, v);
            size += 2;
        }

        void writeInt(int v) {
            ensure(4);
            INT.set(bytes, size, v);
            size += 4;
        }

        void writeLong(long v) {
            ensure(8);
            LONG.set(bytes, size, v);
            size += 8;
        }

        /** A two's-complement integer of {@code width} bytes, least significant first. */
        void writeLittleEndian(BigInteger value, int width) {
            byte[] bigEndian = value.toByteArray();
            if (bigEndian.length > width) {
                throw new ArithmeticException(value + " does not fit " + width + " bytes");
            }
            byte sign = value.signum() < 0 ? (byte) -1 : 0;
            ensure(width);
            for (int i = 0; i < width; i++) {
                int from = bigEndian.length - 1 - i;
                bytes[size++] = from >= 0 ? bigEndian[from] : sign;
            }
        }

        /** A long as a little-endian two's-complement integer of {@code width} (8 or more) bytes. */
        void writeSignExtended(long v, int width) {
            ensure(width);
            LONG.set(bytes, size, v);
            Arrays.fill(bytes, size + 8, size + width, v < 0 ? (byte) -1 : 0);
            size += width;
        }

        /** Bytes that already are a String's UTF-8, with their length first. */
        void writeBytes(byte[] utf8) {
            writeVarInt(utf8.length);
            ensure(utf8.length);
            System.arraycopy(utf8, 0, bytes, size, utf8.length);
            size += utf8.length;
        }

        /** LEB128, as RowBinary prefixes lengths. */
        void writeVarInt(long v) {
            ensure(10);
            while ((v & ~0x7FL) != 0) {
                bytes[size++] = (byte) ((v & 0x7F) | 0x80);
                v >>>= 7;
            }
            bytes[size++] = (byte) v;
        }

        /** UTF-8 with its byte length first; ASCII, the common case, without an intermediate array. */
        void writeString(String s) {
            int length = s.length();
            ensure(length + 10);
            int start = size;
            // optimistic: assume ASCII, which needs exactly one byte per char and a length known upfront
            writeVarInt(length);
            int at = size;
            for (int i = 0; i < length; i++) {
                char c = s.charAt(i);
                if (c >= 0x80) {
                    size = start;
                    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
                    writeVarInt(utf8.length);
                    ensure(utf8.length);
                    System.arraycopy(utf8, 0, bytes, size, utf8.length);
                    size += utf8.length;
                    return;
                }
                bytes[at++] = (byte) c;
            }
            size = at;
        }
    }
}
