package jlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import jlora.UserError;
import jlora.model.ModelConfig;
import jlora.nn.LoraConfig;
import jlora.nn.LoraPair;
import jlora.nn.LoraWeights;
import jlora.nn.ModelConfigs;
import jlora.tensor.DType;
import jlora.tensor.HalfFloats;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEFT's adapter directory format. Oracles: bit identity through save and load; a directory typed
 * by hand as PEFT 0.13+ writes it (config text from PEFT's save_pretrained layout, tensors under
 * get_peft_model_state_dict names) with values known exactly through bf16; PEFT's field list.
 */
class PeftAdapterTest {
    private static final ModelConfig TINY = ModelConfigs.tiny();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void saveThenLoadIsBitIdentical() throws IOException {
        long seed = ThreadLocalRandom.current().nextLong();
        var ranks = new LinkedHashMap<String, Integer>();
        ranks.put("down_proj", 2);
        LoraConfig c = LoraConfig.builder().r(8).loraAlpha(16).useRslora(true).targetModules("all-linear")
                .trainableNorms(true).rankPattern(ranks).seed(seed).build();
        try (Arena arena = Arena.ofConfined()) {
            LoraWeights w = trained(c, arena, seed);
            Path dir = tmp.resolve("out");
            PeftAdapter.save(dir, w, "Qwen/tiny", null, DType.F32);
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of("adapter_config.json", "adapter_model.safetensors"),
                        files.map(p -> p.getFileName().toString()).sorted().toList(), "no temp files left behind");
            }
            PeftAdapter back = PeftAdapter.load(dir, TINY, arena);
            assertEquals("Qwen/tiny", back.baseModelNameOrPath());
            LoraWeights v = back.weights();
            assertEquals(w.pairs().stream().map(LoraPair::target).toList(), v.pairs().stream().map(LoraPair::target).toList());
            for (var e : w.named().entrySet()) {
                assertBits(e.getValue(), v.named().get(e.getKey()), x -> x, e.getKey() + " (seed " + seed + ")");
            }
            assertEquals(w.named().keySet(), v.named().keySet());
        }
    }

    @Test
    void bf16SaveRoundsEachMasterToNearestEven() {
        long seed = ThreadLocalRandom.current().nextLong();
        LoraConfig c = LoraConfig.builder().r(4).targetModules(List.of("q_proj", "down_proj")).seed(seed).build();
        try (Arena arena = Arena.ofConfined()) {
            LoraWeights w = trained(c, arena, seed);
            PeftAdapter.save(tmp, w, null, null, DType.BF16);
            try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve(PeftAdapter.WEIGHTS_FILE))) {
                for (String n : f.names()) assertEquals(DType.BF16, f.info(n).dtype(), n);
            }
            LoraWeights v = PeftAdapter.load(tmp, TINY, arena).weights();
            for (var e : w.named().entrySet()) {
                assertBits(e.getValue(), v.named().get(e.getKey()), x -> HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(x)),
                        e.getKey() + " (seed " + seed + ")");
            }
        }
    }

    @Test
    void writtenFilesUsePeftNamesAndFields() throws IOException {
        LoraConfig c = LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0.05).targetModules("all-linear")
                .layersToTransform(List.of(1)).trainableNorms(true).build();
        try (Arena arena = Arena.ofConfined()) {
            LoraWeights w = LoraWeights.init(c, TINY, arena, name -> Tensor.allocate(DType.F32,
                    TINY.weightMap().expected().get(name), arena));
            PeftAdapter.save(tmp, w, "Qwen/Qwen2.5-0.5B", "main", DType.F32);
        }
        String text = Files.readString(tmp.resolve("adapter_config.json"));
        JsonNode j = JSON.readTree(text);
        // The fields PEFT 0.13's LoraConfig.save_pretrained writes (keys sorted, as json.dumps(sort_keys=True)).
        List<String> peft013 = List.of("alpha_pattern", "auto_mapping", "base_model_name_or_path", "bias", "fan_in_fan_out",
                "inference_mode", "init_lora_weights", "layer_replication", "layers_pattern", "layers_to_transform",
                "loftq_config", "lora_alpha", "lora_dropout", "megatron_config", "megatron_core", "modules_to_save",
                "peft_type", "r", "rank_pattern", "revision", "target_modules", "task_type", "use_dora", "use_rslora");
        List<String> keys = new ArrayList<>();
        j.fieldNames().forEachRemaining(keys::add);
        assertEquals(peft013, keys);
        assertTrue(text.contains("\"peft_type\": \"LORA\""), text);
        assertEquals("CAUSAL_LM", j.get("task_type").textValue());
        assertTrue(j.get("r").isInt() && j.get("lora_alpha").isIntegralNumber(), "r and lora_alpha are ints as in PEFT");
        assertEquals(32, j.get("lora_alpha").intValue());
        assertEquals(0.05, j.get("lora_dropout").doubleValue());
        assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), strings(j.get("target_modules")));
        assertEquals(List.of(1), List.of(j.get("layers_to_transform").get(0).intValue()));
        assertEquals(List.of("input_layernorm", "post_attention_layernorm", "model.norm"), strings(j.get("modules_to_save")));
        assertTrue(j.get("inference_mode").booleanValue() && j.get("init_lora_weights").booleanValue());
        assertTrue(!j.get("use_dora").booleanValue() && !j.get("fan_in_fan_out").booleanValue());
        assertEquals("main", j.get("revision").textValue());
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve(PeftAdapter.WEIGHTS_FILE))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            List<String> want = new ArrayList<>();
            for (String m : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
                want.add("base_model.model.model.layers.1." + m + ".lora_A.weight");
                want.add("base_model.model.model.layers.1." + m + ".lora_B.weight");
            }
            for (int i = 0; i < TINY.numHiddenLayers(); i++) {
                want.add("base_model.model.model.layers." + i + ".input_layernorm.weight");
                want.add("base_model.model.model.layers." + i + ".post_attention_layernorm.weight");
            }
            want.add("base_model.model.model.norm.weight");
            assertEquals(want.stream().sorted().toList(), f.names().stream().sorted().toList());
            assertEquals(Shape.of(16, 64), f.info("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight").shape());
            assertEquals(Shape.of(32, 16), f.info("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight").shape());
        }
    }

    /** adapter_config.json as PEFT 0.18 writes it (0.13's fields plus the later ones, unordered target set). */
    static String peftConfigJson(String targetModules, String extra) {
        return """
                {
                  "alora_invocation_tokens": null,
                  "alpha_pattern": {},
                  "arrow_config": null,
                  "auto_mapping": null,
                  "base_model_name_or_path": "Qwen/Qwen2-tiny",
                  "bias": "none",
                  "corda_config": null,
                  "ensure_weight_tying": false,
                  "eva_config": null,
                  "exclude_modules": null,
                  "fan_in_fan_out": false,
                  "inference_mode": true,
                  "init_lora_weights": true,
                  "layer_replication": null,
                  "layers_pattern": null,
                  "layers_to_transform": null,
                  "loftq_config": {},
                  "lora_alpha": 16,
                  "lora_bias": false,
                  "lora_dropout": 0.05,
                  "megatron_config": null,
                  "megatron_core": "megatron.core",
                  "modules_to_save": null,
                  "peft_type": "LORA",
                  "peft_version": "0.18.1",
                  "qalora_group_size": 16,
                  "r": 4,
                  "rank_pattern": {},
                  "revision": null,
                  "target_modules": %s,
                  "target_parameters": null,
                  "task_type": "CAUSAL_LM",
                  "trainable_token_indices": null,
                  "use_dora": false,
                  "use_qalora": false,
                  "use_rslora": true%s
                }
                """.formatted(targetModules, extra);
    }

    /** Writes bf16 lora_A/lora_B for v_proj and q_proj of every tiny layer; returns name → exact values. */
    Map<String, float[]> writePeftTensors(Path dir, String infix, long seed, Arena arena) {
        SplittableRandom rnd = new SplittableRandom(seed);
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, float[]> values = new LinkedHashMap<>();
        for (int i = 0; i < TINY.numHiddenLayers(); i++) {
            for (String m : List.of("v_proj", "q_proj")) {
                int out = m.equals("q_proj") ? TINY.qDim() : TINY.kvDim();
                for (String ab : List.of("lora_A", "lora_B")) {
                    Shape s = ab.equals("lora_A") ? Shape.of(4, TINY.hiddenSize()) : Shape.of(out, 4);
                    float[] v = new float[(int) s.numel()];
                    for (int k = 0; k < v.length; k++) v[k] = HalfFloats.bf16ToF32(HalfFloats.f32ToBf16((float) rnd.nextGaussian()));
                    String path = "model.layers." + i + ".self_attn." + m;
                    tensors.put("base_model.model." + path + "." + ab + infix + ".weight", Tensor.of(DType.BF16, s, v, arena));
                    values.put(path + "." + ab + ".weight", v);
                }
            }
        }
        SafetensorsWriter.write(dir.resolve(PeftAdapter.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        return values;
    }

    @Test
    void loadsAnAdapterWrittenAsPeftWritesIt() throws IOException {
        long seed = ThreadLocalRandom.current().nextLong();
        for (String infix : List.of("", ".default")) {
            Path dir = Files.createDirectories(tmp.resolve("peft" + infix));
            Files.writeString(dir.resolve("adapter_config.json"), peftConfigJson("[\n    \"v_proj\",\n    \"q_proj\"\n  ]", ""));
            try (Arena arena = Arena.ofConfined()) {
                Map<String, float[]> want = writePeftTensors(dir, infix, seed, arena);
                PeftAdapter a = PeftAdapter.load(dir, TINY, arena);
                assertEquals("Qwen/Qwen2-tiny", a.baseModelNameOrPath());
                assertEquals(4 * TINY.numHiddenLayers(), a.weights().named().size());
                for (LoraPair p : a.weights().pairs()) {
                    assertEquals(8.0, p.target().scale(), p.target().path() + ": rsLoRA 16/sqrt(4)");
                    assertEquals(0.05, a.weights().config().loraDropout());
                }
                for (var e : want.entrySet()) {
                    float[] got = a.weights().named().get(e.getKey()).toFloatArray();
                    assertArrays(e.getValue(), got, e.getKey() + infix + " (seed " + seed + ")");
                }
            }
        }
    }

    @Test
    void regexTargetsAndRankPatternFromFile() throws IOException {
        long seed = ThreadLocalRandom.current().nextLong();
        Files.writeString(tmp.resolve("adapter_config.json"), peftConfigJson("\"model\\\\.layers\\\\.\\\\d+\\\\.self_attn\\\\.(q|v)_proj\"", ""));
        try (Arena arena = Arena.ofConfined()) {
            writePeftTensors(tmp, "", seed, arena);
            assertEquals(4, PeftAdapter.load(tmp, TINY, arena).weights().pairs().size());
        }
        // rank_pattern giving v_proj rank 2 makes the rank-4 tensors the wrong shape: honoured, and reported
        Files.writeString(tmp.resolve("adapter_config.json"), peftConfigJson("[\"q_proj\", \"v_proj\"]", "")
                .replace("\"rank_pattern\": {}", "\"rank_pattern\": {\"v_proj\": 2}"));
        try (Arena arena = Arena.ofConfined()) {
            UserError e = assertThrows(UserError.class, () -> PeftAdapter.load(tmp, TINY, arena));
            assertTrue(e.getMessage().contains("v_proj.lora_A.weight is [4, 64], expected [2, 64]"), e.getMessage());
        }
    }

    @Test
    void errorsNameTheFileAndTheField() throws IOException {
        long seed = ThreadLocalRandom.current().nextLong();
        Path cfg = tmp.resolve("adapter_config.json");
        String good = peftConfigJson("[\"q_proj\", \"v_proj\"]", "");
        try (Arena arena = Arena.ofConfined()) {
            expect(tmp.resolve("nowhere"), "does not exist", arena);
            expect(tmp, "adapter_config.json: missing", arena);

            Files.writeString(cfg, good);
            Files.write(tmp.resolve(PeftAdapter.PICKLE_FILE), new byte[] {(byte) 0x80, 2});
            expect(tmp, "adapter_model.bin: jlora does not read PyTorch pickle files", arena);
            Files.delete(tmp.resolve(PeftAdapter.PICKLE_FILE));
            expect(tmp, "adapter_model.safetensors: missing", arena);

            writePeftTensors(tmp, "", seed, arena);
            PeftAdapter.load(tmp, TINY, arena); // the good pair loads

            expect(tmp, cfg + ": field 'target_modules' has a name that matches no linear layer: c_attn; valid names: q_proj", good.replace("\"v_proj\"]", "\"c_attn\"]"), arena);
            expect(tmp, cfg + ": field 'peft_type' is \"IA3\"", good.replace("\"LORA\"", "\"IA3\""), arena);
            expect(tmp, cfg + ": field 'use_dora' is true", good.replace("\"use_dora\": false", "\"use_dora\": true"), arena);
            expect(tmp, cfg + ": field 'init_lora_weights' is \"pissa_niter_4\"",
                    good.replace("\"init_lora_weights\": true", "\"init_lora_weights\": \"pissa_niter_4\""), arena);
            expect(tmp, cfg + ": field 'r' must be an integer", good.replace("\"r\": 4", "\"r\": \"4\""), arena);
            expect(tmp, cfg + ": field 'r' is missing", good.replace("\"r\": 4,", ""), arena);
            expect(tmp, cfg + ": field 'layers_to_transform' names layer 7",
                    good.replace("\"layers_to_transform\": null", "\"layers_to_transform\": [0, 7]"), arena);
            expect(tmp, cfg + ": line", good.replace("\"r\": 4,", "\"r\": 4"), arena);
            // tensors for another model size: the same adapter against Qwen2.5-1.5B (hidden 1536, 28 layers)
            Files.writeString(cfg, good);
            UserError shapes = assertThrows(UserError.class,
                    () -> PeftAdapter.load(tmp, ModelConfigs.published("Qwen2.5-1.5B-Instruct"), arena));
            String m = shapes.getMessage();
            assertTrue(m.startsWith(tmp.resolve(PeftAdapter.WEIGHTS_FILE) + ": does not match") && m.contains("tensors 104 missing, 8 with other shapes: ")
                    && m.contains("base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight is [4, 64], expected [4, 1536]")
                    && m.contains("its base model is Qwen/Qwen2-tiny"), m);
        }
    }

    @Test
    void unexpectedAndMisTypedTensorsAreListed() {
        long seed = ThreadLocalRandom.current().nextLong();
        try (Arena arena = Arena.ofConfined()) {
            LoraWeights w = trained(LoraConfig.builder().r(2).build(), arena, seed);
            SequencedMap<String, Tensor> t = new LinkedHashMap<>();
            w.named().forEach((k, v) -> t.put("base_model.model." + k, v));
            t.put("base_model.model.lm_head.weight", Tensor.allocate(DType.F32, Shape.of(4, 4), arena));
            t.put("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                    Tensor.allocate(DType.I32, Shape.of(2, 64), arena));
            Files.writeString(tmp.resolve("adapter_config.json"), peftConfigJson("[\"q_proj\", \"v_proj\"]", "").replace("\"r\": 4", "\"r\": 2"));
            SafetensorsWriter.write(tmp.resolve(PeftAdapter.WEIGHTS_FILE), t, Map.of());
            UserError e = assertThrows(UserError.class, () -> PeftAdapter.load(tmp, TINY, arena));
            assertTrue(e.getMessage().contains("tensors 1 of another dtype, 1 unexpected: ")
                    && e.getMessage().contains("q_proj.lora_A.weight is I32")
                    && e.getMessage().contains("base_model.model.lm_head.weight is not part of the adapter"), e.getMessage());
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private void expect(Path dir, String fragment, String configText, Arena arena) throws IOException {
        Files.writeString(dir.resolve("adapter_config.json"), configText);
        expect(dir, fragment, arena);
    }

    private void expect(Path dir, String fragment, Arena arena) {
        UserError e = assertThrows(UserError.class, () -> PeftAdapter.load(dir, TINY, arena), fragment);
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }

    /** A fresh adapter whose B (zero at init) is filled with noise, as after some training steps. */
    static LoraWeights trained(LoraConfig c, Arena arena, long seed) {
        LoraWeights w = LoraWeights.init(c, TINY, arena, name -> {
            Shape s = TINY.weightMap().expected().get(name);
            float[] v = new float[(int) s.numel()];
            java.util.Arrays.fill(v, 1f);
            return Tensor.of(DType.F32, s, v, arena);
        });
        SplittableRandom rnd = new SplittableRandom(seed);
        for (LoraPair p : w.pairs()) {
            for (long i = 0; i < p.b().numel(); i++) p.b().setFloat(i, (float) (rnd.nextGaussian() * 0.01));
        }
        for (Tensor t : w.saved().values()) {
            for (long i = 0; i < t.numel(); i++) t.setFloat(i, t.getFloat(i) + (float) (rnd.nextGaussian() * 0.01));
        }
        return w;
    }

    private static void assertBits(Tensor want, Tensor got, java.util.function.UnaryOperator<Float> expect, String where) {
        assertEquals(DType.F32, got.dtype(), where);
        assertEquals(want.shape(), got.shape(), where);
        for (long i = 0; i < want.numel(); i++) {
            float w = expect.apply(want.getFloat(i)), g = got.getFloat(i);
            if (Float.floatToRawIntBits(w) != Float.floatToRawIntBits(g)) {
                fail(where + ": first difference at [" + i + "]: expected " + w + ", got " + g);
            }
        }
    }

    private static void assertArrays(float[] want, float[] got, String where) {
        assertEquals(want.length, got.length, where);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                fail(where + ": first difference at [" + i + "]: expected " + want[i] + ", got " + got[i]);
            }
        }
    }

    private static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(n -> out.add(n.textValue()));
        return out;
    }
}
