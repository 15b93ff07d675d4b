package io.pgchloader.cycle;

import io.pgchloader.clickhouse.PgToClickHouse;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How far up ClickHouse's rows may be taken for each stream's watermark while rows stamped in the future
 * sit in the target. Kept in one line of the target table's comment, because ClickHouse is where all of
 * a table's progress lives (a {@code --once} run starts with nothing else).
 *
 * <p>Why it is needed: a future row is copied at once, but its time comes later. From then on it is
 * just a row below the write horizon, and {@code max(created)} would take it for how far the stream got,
 * skipping every row written between the last cycle and it. So while such rows are in the target, the
 * watermark is taken only from rows below the limit, and below the limit ClickHouse holds a prefix of the
 * stream, as everywhere without future rows:
 * <ul>
 *   <li>a stream sets its limit to its window's upper bound (the write horizon) before it copies its
 *   first future row, if it has none yet: every future row is above it, the window's rows below it go
 *   in in order;</li>
 *   <li>once the stream's whole window is in, every row below the horizon is in ClickHouse, so the limit
 *   moves up to the horizon; it goes away once ClickHouse holds no row of the stream at or above it.</li>
 * </ul>
 * A cycle that dies between the two steps leaves the older limit, which is lower: the next cycle reads
 * a little more again, never less.
 *
 * @param created limit of the created stream in microseconds as ClickHouse stores the column, or null
 * @param updated limit of the updated stream, or null
 */
public record WatermarkLimits(Long created, Long updated) {

    static final WatermarkLimits NONE = new WatermarkLimits(null, null);

    /** Every line of a comment the loader writes starts so; the other lines are the user's. */
    static final String LOADER_LINE = "pg-ch-loader: ";
    private static final String LINE = LOADER_LINE + "rows stamped in the future are copied ahead of the watermarks,"
            + " which are taken below: created %s, updated %s";
    private static final Pattern PARSE = Pattern.compile(Pattern.quote(LOADER_LINE + "rows stamped in the future are copied"
            + " ahead of the watermarks, which are taken below: created ") + "(-|\\S+ \\S+), updated (-|\\S+ \\S+)");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    /** The limits a target's comment holds; none when it holds no such line. */
    public static WatermarkLimits in(String comment) {
        for (String line : lines(comment)) {
            Matcher m = PARSE.matcher(line);
            if (m.matches()) {
                return new WatermarkLimits(parse(m.group(1)), parse(m.group(2)));
            }
        }
        return NONE;
    }

    /** A comment without the lines the loader wrote (limits, a backfill in progress): what is the user's. */
    static String userText(String comment) {
        List<String> kept = new ArrayList<>();
        for (String line : lines(comment)) {
            if (!line.startsWith(LOADER_LINE)) {
                kept.add(line);
            }
        }
        return String.join("\n", kept);
    }

    Long of(SyncCycle.Stream stream) {
        return stream == SyncCycle.Stream.created ? created : stream == SyncCycle.Stream.updated ? updated : null;
    }

    WatermarkLimits with(SyncCycle.Stream stream, Long limit) {
        return stream == SyncCycle.Stream.created ? new WatermarkLimits(limit, updated) : new WatermarkLimits(created, limit);
    }

    boolean isEmpty() {
        return created == null && updated == null;
    }

    /** The comment to write: the user's lines kept, this line in place of the previous one, or gone when empty. */
    String comment(String previous) {
        String user = userText(previous);
        if (isEmpty()) {
            return user;
        }
        String line = String.format(LINE, show(created), show(updated));
        return user.isEmpty() ? line : user + "\n" + line;
    }

    private static List<String> lines(String comment) {
        return comment == null || comment.isEmpty() ? List.of() : List.of(comment.split("\n", -1));
    }

    private static Long parse(String text) {
        return text.equals("-") ? null
                : PgToClickHouse.microsOf(LocalDateTime.parse(text, TIME).toInstant(ZoneOffset.UTC));
    }

    private static String show(Long micros) {
        return micros == null ? "-" : TIME.format(LocalDateTime.ofInstant(PgToClickHouse.instantOfMicros(micros), ZoneOffset.UTC));
    }
}
