package io.pgchloader.verify;

import java.util.Map;

/** A table route's parameters, as its templatedRoute gives them (the template's defaults filled in). */
record VerifiedTable(String routeId, String schema, String table, String targetTable, String primaryKey,
                     String createdColumn, String updatedColumn, String softDeleteColumn) {

    static VerifiedTable of(String routeId, Map<String, Object> parameters) {
        String table = text(parameters, "table", "");
        String target = text(parameters, "targetTable", "");
        return new VerifiedTable(routeId, text(parameters, "schema", "public"), table, target.isBlank() ? table : target,
                text(parameters, "primaryKey", ""), text(parameters, "createdColumn", "created_at"),
                text(parameters, "updatedColumn", "updated_at"), text(parameters, "softDeleteColumn", ""));
    }

    /** A CDC table: no timestamp columns. */
    static VerifiedTable cdc(String routeId, String schema, String table, String targetTable) {
        return new VerifiedTable(routeId, schema, table, targetTable, "", "", "", "");
    }

    private static String text(Map<String, Object> parameters, String name, String fallback) {
        Object value = parameters.get(name);
        return value == null ? fallback : value.toString();
    }

    String qualifiedName() {
        return schema + "." + table;
    }
}
