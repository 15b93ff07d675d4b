package io.pgchloader.sync;

import java.util.List;
import java.util.Optional;

/** A PostgreSQL table as the catalog describes it: columns in order and its primary key. */
public record SourceTable(String schema, String table, List<PgColumn> columns, List<String> primaryKey) {

    public Optional<PgColumn> column(String name) {
        return columns.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    public List<String> columnNames() {
        return columns.stream().map(PgColumn::name).toList();
    }

    public String qualifiedName() {
        return schema + "." + table;
    }
}
