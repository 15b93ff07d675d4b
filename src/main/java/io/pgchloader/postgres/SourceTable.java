package io.pgchloader.postgres;

import io.pgchloader.common.LogText;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A PostgreSQL table as the catalog describes it: columns in order, its primary key, and the columns
 * some index starts with.
 */
public record SourceTable(String schema, String table, List<PgColumn> columns, List<String> primaryKey,
                          Set<String> indexLeadingColumns) {

    public Optional<PgColumn> column(String name) {
        return columns.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    public List<String> columnNames() {
        return columns.stream().map(PgColumn::name).toList();
    }

    /** For messages and log lines only, escaped: a name may hold line breaks. */
    public String qualifiedName() {
        return LogText.escape(schema + "." + table);
    }
}
