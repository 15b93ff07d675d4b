package io.pgchloader.demo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;

/** Runs the schema files of {@code sql/} (packaged in the jar) statement by statement. */
public final class SqlScripts {

    private SqlScripts() {
    }

    public static String read(String resource) {
        try (InputStream in = SqlScripts.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the classpath; rebuild with mvn package");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + resource, e);
        }
    }

    /** Statements of a script: comments dropped, split at semicolons that end a line. */
    public static List<String> statements(String script) {
        String withoutComments = script.lines()
                .map(l -> l.strip().startsWith("--") ? "" : l)
                .reduce("", (a, b) -> a + b + "\n");
        return Arrays.stream(withoutComments.split(";\\s*\n"))
                .map(String::strip)
                .filter(s -> !s.isEmpty())
                .toList();
    }

    public static void run(Connection connection, String resource) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            for (String sql : statements(read(resource))) {
                statement.execute(sql);
            }
        }
    }
}
