package io.pgchloader.postgres;

/**
 * A PostgreSQL column type as the loader sees it: the catalog name of the base type (domains resolved,
 * arrays as {@code _element}) and, for numeric, its declared precision and scale (0 and 0 when
 * unconstrained).
 */
public record PgType(String name, int precision, int scale) {

    public boolean isArray() {
        return name.startsWith("_");
    }

    public PgType element() {
        return new PgType(name.substring(1), precision, scale);
    }

    /** Precision and scale from a numeric type modifier, as PostgreSQL encodes them. */
    public static PgType numeric(String name, int typmod) {
        if (typmod < 4) {
            return new PgType(name, 0, 0);
        }
        int packed = typmod - 4;
        return new PgType(name, (packed >> 16) & 0xffff, packed & 0xffff);
    }
}
