package jlora.train.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /**
     * forRun on a resume: metrics.jsonl keeps steps <= the checkpoint, and the new TensorBoard
     * file (read with the test's independent reader) starts with SessionLog START one step later.
     */
    @Test
    void forRunResumesBothFiles(@TempDir Path dir) throws IOException {
        try (MetricsSinks first = MetricsSinks.forRun(dir, 10, 0, 5)) {
            for (long step = 1; step <= 8; step++) first.log(step, Map.of(MetricNames.LOSS, 1.0 / step));
        }
        try (MetricsSinks resumed = MetricsSinks.forRun(dir, 10, 4, 5)) {
            for (long step = 5; step <= 10; step++) resumed.log(step, Map.of(MetricNames.LOSS, 2.0 / step));
        }
        List<Long> steps = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(JsonlMetrics.FILE_NAME))) {
            steps.add(new ObjectMapper().readTree(line).get("step").asLong());
        }
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L), steps);

        List<Path> files;
        try (var list = Files.list(dir.resolve(TensorBoardEvents.DIR))) {
            files = list.sorted(Comparator.comparing((Path p) -> p.getFileName().toString()
                    .substring(p.getFileName().toString().lastIndexOf('.') + 1), Comparator.comparingInt(Integer::parseInt))).toList();
        }
        assertEquals(2, files.size(), files.toString());
        var records = TfEventReader.records(Files.readAllBytes(files.get(1)));
        var start = TfEventReader.fields(records.get(1));
        assertEquals(5L, TfEventReader.one(start, 2));
        assertEquals(1L, TfEventReader.one(TfEventReader.fields((byte[]) TfEventReader.one(start, 7)), 1));
        assertEquals(1 + 1 + 6, records.size(), "version, START, steps 5..10");
    }
}
