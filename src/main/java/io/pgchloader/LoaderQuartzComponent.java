package io.pgchloader;

import io.pgchloader.common.CronSchedule;
import java.util.Map;
import org.apache.camel.Endpoint;
import org.apache.camel.component.quartz.QuartzComponent;

/**
 * Camel's Quartz component, taking a table's {@code cron} in crontab's five fields as well as Quartz's
 * own (see {@link CronSchedule}). Bound as {@code quartz}, so the template's {@code quartz:} endpoints
 * use it; the values were checked before Camel started (RouteFiles).
 */
final class LoaderQuartzComponent extends QuartzComponent {

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        Object cron = parameters.get("cron");
        if (cron != null) {
            // Quartz's component reads '+' as a space (URI encoding); so does the conversion
            parameters.put("cron", CronSchedule.toQuartz(cron.toString().replace('+', ' ')));
        }
        return super.createEndpoint(uri, remaining, parameters);
    }
}
