package jlora.train.metrics;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The terminal's view of a run: step/total, epoch, loss, lr, tokens/s, ETA and device memory
 * when logged. On a terminal one line is redrawn in place (carriage return), at most ten times
 * a second; anywhere else (CI logs, a pipe, a file) a plain line is printed every
 * {@code everySteps} steps and at the last step, so the log stays short. Eval losses and text
 * samples get a line of their own in both cases.
 *
 * <p>Hand-written rather than me.tongfei:progressbar: that library redraws from a timer thread
 * (so a CI log gets lines by time, not by step), pulls in jline-terminal, and has one free-text
 * slot for everything we show, which we would format ourselves anyway.
 */
public final class ProgressBar implements MetricsSink {
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int BAR_WIDTH = 24;

    private final PrintStream out;
    private final boolean terminal;
    private final long totalSteps;
    private final long everySteps;
    private final LongSupplier nanoClock;
    private final long startStep;
    private final long startNanos;
    private final Map<String, Double> latest = new HashMap<>();
    private long lastDrawNanos = Long.MIN_VALUE;
    private long lastShownStep = -1;
    private int lastWidth;

    /**
     * @param startStep the step the run starts from (0, or the resumed checkpoint's), so the
     *     ETA measures only this process's speed
     */
    public ProgressBar(PrintStream out, boolean terminal, long totalSteps, long startStep,
            long everySteps, LongSupplier nanoClock) {
        if (totalSteps <= 0 || everySteps <= 0) throw new IllegalArgumentException("totalSteps and everySteps must be positive");
        this.out = out;
        this.terminal = terminal;
        this.totalSteps = totalSteps;
        this.startStep = startStep;
        this.everySteps = everySteps;
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    /** For System.out: redraws in place when it is a terminal, else a line every {@code everySteps}. */
    public static ProgressBar forStdout(long totalSteps, long startStep, long everySteps) {
        var console = System.console();
        boolean tty = console != null && console.isTerminal();
        return new ProgressBar(System.out, tty, totalSteps, startStep, everySteps, System::nanoTime);
    }

    @Override
    public void log(long step, Map<String, Double> scalars) {
        latest.putAll(scalars); // eval arrives on its own call; the line keeps the last of everything
        Double eval = scalars.get(MetricNames.EVAL_LOSS);
        if (eval != null) above(String.format(Locale.ROOT, "eval loss %.4f at step %d", eval, step));
        boolean trainScalars = scalars.keySet().stream().anyMatch(k -> !k.startsWith("eval/"));
        if (!trainScalars || step == lastShownStep) return;
        boolean last = step >= totalSteps;
        long now = nanoClock.getAsLong();
        if (terminal) {
            if (!last && lastDrawNanos != Long.MIN_VALUE && now - lastDrawNanos < REDRAW_NANOS) return;
            String line = line(step, now, true);
            out.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
            lastWidth = line.length();
            if (last) {
                out.println();
                lastWidth = 0; // the line is finished; close() must not end it again
            }
        } else if (step % everySteps == 0 || last) {
            out.println(line(step, now, false));
        } else {
            return;
        }
        out.flush();
        lastShownStep = step;
        lastDrawNanos = now;
    }

    /** Samples go on their own lines, above the bar. */
    @Override
    public void text(long step, String tag, String text) {
        above("[" + tag + " @ step " + step + "] " + text);
    }

    @Override
    public void close() {
        if (terminal && lastWidth > 0) out.println();
        lastWidth = 0;
        out.flush();
    }

    /** A line of its own: on a terminal the bar is wiped first and redrawn by the next step. */
    private void above(String message) {
        if (terminal && lastWidth > 0) out.print("\r" + " ".repeat(lastWidth) + "\r");
        out.println(message);
        lastWidth = 0;
        lastShownStep = -1;
        lastDrawNanos = Long.MIN_VALUE;
        out.flush();
    }

    String line(long step, long nowNanos, boolean bar) {
        StringBuilder s = new StringBuilder();
        int pct = (int) Math.min(100, step * 100 / totalSteps);
        s.append("step ").append(step).append('/').append(totalSteps);
        if (bar) {
            int filled = (int) Math.min(BAR_WIDTH, step * BAR_WIDTH / totalSteps);
            s.append(' ').append('[').append("#".repeat(filled)).append(" ".repeat(BAR_WIDTH - filled)).append(']');
        }
        s.append(String.format(Locale.ROOT, " %3d%%", pct));
        append(s, MetricNames.EPOCH, "epoch %.2f", 1);
        append(s, MetricNames.LOSS, "loss %.4f", 1);
        append(s, MetricNames.LR, "lr %.2e", 1);
        append(s, MetricNames.TOKENS_PER_SEC, "%.0f tok/s", 1);
        s.append(" | ETA ").append(eta(step, nowNanos));
        append(s, MetricNames.DEVICE_PEAK_MEMORY, "peak mem %.2f GiB", 1L << 30);
        return s.toString();
    }

    private void append(StringBuilder s, String name, String format, double divisor) {
        Double v = latest.get(name);
        if (v != null) s.append(" | ").append(String.format(Locale.ROOT, format, v / divisor));
    }

    /** Remaining steps at this process's mean speed so far; "?" before the first step is done. */
    private String eta(long step, long nowNanos) {
        long done = step - startStep;
        if (done <= 0) return "?";
        long remaining = Math.max(0, totalSteps - step);
        long secs = (long) ((double) (nowNanos - startNanos) / done * remaining / 1e9);
        return String.format(Locale.ROOT, "%d:%02d:%02d", secs / 3600, secs / 60 % 60, secs % 60);
    }
}
