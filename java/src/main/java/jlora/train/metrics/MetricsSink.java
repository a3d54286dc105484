package jlora.train.metrics;

import java.util.Map;

/**
 * Where the trainer reports what it measured. One call per logged step with every scalar of
 * that step (names from {@link MetricNames}); sinks must not keep the map.
 * Implementations write as they go, so a crashed run keeps what it logged.
 */
public interface MetricsSink extends AutoCloseable {
    void log(long step, Map<String, Double> scalars);

    /** A text sample (e.g. a generation from the adapter being trained); ignored by default. */
    default void text(long step, String tag, String text) {}

    /** Flushes and releases files; no I/O exception escapes (a failing sink must not end a run). */
    @Override
    void close();
}
