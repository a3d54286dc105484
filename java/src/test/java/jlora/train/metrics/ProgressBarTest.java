package jlora.train.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Oracle: the line format written out by hand for a scripted run on a fake clock (1 s per
 * step, so the ETA is the remaining step count in seconds), and the cadence: one line per
 * {@code everySteps} steps plus the last, nothing else.
 */
class ProgressBarTest {
    @Test
    void plainLinesEveryNStepsWhenNotATerminal() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long[] nanos = {0};
        ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), false, 25, 0, 10, () -> nanos[0]);
        for (int step = 1; step <= 25; step++) {
            nanos[0] += 1_000_000_000L;
            bar.log(step, Map.of(MetricNames.LOSS, 2.0 / step, MetricNames.LR, 2e-4,
                    MetricNames.EPOCH, step / 25.0 * 3, MetricNames.TOKENS_PER_SEC, 1234.4));
            // eval results: a line of their own, and no second progress line for the same step
            if (step == 12 || step == 20) bar.log(step, Map.of(MetricNames.EVAL_LOSS, 1.5 - step / 100.0));
        }
        bar.close();
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(List.of(
                "step 10/25  40% | epoch 1.20 | loss 0.2000 | lr 2.00e-04 | 1234 tok/s | ETA 0:00:15",
                "eval loss 1.3800 at step 12",
                "step 20/25  80% | epoch 2.40 | loss 0.1000 | lr 2.00e-04 | 1234 tok/s | ETA 0:00:05",
                "eval loss 1.3000 at step 20",
                "step 25/25 100% | epoch 3.00 | loss 0.0800 | lr 2.00e-04 | 1234 tok/s | ETA 0:00:00"), lines);
        assertTrue(!buf.toString(StandardCharsets.UTF_8).contains("\r"), "no carriage returns in a log");
    }

    @Test
    void resumedRunMeasuresEtaFromItsOwnStartAndShowsDeviceMemory() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long[] nanos = {0};
        ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), false, 4000, 1000, 500, () -> nanos[0]);
        nanos[0] += 500 * 2_000_000_000L; // 500 steps at 2 s each
        bar.log(1500, Map.of(MetricNames.LOSS, 1.0, MetricNames.DEVICE_PEAK_MEMORY, 10.5 * (1L << 30)));
        // 2500 steps left at 2 s: 5000 s = 1:23:20
        assertEquals("step 1500/4000  37% | loss 1.0000 | ETA 1:23:20 | peak mem 10.50 GiB",
                buf.toString(StandardCharsets.UTF_8).strip());
    }

    @Test
    void theLineKeepsTheLastValueOfEachScalarAcrossCalls() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long[] nanos = {0};
        ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), false, 4, 0, 2, () -> nanos[0]);
        nanos[0] += 3_000_000_000L;
        bar.log(1, Map.of(MetricNames.LOSS, 2.5, MetricNames.LR, 1e-5, MetricNames.EPOCH, 0.25));
        nanos[0] += 3_000_000_000L;
        bar.log(2, Map.of(MetricNames.LOSS, 2.0)); // lr and epoch not logged this step
        assertEquals("step 2/4  50% | epoch 0.25 | loss 2.0000 | lr 1.00e-05 | ETA 0:00:06",
                buf.toString(StandardCharsets.UTF_8).strip());
    }

    @Test
    void terminalRedrawsOneLineInPlaceAtMostTenTimesASecond() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long[] nanos = {0};
        ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), true, 100, 0, 10, () -> nanos[0]);
        for (int step = 1; step <= 100; step++) {
            nanos[0] += 20_000_000L; // 20 ms a step: 2 s in all, so about 20 redraws, not 100
            bar.log(step, Map.of(MetricNames.LOSS, 1.0));
        }
        bar.close();
        String s = buf.toString(StandardCharsets.UTF_8);
        long redraws = s.chars().filter(c -> c == '\r').count();
        assertTrue(redraws >= 19 && redraws <= 21, redraws + " redraws");
        assertEquals(1, s.chars().filter(c -> c == '\n').count(), "one newline, at the end");
        assertTrue(s.contains("step 100/100 [########################] 100%"), s);
    }
}
