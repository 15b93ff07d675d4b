package io.pgchloader;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.pgchloader.common.Room;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The layout stays as the package-infos declare it: each room imports only the rooms its {@link Room}
 * names. The rules come from those declarations, so changing what a room may use is an edit there, in
 * sight of the reason written beside it.
 */
class ArchitectureTest {

    private static final String BASE = "io.pgchloader";
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(BASE);

    @Test
    void every_package_declares_what_it_may_use() {
        List<String> undeclared = rooms().stream().filter(room -> declared(room) == null).toList();
        assertEquals(List.of(), undeclared, "packages without @Room in their package-info.java");
    }

    @Test
    void no_package_imports_what_its_package_info_does_not_allow() {
        for (String room : rooms()) {
            Set<String> forbidden = new TreeSet<>(rooms());
            forbidden.remove(room);
            forbidden.removeAll(Set.of(declared(room).mayUse()));
            if (forbidden.isEmpty()) {
                continue;
            }
            String[] packages = forbidden.stream().map(ArchitectureTest::packagePattern).toArray(String[]::new);
            noClasses().that().resideInAPackage(packagePattern(room))
                    .should().dependOnClassesThat().resideInAnyPackage(packages)
                    .because("the package-info of " + packageOf(room) + " allows only " + Set.of(declared(room).mayUse()))
                    .check(MAIN);
        }
    }

    @Test
    void neither_side_of_the_pipe_knows_the_cycle_and_they_meet_in_one_direction() {
        Set<String> postgres = Set.of(declared("postgres").mayUse());
        Set<String> clickhouse = Set.of(declared("clickhouse").mayUse());
        assertTrue(!postgres.contains("cycle") && !clickhouse.contains("cycle"), "a side may not use the cycle");
        assertTrue(!(postgres.contains("clickhouse") && clickhouse.contains("postgres")),
                "the PostgreSQL and the ClickHouse side may use each other in one direction at most");
    }

    @Test
    void no_room_holds_most_of_the_code() {
        Map<String, Integer> sizes = new TreeMap<>();
        for (JavaClass c : MAIN) {
            if (c.getSource().isPresent()) {
                sizes.merge(roomOf(c), 1, Integer::sum);
            }
        }
        int total = sizes.values().stream().mapToInt(Integer::intValue).sum();
        List<String> large = new ArrayList<>();
        sizes.forEach((room, classes) -> {
            if (classes > total * 0.35) {
                large.add(room + " (" + classes + " of " + total + " classes)");
            }
        });
        assertEquals(List.of(), large, "rooms holding more than 35 % of the classes");
    }

    /** The loader's packages by last name, "app" for the base package itself. */
    private static Set<String> rooms() {
        return MAIN.stream().map(ArchitectureTest::roomOf).collect(Collectors.toCollection(TreeSet::new));
    }

    private static String roomOf(JavaClass c) {
        String name = c.getPackageName();
        if (name.equals(BASE)) {
            return "app";
        }
        String rest = name.substring(BASE.length() + 1);
        int dot = rest.indexOf('.');
        return dot < 0 ? rest : rest.substring(0, dot);
    }

    private static String packageOf(String room) {
        return room.equals("app") ? BASE : BASE + "." + room;
    }

    private static String packagePattern(String room) {
        return room.equals("app") ? BASE : BASE + "." + room + "..";
    }

    private static Room declared(String room) {
        try {
            Class<?> info = Class.forName(packageOf(room) + ".package-info");
            return info.getAnnotation(Room.class);
        } catch (ClassNotFoundException e) {
            return null;
        }
    }
}
