package io.pgchloader.common;

import java.text.ParseException;
import java.time.Instant;
import java.util.Date;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.quartz.CronExpression;

/**
 * A table's {@code cron} parameter: Quartz's six or seven fields (seconds first), or the five fields of a
 * crontab line, which every crontab user types and Quartz refuses. A five-field expression becomes the
 * Quartz one that fires at the same minutes:
 * <ul>
 *   <li>a seconds field {@code 0} goes in front ({@code *}{@code /30 * * * *} becomes {@code 0 *}{@code /30 * * * ?});</li>
 *   <li>Quartz wants {@code ?} in day-of-month or day-of-week: a {@code *} day-of-week becomes {@code ?}, else a
 *   {@code *} day-of-month does; crontab's "either day matches" when both are restricted has no Quartz form
 *   and is refused;</li>
 *   <li>day-of-week numbers are crontab's (0 and 7 Sunday, 1 Monday), written as names for Quartz (whose 1 is
 *   Sunday);</li>
 *   <li>{@code @hourly}, {@code @daily} (or {@code @midnight}), {@code @weekly}, {@code @monthly},
 *   {@code @yearly} (or {@code @annually}) as in crontab.</li>
 * </ul>
 */
public final class CronSchedule {

    /** What a refusal suggests: one example of each form that works. */
    public static final String EXAMPLES = "five fields as in crontab, e.g. \"*/30 * * * *\" (every 30 minutes),"
            + " or Quartz's six with seconds first, e.g. \"0 0/30 * * * ?\"";

    private static final Map<String, String> MACROS = Map.of("@hourly", "0 * * * *", "@daily", "0 0 * * *",
            "@midnight", "0 0 * * *", "@weekly", "0 0 * * 0", "@monthly", "0 0 1 * *", "@yearly", "0 0 1 1 *",
            "@annually", "0 0 1 1 *");
    private static final String[] DAY_NAMES = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};
    /** A number in a day-of-week field that is not a step ({@code /2}). */
    private static final Pattern DAY_NUMBER = Pattern.compile("(?<![/0-9])([0-9]+)");

    private final String quartz;
    private final CronExpression expression;

    private CronSchedule(String quartz, CronExpression expression) {
        this.quartz = quartz;
        this.expression = expression;
    }

    /**
     * Parses an expression in either form.
     *
     * @throws IllegalArgumentException with the reason, in words, when it is neither
     */
    public static CronSchedule parse(String text) {
        String quartz = toQuartz(text);
        try {
            return new CronSchedule(quartz, new CronExpression(quartz));
        } catch (ParseException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    /** The Quartz form of an expression: a Quartz one unchanged, a crontab one converted (see the class comment). */
    public static String toQuartz(String text) {
        String trimmed = text == null ? "" : text.strip();
        String macro = MACROS.get(trimmed.toLowerCase(Locale.ROOT));
        if (macro != null) {
            trimmed = macro;
        } else if (trimmed.startsWith("@")) {
            throw new IllegalArgumentException("unknown shorthand " + trimmed + " (known: @hourly, @daily, @weekly, @monthly, @yearly)");
        }
        String[] fields = trimmed.split("\\s+");
        if (fields.length != 5) {
            return trimmed;
        }
        String dayOfMonth = fields[2];
        String dayOfWeek = dayNames(fields[4]);
        if (dayOfWeek.equals("*")) {
            dayOfWeek = "?";
        } else if (dayOfMonth.equals("*")) {
            dayOfMonth = "?";
        } else {
            throw new IllegalArgumentException("it restricts both day of month (" + fields[2] + ") and day of week ("
                    + fields[4] + "), which crontab reads as either and Quartz cannot express; keep one of them '*'");
        }
        return "0 " + fields[0] + " " + fields[1] + " " + dayOfMonth + " " + fields[3] + " " + dayOfWeek;
    }

    private static String dayNames(String field) {
        if (field.equals("*")) {
            return field;
        }
        Matcher m = DAY_NUMBER.matcher(field);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            int day = Integer.parseInt(m.group(1));
            if (day > 7) {
                throw new IllegalArgumentException("day of week " + day + " is out of range (0 to 7, 0 and 7 being Sunday)");
            }
            m.appendReplacement(out, DAY_NAMES[day]);
        }
        m.appendTail(out);
        return out.toString();
    }

    /** The expression Quartz is given. */
    public String quartz() {
        return quartz;
    }

    /** The first fire after the given moment, or null when there is none (a year in the past). */
    public Instant nextFireAfter(Instant moment) {
        Date next = expression.getNextValidTimeAfter(Date.from(moment));
        return next == null ? null : next.toInstant();
    }
}
