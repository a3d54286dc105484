package jlora.train.metrics;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Fans each call out to several sinks. A sink that throws is reported once (through
 * {@code warn}) and then left out, so a full disk under the TensorBoard directory does not stop
 * training or the other sinks.
 */
public final class MetricsSinks implements MetricsSink {
    private final List<MetricsSink> live;
    private final Consumer<String> warn;

    public MetricsSinks(List<? extends MetricsSink> sinks, Consumer<String> warn) {
        this.live = new ArrayList<>(sinks);
        this.warn = warn;
    }

    public static MetricsSinks of(PrintStream err, MetricsSink... sinks) {
        return new MetricsSinks(List.of(sinks), err::println);
    }

    /**
     * The usual set for a training run: metrics.jsonl and TensorBoard events under
     * {@code runDir}, and the progress bar on stdout (a plain line every {@code printEvery}
     * steps when stdout is not a terminal). {@code startStep} > 0 means resumed from the
     * checkpoint at that step: later lines are dropped from metrics.jsonl and TensorBoard is
     * told to forget its later points. A fresh run (startStep 0) in a directory an older run
     * wrote to starts both from empty in the same way, so the two runs' curves never mix.
     */
    public static MetricsSinks forRun(Path runDir, long totalSteps, long startStep, long printEvery) {
        long keepThrough = startStep > 0 ? startStep : -1;
        List<MetricsSink> sinks = new ArrayList<>();
        try {
            sinks.add(JsonlMetrics.resume(runDir, keepThrough));
            sinks.add(TensorBoardEvents.resume(runDir.resolve(TensorBoardEvents.DIR), keepThrough));
        } catch (RuntimeException e) {
            sinks.forEach(MetricsSink::close);
            throw e;
        }
        sinks.add(ProgressBar.forStdout(totalSteps, startStep, printEvery));
        return new MetricsSinks(sinks, System.err::println);
    }

    @Override
    public void log(long step, Map<String, Double> scalars) {
        each(sink -> sink.log(step, scalars), "log step " + step);
    }

    @Override
    public void text(long step, String tag, String text) {
        each(sink -> sink.text(step, tag, text), "log text '" + tag + "' at step " + step);
    }

    @Override
    public void close() {
        each(MetricsSink::close, "close");
        live.clear();
    }

    /** The sinks still in use (a failed one is dropped). */
    public int size() {
        return live.size();
    }

    private void each(Consumer<MetricsSink> call, String what) {
        for (var it = live.iterator(); it.hasNext(); ) {
            MetricsSink sink = it.next();
            try {
                call.accept(sink);
            } catch (RuntimeException e) {
                it.remove();
                warn.accept("jlora: warning: metrics sink " + sink.getClass().getSimpleName()
                        + " failed to " + what + " (" + e.getMessage() + "); continuing without it");
                try {
                    sink.close();
                } catch (RuntimeException ignored) {
                    // already reported once; a second message would only repeat it
                }
            }
        }
    }
}
