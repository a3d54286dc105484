package jlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import jlora.model.ModelConfig;
import jlora.nn.LoraConfig;
import jlora.nn.LoraPair;
import jlora.nn.LoraWeights;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Adapters PEFT itself wrote (tools/golden/peft_adapter.py make, under
 * src/test/resources/golden/peft/): jlora must adapt exactly the modules PEFT adapted, with PEFT's
 * rank and scaling (relative 1e-12), and read every tensor to the float64 sums torch computed
 * (relative 1e-9: the widening bf16/f16 → f32 is exact, only the summation order differs).
 * Skipped when the golden directory is absent. Also writes jlora adapters for the same base model
 * to target/peft-from-jlora/ for the script's `check` mode.
 */
class PeftGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void peftWrittenAdaptersLoadAsPeftBuiltThem() throws IOException {
        Path golden = goldenDir();
        Assumptions.assumeTrue(golden != null, "no golden PEFT adapters in src/test/resources/golden/peft;"
                + " run `python tools/golden/peft_adapter.py make` where torch, transformers and peft are installed");
        ModelConfig model = ModelConfig.load(golden.resolve("base"));
        List<Path> cases;
        try (Stream<Path> s = Files.list(golden)) {
            cases = s.filter(p -> Files.exists(p.resolve("reference.json"))).sorted().toList();
        }
        assertTrue(!cases.isEmpty(), "no case directories with reference.json in " + golden);
        for (Path dir : cases) {
            String where = dir.getFileName().toString();
            JsonNode ref = JSON.readTree(dir.resolve("reference.json").toFile());
            try (Arena arena = Arena.ofConfined()) {
                LoraWeights w = PeftAdapter.load(dir, model, arena).weights();
                JsonNode modules = ref.get("modules");
                assertEquals(new TreeSet<>(iterable(modules.fieldNames())),
                        new TreeSet<>(w.pairs().stream().map(p -> p.target().path()).toList()), where + ": adapted modules");
                for (LoraPair p : w.pairs()) {
                    JsonNode m = modules.get(p.target().path());
                    String at = where + " " + p.target().path();
                    assertEquals(m.get("r").intValue(), p.target().rank(), at);
                    assertEquals(m.get("in_features").intValue(), p.target().inFeatures(), at);
                    assertEquals(m.get("out_features").intValue(), p.target().outFeatures(), at);
                    double s = m.get("scaling").doubleValue();
                    assertEquals(s, p.target().scale(), Math.abs(s) * 1e-12, at + " scaling");
                }
                Map<String, Tensor> named = new TreeMap<>();
                w.named().forEach((k, v) -> named.put(PeftAdapter.PREFIX + k, v));
                assertEquals(new TreeSet<>(iterable(ref.get("tensors").fieldNames())), named.keySet(), where + ": tensors");
                for (var e : named.entrySet()) {
                    JsonNode t = ref.get("tensors").get(e.getKey());
                    double sum = 0, abs = 0;
                    for (float v : e.getValue().toFloatArray()) {
                        sum += v;
                        abs += Math.abs(v);
                    }
                    double tol = 1e-9 * t.get("abs_sum").doubleValue() + 1e-30;
                    assertEquals(t.get("sum").doubleValue(), sum, tol, where + " " + e.getKey() + " sum");
                    assertEquals(t.get("abs_sum").doubleValue(), abs, tol, where + " " + e.getKey() + " abs sum");
                }
                // a jlora copy of what PEFT wrote, for `peft_adapter.py check` on the device machine
                PeftAdapter.save(Path.of("target", "peft-from-jlora", where), w, "tiny-qwen2", null, DType.F32);
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            LoraConfig fresh = LoraConfig.builder().r(8).loraAlpha(16).targetModules("all-linear")
                    .layersToTransform(List.of(0, 2)).seed(7).build();
            PeftAdapter.save(Path.of("target", "peft-from-jlora", "fresh_all_linear"),
                    LoraWeights.init(fresh, model, arena, null), "tiny-qwen2", null, DType.F32);
        }
    }

    private static Path goldenDir() {
        URL url = PeftGoldenTest.class.getResource("/golden/peft/base/config.json");
        if (url == null) return null;
        try {
            return Path.of(url.toURI()).getParent().getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
