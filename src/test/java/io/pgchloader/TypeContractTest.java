package io.pgchloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgchloader.cycle.SyncStatus;
import io.pgchloader.support.LoaderFixture;
import io.pgchloader.support.LoaderTestBase;
import io.pgchloader.support.TestDatabases;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The type contract, checked value by value against an independent reference: ClickHouse's own
 * {@code postgresql()} table function reads the same PostgreSQL table, and every column the loader
 * wrote must equal what that reference reads. Where the reference cannot read a type, PostgreSQL's own
 * text rendering is the reference.
 */
class TypeContractTest extends LoaderTestBase {

    static final String DDL = """
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
            CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
            CREATE SCHEMA "Type Lab";
            CREATE TABLE "Type Lab"."Every Type" (
                id serial,
                "select" integer NOT NULL DEFAULT 7,
                c_smallint smallint, c_integer integer, c_bigint bigint, c_bigserial bigserial,
                c_numeric numeric(38, 10), c_money_like numeric(12, 2), c_numeric_free numeric,
                c_real real, c_double double precision, c_boolean boolean,
                c_char char(5), c_varchar varchar(20), c_text text, c_uuid uuid,
                c_date date, c_time time, c_timestamp timestamp, c_timestamptz timestamptz, c_interval interval,
                c_json json, c_jsonb jsonb, c_bytea bytea, c_inet inet, c_cidr cidr, c_mood mood,
                c_positive positive_int, c_email email,
                c_int_array integer[], c_text_array text[], c_numeric_array numeric(10, 2)[], c_bool_array boolean[],
                c_uuid_array uuid[],
                created_at timestamp NOT NULL DEFAULT '2024-01-01 00:00:00', updated_at timestamp,
                PRIMARY KEY (id, "select")
            );
            """;

    static final String ROWS = """
            INSERT INTO "Type Lab"."Every Type" (c_smallint, c_integer, c_bigint, c_numeric, c_money_like, c_numeric_free, c_real, c_double,
                c_boolean, c_char, c_varchar, c_text, c_uuid, c_date, c_time, c_timestamp, c_timestamptz, c_interval,
                c_json, c_jsonb, c_bytea, c_inet, c_cidr, c_mood, c_positive, c_email,
                c_int_array, c_text_array, c_numeric_array, c_bool_array, c_uuid_array) VALUES
            (-32768, -2147483648, -9223372036854775808, -9999999999999999999999999999.9999999999, -9999999999.99,
             -12345678901234567890.12345678901234567890123456789012345678, -3.4028235e38, -1.7976931348623157e308,
             false, 'ab', '', E'quote '' double " backslash \\\\ newline \\n tab \\t', '00000000-0000-0000-0000-000000000000',
             '1900-01-01', '00:00:00', '1900-01-01 00:00:00', '1900-01-01 00:00:00+00', '-1 day -00:00:01',
             '{"a": [1, 2, {"b": null}]}', '{"z": 1, "a": "x"}', '\\x00ff10', '192.168.0.1/24', '10.0.0.0/8', 'sad', 1, 'a@b',
             '{1,NULL,-3}', '{"x",NULL,"",  "with, comma"}', '{1.50,NULL}', '{true,false,NULL}', '{00000000-0000-0000-0000-000000000001}'),
            (32767, 2147483647, 9223372036854775807, 9999999999999999999999999999.9999999999, 9999999999.99,
             0.00000000000000000000000000000000000001, 'NaN', 'Infinity', true, 'abcde', 'ünïcødé ✓ 🐘',
             '日本語 עברית العربية 👩‍👩‍👧', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '2299-12-31', '23:59:59.999999',
             '2299-12-31 23:59:59.999999', '2299-12-31 23:59:59.999999+00', '1 year 2 mons 3 days 04:05:06.789',
             '[]', '[]', '\\x', '::1', '2001:db8::/32', 'happy', 2147483647, 'ü@ß.de',
             '{}', '{}', '{}', '{}', '{}'),
            (0, 0, 0, 0, 0, 0, 0, '-Infinity', NULL, NULL, NULL, NULL, NULL, '1969-07-20', NULL, '1969-12-31 23:59:59.999999',
             '1970-01-01 00:00:00.000001+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
             NULL, NULL, NULL, NULL, NULL),
            (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
            """;

    /** Columns ClickHouse's postgresql() reads, and how both sides are rendered for comparison. */
    static final Map<String, String> RENDER = new LinkedHashMap<>();

    static {
        for (String c : List.of("c_smallint", "c_integer", "c_bigint", "c_bigserial", "c_real", "c_double",
                "c_char", "c_varchar", "c_text", "c_uuid", "c_date", "c_json", "c_jsonb", "c_inet", "c_cidr", "c_mood",
                "c_positive", "c_email", "c_int_array", "c_text_array", "c_uuid_array")) {
            RENDER.put(c, "toString(" + c + ")");
        }
        // decimals: the same number, whatever scale the reference gives it
        for (String c : List.of("c_numeric", "c_money_like")) {
            RENDER.put(c, "toString(toDecimal256(" + c + ", 38))");
        }
        RENDER.put("c_numeric_array", "toString(arrayMap(x -> toDecimal64OrNull(toString(x), 2), " + "c_numeric_array))");
        RENDER.put("c_bytea", "c_bytea");
        // the reference reads booleans as 0/1
        RENDER.put("c_boolean", "toString(toUInt8(c_boolean))");
        RENDER.put("c_bool_array", "toString(arrayMap(x -> toUInt8(x), c_bool_array))");
        RENDER.put("c_timestamp", "toString(toUnixTimestamp64Micro(c_timestamp))");
        RENDER.put("c_timestamptz", "toString(toUnixTimestamp64Micro(c_timestamptz))");
    }

    /**
     * What the reference cannot read (time and interval; unconstrained numeric beyond its Decimal(38, 19)):
     * compared with PostgreSQL's own text form instead.
     */
    static final Map<String, String> PG_TEXT = Map.of(
            "c_time", "c_time::text",
            "c_interval", "c_interval::text",
            "c_numeric_free", "c_numeric_free::text");

    @Test
    void every_value_arrives_exactly_as_the_postgresql_table_function_reads_it() throws Exception {
        // a quoted mixed-case schema and table, a composite key with a reserved word in it
        loader = new LoaderFixture(tmp).withRoutes("types.yaml", LoaderFixture.templatedRoute("sync-types",
                "schema", "Type Lab", "table", "Every Type", "targetTable", "every_type"));
        for (String statement : DDL.split(";\\s*\\n")) {
            if (!statement.isBlank()) {
                loader.pg(statement);
            }
        }
        loader.pg(ROWS);
        loader.start();

        SyncStatus.Outcome outcome = loader.cycle("sync-types");
        assertTrue(outcome.succeeded(), outcome.message());
        assertEquals(4, outcome.rowsCreated());

        String reference = "postgresql('127.0.0.1:" + TestDatabases.servers().postgresPort() + "', '" + loader.database
                + "', 'Every Type', 'postgres', '', 'Type Lab')";
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, String> column : RENDER.entrySet()) {
            String render = column.getValue();
            List<String> expected = loader.chRows("SELECT id, " + render + " FROM " + reference + " ORDER BY id");
            List<String> actual = loader.chRows("SELECT id, " + render + " FROM every_type FINAL ORDER BY id");
            if (!expected.equals(actual)) {
                differences.add(column.getKey() + ": reference " + expected + " but loaded " + actual);
            }
        }
        for (Map.Entry<String, String> column : PG_TEXT.entrySet()) {
            List<String> expected = loader.pgRows("SELECT id, coalesce(" + column.getValue() + ", '\\N') FROM \"Type Lab\".\"Every Type\" ORDER BY id");
            List<String> actual = loader.chRows("SELECT id, ifNull(toString(" + column.getKey() + "), '\\\\N') FROM every_type FINAL ORDER BY id");
            if (!expected.equals(actual)) {
                differences.add(column.getKey() + ": PostgreSQL " + expected + " but loaded " + actual);
            }
        }
        assertEquals(List.of(), differences);
        assertEquals(List.of("id, `select`"), loader.chRows("SELECT sorting_key FROM system.tables"
                + " WHERE database = currentDatabase() AND name = 'every_type'"));
        assertEquals(List.of("c_smallint | Nullable(Int16)", "c_bigserial | Int64", "c_numeric | Nullable(Decimal(38, 10))",
                        "c_numeric_free | Nullable(Decimal(76, 38))", "c_date | Nullable(Date32)",
                        "c_timestamptz | Nullable(DateTime64(6, 'UTC'))", "c_positive | Nullable(Int32)", "c_email | Nullable(String)",
                        "c_numeric_array | Array(Nullable(Decimal(10, 2)))"),
                loader.chRows("SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'every_type'"
                        + " AND name IN ('c_smallint', 'c_bigserial', 'c_numeric', 'c_numeric_free', 'c_date', 'c_timestamptz',"
                        + " 'c_positive', 'c_email', 'c_numeric_array') ORDER BY position"));
    }
}
