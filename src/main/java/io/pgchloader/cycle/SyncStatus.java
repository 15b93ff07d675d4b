package io.pgchloader.cycle;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The outcome of the last cycle of every table route, for {@code --once}, the demo and operators. */
public class SyncStatus {

    public record Outcome(String routeId, boolean succeeded, String message, long rowsCreated, long rowsUpdated,
                          long batches, Instant finishedAt) {
    }

    private final Map<String, Outcome> outcomes = new ConcurrentHashMap<>();

    public void record(Outcome outcome) {
        outcomes.put(outcome.routeId(), outcome);
    }

    public Outcome last(String routeId) {
        return outcomes.get(routeId);
    }

    public void clear(String routeId) {
        outcomes.remove(routeId);
    }
}
