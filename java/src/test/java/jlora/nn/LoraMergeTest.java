package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import jlora.UserError;
import jlora.backend.cpu.CpuBackend;
import jlora.io.HfModelFiles;
import jlora.io.PeftAdapter;
import jlora.io.SafetensorsDir;
import jlora.io.SafetensorsFile;
import jlora.io.SafetensorsWriter;
import jlora.model.ModelConfig;
import jlora.model.WeightMap;
import jlora.quant.Nf4Tensor;
import jlora.tensor.DType;
import jlora.tensor.HalfFloats;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LoraMerge} against independent oracles: the merged model's logits against the base model
 * running the adapter unmerged (CausalLM computes W·x + scale·B·(A·x), never forming B·A), relative
 * error max|diff| / max|ref| below 1e-5; the bf16 output against the f32 output rounded to nearest
 * even by HalfFloats (bit for bit); the sharded output against the single-file output (byte for
 * byte); a bitsandbytes 4-bit base against merging a plain checkpoint holding the same weights
 * dequantized (byte for byte); and the files and failure behaviour a Hugging Face directory needs.
 */
class LoraMergeTest {
    static final CpuBackend CPU = new CpuBackend();
    static final ObjectMapper JSON = new ObjectMapper();
    final long seed = System.nanoTime();
    final SplittableRandom rng = new SplittableRandom(seed);
    final List<String> log = new ArrayList<>();

    @TempDir
    Path tmp;

    /** A saved adapter for {@code base} with random B (and random trained norms and tables, if any). */
    Path adapter(Path base, LoraConfig config, String name) {
        Path dir = tmp.resolve(name);
        try (CausalLM m = CausalLM.load(base, CPU, LoadOptions.DEFAULT.withLora(config))) {
            for (LoraPair p : m.lora().pairs()) {
                for (long i = 0; i < p.b().numel(); i++) p.b().setFloat(i, (float) (0.05 * TinyModels.gaussian(rng)));
            }
            for (var e : m.lora().saved().entrySet()) {
                Tensor t = e.getValue();
                boolean table = e.getKey().equals(LoraWeights.EMBED_WEIGHT) || e.getKey().equals(LoraWeights.LM_HEAD_WEIGHT);
                for (long i = 0; i < t.numel(); i++) {
                    double g = TinyModels.gaussian(rng);
                    t.setFloat(i, (float) (table ? t.getFloat(i) + 0.05 * g : 1 + 0.2 * g));
                }
            }
            PeftAdapter.save(dir, m.lora(), base.toString(), null, DType.F32);
        }
        return dir;
    }

    /** What the merge printed: which weights it used, then progress. */
    String said() {
        return String.join("\n", log);
    }

    LoraMerge.Result merge(Path base, Path adapter, Path out, DType dtype, long shard) {
        return LoraMerge.merge(new LoraMerge.Options(base, adapter, out, dtype, shard, null, false), log::add);
    }

    float[] logits(Path dir, Path adapter, int[] ids) {
        LoadOptions o = adapter == null ? LoadOptions.DEFAULT : LoadOptions.DEFAULT.withAdapter(adapter);
        try (CausalLM m = CausalLM.load(dir, CPU, o)) {
            int[] pos = new int[ids.length];
            for (int i = 0; i < pos.length; i++) pos[i] = i;
            return m.forward(ids, pos, true);
        }
    }

    static void assertRelClose(float[] ref, float[] got, double tol, String what) {
        assertEquals(ref.length, got.length, what);
        double maxRef = 0, worst = -1;
        int at = -1;
        for (int i = 0; i < ref.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
            double d = Math.abs((double) ref[i] - got[i]);
            if (Double.isNaN(d)) d = Double.POSITIVE_INFINITY;
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        double rel = worst / maxRef;
        assertTrue(rel < tol, what + ": relative error " + rel + " at " + at + ": reference " + ref[at] + ", got " + got[at]);
    }

    int[] ids(int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        return ids;
    }

    /** Every tensor of {@code dir} as raw bytes by name. */
    static Map<String, byte[]> tensors(Path dir) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (SafetensorsDir st = SafetensorsDir.open(dir)) {
            for (String n : st.names()) out.put(n, st.tensor(n).data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
        return out;
    }

    static void assertSameTensors(Map<String, byte[]> want, Map<String, byte[]> got, String what) {
        assertEquals(want.keySet(), got.keySet(), what + ": tensor names");
        for (String n : want.keySet()) {
            byte[] a = want.get(n), b = got.get(n);
            int first = java.util.Arrays.mismatch(a, b);
            assertEquals(-1, first, what + ": tensor " + n + " differs first at byte " + first);
        }
    }

    @Test
    void qwen2TiedWithRsLoraLayerFilterPatternsAndNormsMatchesUnmergedLogits() throws IOException {
        Path base = TinyModels.write(tmp.resolve("qwen2"), "qwen2", seed);
        LoraConfig c = LoraConfig.builder().r(4).loraAlpha(6).targetModules("all-linear").useRslora(true)
                .layersToTransform(List.of(1)).rankPattern(new java.util.LinkedHashMap<>(Map.of("q_proj", 2)))
                .alphaPattern(new java.util.LinkedHashMap<>(Map.of("down_proj", 3.0))).trainableNorms(true)
                .modulesToSave(List.of("embed_tokens")).seed(seed).build();
        Path ad = adapter(base, c, "adapter");
        Path out = tmp.resolve("merged");
        LoraMerge.Result r = merge(base, ad, out, DType.F32, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        assertEquals(LoraMerge.Base.ORIGINAL, r.base());
        assertEquals(7, r.mergedModules(), "all-linear in layer 1 only");
        assertTrue(r.replacedModules() > 0);

        int[] ids = ids(12, ModelConfig.load(base).vocabSize());
        assertRelClose(logits(base, ad, ids), logits(out, null, ids), 1e-5, "qwen2 merged vs unmerged, seed " + seed);

        // Tied embeddings stay tied: no lm_head written, the flag kept; the table is the trained one
        // (which the logits above check serves as both the input lookup and the head).
        try (SafetensorsDir st = SafetensorsDir.open(out)) {
            assertFalse(st.contains("lm_head.weight"));
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                Tensor trained = PeftAdapter.load(ad, ModelConfig.load(base), arena).weights().saved().get(LoraWeights.EMBED_WEIGHT);
                assertArrayEquals(trained.toFloatArray(), st.tensor(LoraWeights.EMBED_WEIGHT).toFloatArray(), "merged embedding");
            }
        }
        assertTrue(ModelConfig.load(out).tieWordEmbeddings());
        // Tokenizer and generation files copied byte for byte.
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            assertTrue(r.companions().contains(f), f + " in " + r.companions());
            assertEquals(-1, Files.mismatch(base.resolve(f), out.resolve(f)), f);
        }
    }

    @Test
    void llamaUntiedMatchesUnmergedLogitsAndKeepsEveryConfigField() throws IOException {
        Path base = TinyModels.write(tmp.resolve("llama"), "llama", seed);
        LoraConfig c = LoraConfig.builder().r(3).loraAlpha(7).targetModules("all-linear")
                .modulesToSave(List.of("embed_tokens", "lm_head")).seed(seed).build();
        Path ad = adapter(base, c, "adapter");
        Path out = tmp.resolve("merged");
        merge(base, ad, out, DType.F32, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        int[] ids = ids(10, 97);
        float[] unmerged = logits(base, ad, ids);
        assertRelClose(unmerged, logits(out, null, ids), 1e-5, "llama merged vs unmerged, seed " + seed);
        // The delta matters: the base alone is far from the adapted model.
        float[] plain = logits(base, null, ids);
        double diff = 0;
        for (int i = 0; i < plain.length; i++) diff = Math.max(diff, Math.abs(plain[i] - unmerged[i]));
        assertTrue(diff > 1e-2, "adapter changes logits by only " + diff);

        JsonNode before = JSON.readTree(base.resolve("config.json").toFile());
        JsonNode after = JSON.readTree(out.resolve("config.json").toFile());
        for (var e : before.properties()) {
            if (e.getKey().equals("torch_dtype")) continue;
            assertEquals(e.getValue(), after.get(e.getKey()), "config field " + e.getKey());
        }
        assertEquals("float32", after.get("torch_dtype").textValue());
        try (SafetensorsDir st = SafetensorsDir.open(out)) {
            assertTrue(st.contains("lm_head.weight"));
            assertEquals("pt", st.shards().getFirst().metadata().get("format"));
        }
    }

    @Test
    void bf16AndF16OutputsAreTheF32OutputRoundedToNearestEven() {
        Path base = TinyModels.write(tmp.resolve("llama"), "llama", seed);
        Path ad = adapter(base, LoraConfig.builder().r(4).loraAlpha(8).targetModules("all-linear").trainableNorms(true)
                .seed(seed).build(), "adapter");
        merge(base, ad, tmp.resolve("f32"), DType.F32, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        merge(base, ad, tmp.resolve("bf16"), DType.BF16, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        merge(base, ad, tmp.resolve("f16"), DType.F16, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        try (SafetensorsDir f32 = SafetensorsDir.open(tmp.resolve("f32"));
             SafetensorsDir bf16 = SafetensorsDir.open(tmp.resolve("bf16"));
             SafetensorsDir f16 = SafetensorsDir.open(tmp.resolve("f16"))) {
            assertEquals(f32.names(), bf16.names());
            assertEquals(f32.names(), f16.names());
            for (String n : f32.names()) {
                Tensor w = f32.tensor(n), b = bf16.tensor(n), h = f16.tensor(n);
                assertEquals(DType.F32, w.dtype());
                assertEquals(DType.BF16, b.dtype(), n);
                assertEquals(DType.F16, h.dtype(), n);
                for (long i = 0; i < w.numel(); i++) {
                    short wantB = HalfFloats.f32ToBf16(w.getFloat(i));
                    short gotB = b.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i);
                    assertEquals(wantB, gotB, n + "[" + i + "] bf16 of " + w.getFloat(i));
                    short wantH = HalfFloats.f32ToF16(w.getFloat(i));
                    short gotH = h.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i);
                    assertEquals(wantH, gotH, n + "[" + i + "] f16 of " + w.getFloat(i));
                }
            }
        }
        assertEquals("bfloat16", ModelConfig.load(tmp.resolve("bf16")).torchDtype());
        assertEquals("float16", ModelConfig.load(tmp.resolve("f16")).torchDtype());
    }

    @Test
    void tinyShardSizeWritesSeveralShardsWithAnIndexHoldingEachTensorOnce() throws IOException {
        Path base = TinyModels.write(tmp.resolve("llama"), "llama", seed);
        Path ad = adapter(base, LoraConfig.builder().r(2).loraAlpha(4).targetModules("all-linear").seed(seed).build(), "a");
        merge(base, ad, tmp.resolve("one"), DType.BF16, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        LoraMerge.Result r = merge(base, ad, tmp.resolve("sharded"), DType.BF16, 20_000);
        Path out = tmp.resolve("sharded");
        assertFalse(Files.exists(out.resolve("model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors.index.json")));
        List<Path> shards;
        try (Stream<Path> s = Files.list(out)) {
            shards = s.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).sorted().toList();
        }
        assertTrue(shards.size() >= 3, "shards: " + shards);
        assertEquals(shards.size() + 1, r.files().size(), r.files().toString());

        Map<String, Integer> seen = new HashMap<>();
        long total = 0;
        for (Path p : shards) {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertEquals("pt", f.metadata().get("format"));
                assertTrue(f.dataBytes() <= 20_000 || f.names().size() == 1, p + " holds " + f.dataBytes() + " bytes");
                for (String n : f.names()) {
                    seen.merge(n, 1, Integer::sum);
                    total += f.info(n).byteSize();
                }
            }
        }
        JsonNode index = JSON.readTree(out.resolve("model.safetensors.index.json").toFile());
        assertEquals(total, index.get("metadata").get("total_size").longValue());
        for (var e : seen.entrySet()) assertEquals(1, e.getValue(), e.getKey() + " appears in several shards");
        Map<String, byte[]> single = tensors(tmp.resolve("one"));
        assertEquals(single.keySet(), seen.keySet());
        assertSameTensors(single, tensors(out), "sharded vs single file");
    }

    /** The tiny llama with its linear weights rounded to bf16 and stored as bitsandbytes NF4. */
    record Quantized(Path bnb, Path dequantized) {}

    Quantized quantizedLlama(Path original) throws IOException {
        Path bnb = tmp.resolve("bnb"), deq = tmp.resolve("dequantized");
        Files.createDirectories(bnb);
        Files.createDirectories(deq);
        try (SafetensorsDir src = SafetensorsDir.open(original); Arena arena = Arena.ofShared()) {
            LinkedHashMap<String, Tensor> q = new LinkedHashMap<>(), d = new LinkedHashMap<>();
            for (String n : src.names()) {
                Tensor t = src.tensor(n);
                boolean linear = WeightMap.LINEAR_MODULES.stream().anyMatch(m -> n.endsWith("." + m + ".weight"));
                if (!linear) {
                    q.put(n, t);
                    d.put(n, t);
                    continue;
                }
                Tensor bf16 = Tensor.allocate(DType.BF16, t.shape(), arena);
                for (long i = 0; i < t.numel(); i++) bf16.setFloat(i, t.getFloat(i));
                Nf4Tensor nf4 = Nf4Tensor.quantize(bf16, 64, true, arena);
                q.putAll(nf4.toBitsandbytes(n, arena));
                d.put(n, nf4.dequantize(arena)); // bitsandbytes' dequantize: back to bf16
            }
            SafetensorsWriter.write(bnb.resolve("model.safetensors"), q, Map.of("format", "pt"));
            SafetensorsWriter.write(deq.resolve("model.safetensors"), d, Map.of("format", "pt"));
        }
        ObjectNode cfg = (ObjectNode) JSON.readTree(original.resolve("config.json").toFile());
        Files.writeString(deq.resolve("config.json"), cfg.toString());
        ObjectNode qc = cfg.putObject("quantization_config");
        qc.put("quant_method", "bitsandbytes").put("load_in_4bit", true).put("bnb_4bit_quant_type", "nf4")
                .put("bnb_4bit_use_double_quant", true).put("bnb_4bit_compute_dtype", "bfloat16");
        Files.writeString(bnb.resolve("config.json"), cfg.toString());
        assertEquals("bitsandbytes", ModelConfig.load(bnb).quantMethod());
        return new Quantized(bnb, deq);
    }

    @Test
    void bnb4bitBaseMergesIntoDequantizedWeightsOrIntoTheOriginalsWhenGiven() throws IOException {
        Path original = TinyModels.write(tmp.resolve("llama"), "llama", seed);
        Quantized qz = quantizedLlama(original);
        Path ad = adapter(original, LoraConfig.builder().r(4).loraAlpha(8).targetModules("all-linear")
                .layersToTransform(List.of(0)).seed(seed).build(), "adapter");

        log.clear();
        LoraMerge.Result fromBnb = merge(qz.bnb(), ad, tmp.resolve("from-bnb"), DType.F32, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        assertEquals(LoraMerge.Base.DEQUANTIZED_NF4, fromBnb.base());
        assertTrue(said().contains("dequantized NF4") && said().contains("lossy"), said());
        merge(qz.dequantized(), ad, tmp.resolve("from-deq"), DType.F32, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        assertSameTensors(tensors(tmp.resolve("from-deq")), tensors(tmp.resolve("from-bnb")), "bnb vs dequantize-then-merge");
        JsonNode cfg = JSON.readTree(tmp.resolve("from-bnb").resolve("config.json").toFile());
        assertFalse(cfg.has("quantization_config"), cfg.toString());
        assertEquals(null, ModelConfig.load(tmp.resolve("from-bnb")).quantMethod());

        log.clear();
        LoraMerge.Result fromOriginal = LoraMerge.merge(new LoraMerge.Options(qz.bnb(), ad, tmp.resolve("from-orig"),
                DType.F32, LoraMerge.DEFAULT_MAX_SHARD_BYTES, original, false), log::add);
        assertEquals(LoraMerge.Base.ORIGINAL, fromOriginal.base());
        assertTrue(said().contains("original high-precision"), said());
        merge(original, ad, tmp.resolve("plain"), DType.F32, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        assertSameTensors(tensors(tmp.resolve("plain")), tensors(tmp.resolve("from-orig")), "--base-precision vs plain merge");
    }

    @Test
    void nf4RunIsRecognisedFromTheRunConfigAndMergedIntoTheOriginals() throws IOException {
        Path base = TinyModels.write(tmp.resolve("llama"), "llama", seed);
        Path run = tmp.resolve("run");
        Files.createDirectories(run);
        Path ad = adapter(base, LoraConfig.builder().r(2).loraAlpha(4).targetModules(List.of("q_proj", "v_proj")).seed(seed).build(),
                "run/final");
        Files.writeString(run.resolve(LoraMerge.RUN_CONFIG), "model:\n  path: x\nquantization:\n  mode: nf4\n  double_quant: true\n");
        LoraMerge.Result r = merge(base, ad, tmp.resolve("out"), DType.BF16, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        assertEquals(LoraMerge.Base.ORIGINAL, r.base());
        assertTrue(said().contains("trained on NF4") && said().contains("original high-precision"), said());
    }

    @Test
    void failuresLeaveNoOutputAndNonEmptyOutIsRefusedWithoutForce() throws IOException {
        Path llama = TinyModels.write(tmp.resolve("llama"), "llama", seed);
        Path qwen3 = TinyModels.write(tmp.resolve("qwen3"), "qwen3", seed);
        Path ad = adapter(llama, LoraConfig.builder().r(2).loraAlpha(4).targetModules("all-linear").seed(seed).build(), "a");
        Path out = tmp.resolve("out");

        // An adapter of another model: refused after the staging dir exists; nothing is left.
        UserError e = assertThrows(UserError.class, () -> merge(qwen3, ad, out, DType.BF16, 1 << 20));
        assertTrue(e.getMessage().contains("adapter_model.safetensors"), e.getMessage());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(tmp)) {
            List<String> hidden = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
            assertEquals(List.of(), hidden, "temp dirs left behind");
        }

        Files.createDirectories(out);
        Files.writeString(out.resolve("notes.txt"), "keep me");
        e = assertThrows(UserError.class, () -> merge(llama, ad, out, DType.BF16, 1 << 20));
        assertTrue(e.getMessage().contains("--force"), e.getMessage());
        assertEquals("keep me", Files.readString(out.resolve("notes.txt")));

        LoraMerge.merge(new LoraMerge.Options(llama, ad, out, DType.BF16, 1 << 20, null, true), log::add);
        assertFalse(Files.exists(out.resolve("notes.txt")));
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));

        e = assertThrows(UserError.class, () -> LoraMerge.merge(
                new LoraMerge.Options(llama, ad, llama, DType.BF16, 1 << 20, null, true), log::add));
        assertTrue(e.getMessage().contains("would replace the input"), e.getMessage());
        assertTrue(Files.isRegularFile(llama.resolve("model.safetensors")));
    }

    /** Older checkpoints carry rotary inv_freq buffers; an integer one must come through untouched. */
    @Test
    void integerTensorsAreKeptAndFloatExtrasConverted() throws IOException {
        Path base = TinyModels.write(tmp.resolve("llama"), "llama", seed);
        Path ad = adapter(base, LoraConfig.builder().r(2).loraAlpha(4).targetModules("all-linear").seed(seed).build(), "a");
        String ints = "model.layers.0.self_attn.rotary_emb.inv_freq", floats = "model.layers.1.self_attn.rotary_emb.inv_freq";
        long[] counts = {rng.nextLong(), -1, 0, Long.MAX_VALUE};
        try (SafetensorsDir src = SafetensorsDir.open(base); Arena arena = Arena.ofShared()) {
            LinkedHashMap<String, Tensor> all = new LinkedHashMap<>();
            for (String n : src.names()) all.put(n, src.tensor(n));
            Tensor i64 = Tensor.allocate(DType.I64, jlora.tensor.Shape.of(4), arena);
            for (int i = 0; i < 4; i++) i64.data().setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i, counts[i]);
            all.put(ints, i64);
            all.put(floats, Tensor.of(DType.F32, jlora.tensor.Shape.of(3), new float[] {1f, 0.1f, 1e-3f}, arena));
            SafetensorsWriter.write(tmp.resolve("with-extras.safetensors"), all, Map.of("format", "pt"));
        }
        Files.move(tmp.resolve("with-extras.safetensors"), base.resolve("model.safetensors"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        merge(base, ad, tmp.resolve("out"), DType.BF16, LoraMerge.DEFAULT_MAX_SHARD_BYTES);
        try (SafetensorsDir st = SafetensorsDir.open(tmp.resolve("out"))) {
            Tensor i64 = st.tensor(ints);
            assertEquals(DType.I64, i64.dtype());
            for (int i = 0; i < 4; i++) {
                assertEquals(counts[i], i64.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i), ints + "[" + i + "]");
            }
            Tensor f = st.tensor(floats);
            assertEquals(DType.BF16, f.dtype());
            assertEquals(HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(0.1f)), f.getFloat(1));
        }
    }

    @Test
    void configRewriteKeepsFieldOrderAndDropsQuantization() throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, "{\"b\": 1, \"quantization_config\": {\"quant_method\": \"bitsandbytes\"}, \"a\": [1, 2],"
                + " \"torch_dtype\": \"float32\", \"dtype\": \"float32\", \"rope_scaling\": null}");
        JsonNode out = JSON.readTree(HfModelFiles.rewriteConfig(f, DType.BF16));
        List<String> keys = new ArrayList<>();
        out.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("b", "a", "torch_dtype", "dtype", "rope_scaling"), keys);
        assertEquals("bfloat16", out.get("torch_dtype").textValue());
        assertEquals("bfloat16", out.get("dtype").textValue());
        assertTrue(out.get("rope_scaling").isNull());
    }
}
