package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderProcess;
import io.pgchloader.support.LoaderTestBase;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A row larger than the heap can carry: the table stops with one line that says so, the others go on.
 * Heavy (a 250 MB value in PostgreSQL), so only run when asked: {@code mvn verify -Dtest.excludedGroups=}.
 */
@Tag("heavy")
class HugeRowTest extends LoaderTestBase {

    @Test
    void a_row_too_large_for_the_heap_stops_its_table_with_one_line_and_the_other_tables_go_on() throws Exception {
        loader = new LoaderFixture(tmp).withRoutes("tables.yaml",
                LoaderFixture.templatedRoute("sync-blobs", "table", "blobs")
                        + LoaderFixture.templatedRoute("sync-small", "table", "small"));
        // more rows than one fetch ahead of it, so the huge one arrives on the reading thread mid-stream
        loader.pg("CREATE TABLE blobs (id int PRIMARY KEY, body text, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz)",
                "INSERT INTO blobs (id, body) SELECT g, 'small' FROM generate_series(1, 20000) g",
                "INSERT INTO blobs (id, body) VALUES (20001, repeat('x', 250000000))",
                "CREATE TABLE small (id int PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz)",
                "INSERT INTO small (id) SELECT g FROM generate_series(1, 5) g");

        process = LoaderProcess.start(Files.createDirectories(tmp.resolve("work")), loader.environment(), List.of("-Xmx128m"),
                "--once");
        int exit = process.awaitExit(Duration.ofSeconds(120));

        String output = process.output();
        assertEquals(1, exit, output);
        List<String> errors = process.errorLines();
        assertEquals(1, errors.size(), output);
        assertTrue(errors.get(0).contains("public.blobs: a row does not fit the loader's heap (")
                && errors.get(0).contains("it comes shortly after id = ") && errors.get(0).contains("(128 MB)"), errors.get(0));
        assertEquals(5, loader.chLong("SELECT count() FROM small FINAL"), "the other table went on");
    }
}
