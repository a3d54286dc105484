package jlora.train.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Oracle: Jackson's own parser reading each line back as a standalone JSON document; values
 * must be the doubles written, bit for bit (JSON doubles round-trip through Java's shortest
 * repr), and resume truncation must keep exactly the steps <= the resume step.
 */
class JsonlMetricsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private List<JsonNode> readBack() throws IOException {
        List<JsonNode> nodes = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
            nodes.add(JSON.readTree(line));
        }
        return nodes;
    }

    @Test
    void eachLineIsOneJsonObjectWithTheExactValues() throws IOException {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] clock = {1.7e9};
        List<Map<String, Double>> written = new ArrayList<>();
        try (JsonlMetrics m = new JsonlMetrics(dir.resolve("metrics.jsonl"), () -> clock[0])) {
            for (int step = 1; step <= 30; step++) {
                clock[0] += rnd.nextDouble();
                Map<String, Double> s = new LinkedHashMap<>();
                s.put(MetricNames.LOSS, rnd.nextDouble() * 10);
                s.put(MetricNames.LR, rnd.nextDouble() * 1e-4);
                s.put(MetricNames.EPOCH, step / 10.0);
                m.log(step, s);
                written.add(s);
                // Flushed per line: what is on disk already holds this step.
                assertEquals(step, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
            }
            m.log(31, Map.of(MetricNames.LOSS, Double.NaN));
            m.text(31, "sample", "안녕하세요\n\"hi\"");
        }
        List<JsonNode> nodes = readBack();
        assertEquals(32, nodes.size());
        for (int i = 0; i < written.size(); i++) {
            JsonNode n = nodes.get(i);
            assertEquals(i + 1, n.get("step").asLong());
            assertTrue(n.get("time").isNumber());
            for (var e : written.get(i).entrySet()) {
                double got = n.get(e.getKey()).asDouble();
                assertEquals(Double.doubleToLongBits(e.getValue()), Double.doubleToLongBits(got),
                        "seed " + seed + ", step " + (i + 1) + ", " + e.getKey() + ": wrote " + e.getValue() + ", read " + got);
            }
        }
        assertEquals("NaN", nodes.get(30).get(MetricNames.LOSS).asText());
        assertEquals("안녕하세요\n\"hi\"", nodes.get(31).get("text").get("sample").asText());
    }

    @Test
    void resumeDropsStepsAfterTheCheckpointAndATornLine() throws IOException {
        try (JsonlMetrics m = JsonlMetrics.open(dir)) {
            for (int step = 1; step <= 10; step++) m.log(step, Map.of(MetricNames.LOSS, 1.0 / step));
        }
        // A crash mid-line: half an object without its newline.
        Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\":11,\"tim", StandardOpenOption.APPEND);

        JsonlMetrics.truncateAfter(dir, 6);
        try (JsonlMetrics m = JsonlMetrics.open(dir)) {
            for (int step = 7; step <= 8; step++) m.log(step, Map.of(MetricNames.LOSS, 2.0 / step));
        }
        List<JsonNode> nodes = readBack();
        List<Long> steps = nodes.stream().map(n -> n.get("step").asLong()).toList();
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L), steps);
        assertEquals(2.0 / 7, nodes.get(6).get(MetricNames.LOSS).asDouble());
        assertEquals(1.0 / 6, nodes.get(5).get(MetricNames.LOSS).asDouble());
    }

    @Test
    void reopeningAfterATornLineKeepsLinesSeparate() throws IOException {
        try (JsonlMetrics m = JsonlMetrics.open(dir)) {
            m.log(1, Map.of(MetricNames.LOSS, 3.0));
        }
        Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\":2,", StandardOpenOption.APPEND);
        try (JsonlMetrics m = JsonlMetrics.open(dir)) {
            m.log(2, Map.of(MetricNames.LOSS, 2.5));
        }
        List<Long> steps = readBack().stream().map(n -> n.get("step").asLong()).toList();
        assertEquals(List.of(1L, 2L), steps);
    }

    @Test
    void truncatingARunThatLoggedNothingIsFine() {
        JsonlMetrics.truncateAfter(dir, 100);
        assertTrue(Files.notExists(dir.resolve("metrics.jsonl")));
    }
}
