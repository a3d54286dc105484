package jlora.train.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Oracle: a recording sink sees every call the composite got, in order, despite a failing sibling. */
class MetricsSinksTest {
    static final class Recording implements MetricsSink {
        final List<String> calls = new ArrayList<>();

        @Override
        public void log(long step, Map<String, Double> scalars) {
            calls.add("log " + step + " " + scalars);
        }

        @Override
        public void text(long step, String tag, String text) {
            calls.add("text " + step + " " + tag + " " + text);
        }

        @Override
        public void close() {
            calls.add("close");
        }
    }

    static final class FailsAtStep3 implements MetricsSink {
        int closes;

        @Override
        public void log(long step, Map<String, Double> scalars) {
            if (step == 3) throw new IllegalStateException("disk full");
        }

        @Override
        public void close() {
            closes++;
        }
    }

    @Test
    void oneFailingSinkIsReportedOnceAndDropped() {
        Recording before = new Recording();
        Recording after = new Recording();
        FailsAtStep3 failing = new FailsAtStep3();
        List<String> warnings = new ArrayList<>();
        MetricsSinks all = new MetricsSinks(List.of(before, failing, after), warnings::add);
        for (long step = 1; step <= 6; step++) all.log(step, Map.of("train/loss", (double) step));
        all.text(6, "sample", "hi");
        assertEquals(2, all.size());
        all.close();

        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("FailsAtStep3") && warnings.get(0).contains("disk full"), warnings.get(0));
        assertEquals(1, failing.closes, "the failed sink is closed once, when dropped");
        List<String> expected = new ArrayList<>();
        for (long step = 1; step <= 6; step++) expected.add("log " + step + " {train/loss=" + (double) step + "}");
        expected.add("text 6 sample hi");
        expected.add("close");
        assertEquals(expected, before.calls);
        assertEquals(expected, after.calls);
    }
}
