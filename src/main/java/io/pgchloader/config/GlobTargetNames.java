package io.pgchloader.config;

import io.pgchloader.common.LogText;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * Target tables whose names hold {@code *}, {@code ?}, {@code {} or {@code }}: a ClickHouse server
 * takes them as names, but ClickHouse's local engine (clickhouse-local, chDB, the tests' embedded
 * ClickHouse) lays a Filesystem database over its {@code default} database (engine {@code Overlay}),
 * which reads such a name as a glob of file paths. There the CREATE TABLE or every INSERT fails with
 * CANNOT_EXTRACT_TABLE_STRUCTURE, cycle after cycle; this stops the loader at start instead, naming the route.
 */
public final class GlobTargetNames {

    /** What ClickHouse's file globs are made of (file() table function: *, **, ?, {a,b}, {N..M}). */
    static final Pattern GLOB = Pattern.compile("[*?{}]");

    private GlobTargetNames() {
    }

    /**
     * Asks ClickHouse for the engine of {@code CLICKHOUSE_DB} once, and only when some target name has
     * a glob character; an unreachable ClickHouse is left to the cycles to report.
     */
    public static void check(List<RouteFiles.TemplatedRoute> routes, DataSource clickHouse, String database) {
        List<RouteFiles.TemplatedRoute> globbed = routes.stream().filter(r -> GLOB.matcher(r.targetTable()).find()).toList();
        if (globbed.isEmpty()) {
            return;
        }
        String engine;
        try (Connection connection = clickHouse.getConnection(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT engine FROM system.databases WHERE name = currentDatabase()")) {
            engine = rs.next() ? rs.getString(1) : "";
        } catch (SQLException e) {
            return;
        }
        if (!engine.equals("Overlay")) {
            return;
        }
        StringBuilder message = new StringBuilder();
        for (RouteFiles.TemplatedRoute route : globbed) {
            String parameter = route.parameters().getOrDefault("targetTable", "").isEmpty() ? "table" : "targetTable";
            message.append("route ").append(route.routeId()).append(": the ClickHouse table name '")
                    .append(LogText.escape(route.targetTable())).append("' (parameter ").append(parameter)
                    .append(") holds * ? { or }, which ClickHouse's local engine reads as a file glob in CLICKHOUSE_DB ")
                    .append(database).append(" (engine Overlay, the default database of clickhouse-local and chDB), so every"
                    + " INSERT would fail. Set targetTable to a name without these characters, or set CLICKHOUSE_DB to a"
                    + " database created for the loader (CREATE DATABASE ...), where such names work as on a ClickHouse server. ");
        }
        throw new ConfigurationException(message.toString().strip());
    }
}
