package io.pgchloader.ops;

import org.apache.camel.impl.health.AbstractHealthCheck;

/** A check that readiness asks and liveness never does: what it finds is not cured by a restart. */
abstract class ReadinessCheck extends AbstractHealthCheck {

    ReadinessCheck(String id) {
        super("pg-ch-loader", id);
    }

    @Override
    public boolean isReadiness() {
        return true;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }
}
