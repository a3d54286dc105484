package jlora.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-file weights. Oracle: the counts worked out by hand for 40 rows (2.5 -> every row twice
 * plus 20 distinct rows a third time = 100; 0.25 -> 10 distinct rows; 0 -> none), and that the
 * subset depends on the seed only. The seed is drawn per run and printed on failure.
 */
class DataMixTest {
    @TempDir Path dir;

    private Path rows(String name, int n) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.append("{\"text\": \"").append(name).append(' ').append(i).append("\"}\n");
        return Collected.write(dir, name + ".jsonl", sb.toString());
    }

    private static List<String> mix(List<DataSource> sources, long seed) {
        List<String> out = new ArrayList<>();
        DataMix.read(sources, seed, ExampleCheck.NONE, new ValidationReport(), e -> out.add(e.text()));
        return out;
    }

    private static Map<String, Integer> multiplicity(List<String> texts, String prefix) {
        Map<String, Integer> m = new TreeMap<>();
        for (String t : texts) if (t.startsWith(prefix + " ")) m.merge(t, 1, Integer::sum);
        return m;
    }

    @Test
    void weightsGiveExactCountsAndSeededSubsets() throws Exception {
        long seed = ThreadLocalRandom.current().nextLong();
        String s = " (seed " + seed + ")";
        Path up = rows("up", 40), down = rows("down", 40), same = rows("same", 40), off = rows("off", 40);
        List<DataSource> sources = List.of(new DataSource(up, 2.5, null), new DataSource(down, 0.25, null),
                new DataSource(same, 1.0, null), new DataSource(off, 0.0, null));
        List<String> got = mix(sources, seed);

        Map<String, Integer> upM = multiplicity(got, "up");
        assertEquals(40, upM.size(), "every up-weighted row appears" + s);
        assertEquals(100, upM.values().stream().mapToInt(Integer::intValue).sum(), s);
        assertEquals(20, upM.values().stream().filter(v -> v == 3).count(), "20 rows a third time" + s);
        assertTrue(upM.values().stream().allMatch(v -> v == 2 || v == 3), s);

        Map<String, Integer> downM = multiplicity(got, "down");
        assertEquals(10, downM.size(), s);
        assertTrue(downM.values().stream().allMatch(v -> v == 1), "down-sampling picks distinct rows" + s);
        assertEquals(40, multiplicity(got, "same").size(), s);
        assertEquals(0, multiplicity(got, "off").size(), s);
        assertEquals(100 + 10 + 40, got.size(), s);
        assertEquals(DataMix.expectedCount(40, 2.5) + DataMix.expectedCount(40, 0.25) + 40, got.size(), s);

        assertEquals(got, mix(sources, seed), "same seed, same stream" + s);
        // Two seeds picking the same 10 of 40 has probability 1 / C(40,10) ~ 1e-9.
        assertNotEquals(downM.keySet(), multiplicity(mix(sources, seed + 1), "down").keySet(), s);
    }
}
