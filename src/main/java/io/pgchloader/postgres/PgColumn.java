package io.pgchloader.postgres;

/** One column of a source table, from the PostgreSQL catalog, in table order. */
public record PgColumn(String name, PgType type, boolean notNull) {
}
