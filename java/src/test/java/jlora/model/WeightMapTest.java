package jlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import jlora.UserError;
import jlora.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The HF weight-name map against the published checkpoints' tensor counts (the weight_map of
 * each model.safetensors.index.json) and shapes known from the architecture, and the checker
 * against mutations whose exact effect is known: every removed, reshaped or added entry must
 * come back as exactly that problem, and nothing else. Mutations are random; seed printed.
 */
class WeightMapTest {

    /** Oracle: number of entries in the published model.safetensors.index.json weight_map. */
    @ParameterizedTest(name = "{0}: {1} tensors")
    @CsvSource({
        "Qwen2.5-7B-Instruct, 339",
        "Llama-2-7b-hf, 291",
        "Qwen3-8B, 399",
    })
    void tensorCountMatchesPublishedIndex(String model, int tensors) {
        assertEquals(tensors, Configs.load(model).weightMap().expected().size());
    }

    @Test
    void shapesFollowTheArchitecture() {
        Map<String, Shape> q = Configs.load("Qwen2.5-7B-Instruct").weightMap().expected();
        assertEquals(Shape.of(152064, 3584), q.get("model.embed_tokens.weight"));
        assertEquals(Shape.of(512, 3584), q.get("model.layers.0.self_attn.k_proj.weight"));
        assertEquals(Shape.of(512), q.get("model.layers.0.self_attn.k_proj.bias"));
        assertFalse(q.containsKey("model.layers.0.self_attn.o_proj.bias"), "qwen2 o_proj has no bias");
        assertEquals(Shape.of(3584, 18944), q.get("model.layers.27.mlp.down_proj.weight"));
        assertEquals(Shape.of(152064, 3584), q.get("lm_head.weight"));

        Map<String, Shape> q3 = Configs.load("Qwen3-8B").weightMap().expected();
        assertEquals(Shape.of(128), q3.get("model.layers.5.self_attn.q_norm.weight"));
        assertEquals(Shape.of(4096, 4096), q3.get("model.layers.5.self_attn.o_proj.weight"));
        assertFalse(q3.containsKey("model.layers.5.self_attn.q_proj.bias"));

        assertFalse(Configs.load("Qwen2.5-1.5B-Instruct").weightMap().expected().containsKey("lm_head.weight"),
                "tied model has no lm_head");
    }

    @Test
    void llamaAttentionAndMlpBiasFlags() {
        String json = TinyJson.llama(", \"attention_bias\": true, \"mlp_bias\": true");
        Map<String, Shape> m = ModelConfig.parse(json, java.nio.file.Path.of("config.json")).weightMap().expected();
        for (String p : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
            assertTrue(m.containsKey("model.layers.1." + p + ".bias"), p + ".bias");
        }
        // MistralAttention hard-codes bias=False whatever attention_bias says.
        String mistral = TinyJson.llama(", \"attention_bias\": true").replace("\"llama\"", "\"mistral\"");
        Map<String, Shape> mm = ModelConfig.parse(mistral, java.nio.file.Path.of("config.json")).weightMap().expected();
        assertTrue(mm.keySet().stream().noneMatch(n -> n.endsWith(".bias")), mm.keySet().toString());
    }

    @Test
    void completeCheckpointPasses() {
        WeightMap w = Configs.load("Qwen2.5-7B-Instruct").weightMap();
        WeightCheck r = w.requireComplete(new LinkedHashMap<>(w.expected()), "dir");
        assertTrue(r.complete());
        assertEquals("complete", r.summary());
    }

    @Test
    void mutationsComeBackAsExactlyThoseProblems() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        WeightMap w = Configs.load("Qwen3-8B").weightMap();
        List<String> names = new ArrayList<>(w.expected().keySet());
        Map<String, Shape> present = new LinkedHashMap<>(w.expected());

        Set<String> removed = new HashSet<>(), reshaped = new HashSet<>();
        Set<String> added = new TreeSet<>(WeightMap::naturalOrder);
        for (int i = 0; i < 1 + rnd.nextInt(12); i++) removed.add(names.get(rnd.nextInt(names.size())));
        for (int i = 0; i < 1 + rnd.nextInt(12); i++) {
            String n = names.get(rnd.nextInt(names.size()));
            if (!removed.contains(n)) reshaped.add(n);
        }
        for (int i = 0; i < 1 + rnd.nextInt(5); i++) added.add("model.layers." + rnd.nextInt(100) + ".extra" + i + ".weight");
        removed.forEach(present::remove);
        for (String n : reshaped) {
            long[] d = w.expected().get(n).dims();
            d[0] += 1 + rnd.nextInt(3);
            present.put(n, Shape.of(d));
        }
        added.forEach(n -> present.put(n, Shape.of(4)));

        WeightCheck r = w.check(present);
        String ctx = "seed=" + seed + " removed=" + removed + " reshaped=" + reshaped + " added=" + added;
        assertEquals(removed, new HashSet<>(r.missing()), ctx);
        Set<String> mis = new HashSet<>();
        for (WeightCheck.Mismatch m : r.misShaped()) {
            mis.add(m.name());
            assertEquals(w.expected().get(m.name()), m.expected(), ctx);
            assertEquals(present.get(m.name()), m.found(), ctx);
        }
        assertEquals(reshaped, mis, ctx);
        assertEquals(List.copyOf(added), r.unexpected(), ctx);
        assertEquals(removed.size() + reshaped.size() + added.size(), r.problemCount(), ctx);
        assertTrue(r.quantized().isEmpty(), ctx);
    }

    @Test
    void harmlessExtrasAreIgnored() {
        WeightMap tied = Configs.load("Qwen2.5-1.5B-Instruct").weightMap();
        Map<String, Shape> p = new LinkedHashMap<>(tied.expected());
        p.put("model.layers.3.self_attn.rotary_emb.inv_freq", Shape.of(64));
        p.put("lm_head.weight", Shape.of(151936, 1536));
        assertTrue(tied.check(p).complete(), tied.check(p).problems().toString());
        p.put("lm_head.weight", Shape.of(151936, 1535));
        assertEquals(List.of("lm_head.weight"), tied.check(p).unexpected(), "a wrong-shaped tied head is not harmless");
    }

    /**
     * Oracle: the tensor layout of a bitsandbytes 4-bit checkpoint (e.g. unsloth/*-bnb-4bit):
     * each quantized Linear weight W is a uint8 tensor of [numel/2, 1] packed codes beside
     * W.absmax, W.quant_map, W.nested_absmax, W.nested_quant_map, W.quant_state.bitsandbytes__nf4.
     */
    @Test
    void bitsandbytesPrequantizedWeightsAreReportedAsQuantized() {
        WeightMap w = Configs.load("Qwen2.5-1.5B-Instruct").weightMap();
        Map<String, Shape> p = new LinkedHashMap<>();
        List<String> quantized = new ArrayList<>();
        for (var e : w.expected().entrySet()) {
            String n = e.getKey();
            boolean linear = n.endsWith("_proj.weight");
            if (!linear) {
                p.put(n, e.getValue());
                continue;
            }
            quantized.add(n);
            long numel = e.getValue().numel();
            p.put(n, Shape.of(numel / 2, 1));
            p.put(n + ".absmax", Shape.of(numel / 64 / 1)); // u8 after double quant
            p.put(n + ".quant_map", Shape.of(16));
            p.put(n + ".nested_absmax", Shape.of(numel / 64 / 256 + 1));
            p.put(n + ".nested_quant_map", Shape.of(256));
            p.put(n + ".quant_state.bitsandbytes__nf4", Shape.of(123));
        }
        WeightCheck r = w.check(p);
        assertTrue(r.complete(), r.problems().toString());
        assertEquals(quantized, r.quantized());

        String victim = quantized.get(5);
        p.put(victim, Shape.of(w.expected().get(victim).numel(), 1)); // not packed: twice too many
        WeightCheck bad = w.check(p);
        assertEquals(1, bad.misShaped().size());
        assertTrue(bad.misShaped().getFirst().packed());
        assertTrue(bad.problems().getFirst().contains("4-bit packed"), bad.problems().toString());

        Map<String, Shape> orphan = new LinkedHashMap<>(w.expected());
        orphan.put("model.layers.99.mlp.up_proj.weight.absmax", Shape.of(8));
        assertEquals(List.of("model.layers.99.mlp.up_proj.weight.absmax"), w.check(orphan).unexpected());
    }

    @Test
    void requireCompleteListsProblemsAndTruncates() {
        WeightMap w = Configs.load("Llama-2-7b-hf").weightMap();
        Map<String, Shape> p = new LinkedHashMap<>(w.expected());
        for (int i = 0; i < 20; i++) p.remove("model.layers." + i + ".mlp.up_proj.weight");
        p.put("model.embed_tokens.weight", Shape.of(32001, 4096));
        p.put("model.vision_tower.weight", Shape.of(3));
        UserError e = assertThrows(UserError.class, () -> w.requireComplete(p, "/models/llama"));
        String m = e.getMessage();
        for (String part : List.of("/models/llama", "20 missing, 1 mis-shaped, 1 unexpected",
                "missing model.layers.0.mlp.up_proj.weight", "and " + (22 - WeightMap.MAX_LISTED) + " more",
                "same model")) {
            assertTrue(m.contains(part), "lacks '" + part + "': " + m);
        }
        assertFalse(m.contains("model.layers.19.mlp.up_proj"), "should be truncated: " + m);
        assertEquals(1, m.lines().count(), "one line for the CLI");
    }

    @Test
    void naturalOrderSortsLayerNumbersAsNumbers() {
        List<String> s = new ArrayList<>(List.of("model.layers.10.a", "model.layers.9.a", "model.layers.2.a"));
        s.sort(WeightMap::naturalOrder);
        assertEquals(List.of("model.layers.2.a", "model.layers.9.a", "model.layers.10.a"), s);
    }
}
