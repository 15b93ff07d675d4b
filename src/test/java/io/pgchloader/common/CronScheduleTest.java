package io.pgchloader.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** A table's cron: Quartz's own expressions pass unchanged, crontab's five fields fire at the same minutes. */
class CronScheduleTest {

    @Test
    void a_quartz_expression_is_taken_as_it_is() {
        assertEquals("0 0/30 * * * ?", CronSchedule.parse("0 0/30 * * * ?").quartz());
        assertEquals("0 15 10 ? * MON-FRI 2030", CronSchedule.parse("0 15 10 ? * MON-FRI 2030").quartz());
    }

    @Test
    void five_crontab_fields_get_seconds_zero_and_a_question_mark_for_the_unrestricted_day() {
        assertEquals("0 */30 * * * ?", CronSchedule.parse("*/30 * * * *").quartz());
        assertEquals("0 0 3 1 * ?", CronSchedule.parse("0 3 1 * *").quartz());
        assertEquals("0 0 8 ? * MON-FRI", CronSchedule.parse("0 8 * * 1-5").quartz());
        assertEquals("0 0 0 ? * SUN", CronSchedule.parse("0 0 * * 0").quartz());
        assertEquals("0 0 0 ? * SUN", CronSchedule.parse("0 0 * * 7").quartz());
        assertEquals("0 0 0 ? * SUN/2", CronSchedule.parse("0 0 * * 0/2").quartz(), "a step stays a number");
        assertEquals("0 0 * * * ?", CronSchedule.parse("@hourly").quartz());
    }

    @Test
    void a_converted_expression_fires_at_the_minutes_crontab_would() {
        CronSchedule every30 = CronSchedule.parse("*/30 * * * *");
        assertEquals(Instant.parse("2030-01-01T10:30:00Z"), every30.nextFireAfter(Instant.parse("2030-01-01T10:12:34Z")));
        // 2030-01-05 is a Saturday: weekdays at 08:00 next fire on Monday the 7th
        CronSchedule weekdays = CronSchedule.parse("0 8 * * 1-5");
        Instant next = weekdays.nextFireAfter(Instant.parse("2030-01-05T12:00:00Z"));
        assertTrue(next.toString().startsWith("2030-01-07T"), next.toString());
    }

    @Test
    void refuses_both_day_fields_restricted_and_says_why() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CronSchedule.parse("0 0 1 * 1"));
        assertTrue(e.getMessage().contains("both day of month (1) and day of week (1)"), e.getMessage());
    }

    @Test
    void refuses_what_is_no_schedule_in_either_form() {
        for (String bad : new String[] {"not a cron", "*/30 * * *", "61 * * * *", "0 0 * * 8", "@sometimes", ""}) {
            assertThrows(IllegalArgumentException.class, () -> CronSchedule.parse(bad), bad);
        }
    }
}
