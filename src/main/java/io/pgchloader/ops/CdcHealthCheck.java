package io.pgchloader.ops;

import io.pgchloader.cdc.CdcStatus;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.camel.health.HealthCheckResultBuilder;

/**
 * Readiness check {@code cdc}: DOWN while the CDC stream lags more than CDC_MAX_LAG_SECONDS behind
 * PostgreSQL's commits. Unlike a failing watermark table, a lagging stream is the loader's whole CDC side
 * (one slot serves every CDC table), and the slot's WAL grows meanwhile: worth taking out of service and
 * alerting on. The message tells the lag and the limit, never where the databases are, and names the tables the
 * stream stopped applying (UP all the same: the others go on, as with a failing watermark table).
 */
final class CdcHealthCheck extends ReadinessCheck {

    private final CdcStatus status;
    private final long maxLagSeconds;
    private final UnaryOperator<String> mask;

    /** @param mask removes configured secrets from a message, which may quote a driver's */
    CdcHealthCheck(CdcStatus status, long maxLagSeconds, UnaryOperator<String> mask) {
        super("cdc");
        this.status = status;
        this.maxLagSeconds = maxLagSeconds;
        this.mask = mask;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        if (status.standingBy()) {
            // the other loader streams the slot; this one is ready to take it over, as a watermark standby is
            builder.message("slot " + status.slot() + " is read by another loader: standing by");
            builder.up();
            return;
        }
        double lag = status.lagSeconds();
        builder.detail("cdc.lag.seconds", Math.round(lag));
        builder.detail("cdc.max.lag.seconds", maxLagSeconds);
        builder.detail("cdc.confirmed.lsn", CdcStatus.lsn(status.confirmedLsn()));
        String text = String.format("slot %s lags %.0f s behind PostgreSQL's commits (CDC_MAX_LAG_SECONDS %d)", status.slot(),
                lag, maxLagSeconds);
        // a stopped table is told, not DOWN: taking the loader out of service would stop the other tables too
        for (String routeId : status.stoppedRoutes()) {
            String reason = mask.apply(status.stopped(routeId));
            builder.detail("cdc.stopped." + routeId, reason);
            text += "; " + routeId + " stopped (restart once fixed): " + reason;
        }
        builder.message(text);
        if (lag > maxLagSeconds) {
            builder.down();
        } else {
            builder.up();
        }
    }
}
