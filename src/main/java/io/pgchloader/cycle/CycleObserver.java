package io.pgchloader.cycle;

import java.time.Duration;

/**
 * Told about every cycle of every table when it ends, successfully or not (metrics, for example). Any
 * bean of this type in the Camel registry is called by {@link TableSync}; an observer that throws is
 * logged and never fails the cycle.
 */
public interface CycleObserver {

    /**
     * @param routeId   the table's route
     * @param table     {@code schema.table} in PostgreSQL, as the templatedRoute names it
     * @param succeeded whether the cycle completed
     * @param took      from the cycle's start (the Quartz fire) to its end
     * @param cycle     what the cycle shipped and its watermarks; null when it failed before reading any
     */
    void cycleEnded(String routeId, String table, boolean succeeded, Duration took, SyncCycle cycle);
}
