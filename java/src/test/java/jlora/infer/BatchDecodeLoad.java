package jlora.infer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jlora.backend.cpu.CpuBackend;
import jlora.data.Message;
import jlora.io.SafetensorsWriter;
import jlora.model.ModelConfig;
import jlora.model.TinyModel;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;

/**
 * Throughput driver (not a unit test): N concurrent greedy chat requests, each generating
 * exactly {@code tokens} tokens (EOS ignored), through the one-at-a-time
 * {@link ModelChatEngine} (N threads queue on its lock) and through a {@link BatchingEngine}
 * with batch N. Reports total generated tokens / wall time, prefill included, and checks that
 * every batched reply equals its solo reply. Models: the built-in tiny model and a
 * Qwen2-shaped random model (4 layers, hidden 512, 8 heads / 2 kv heads, MLP 1536, the tiny
 * byte-level tokenizer, vocab 259) written to a temporary HF directory.
 *
 * <p>Run: bench/batch-decode.sh [tokens-tiny=64] [tokens-big=32] [repeats=2]. Prints Markdown rows.
 */
public final class BatchDecodeLoad {
    public static void main(String[] args) throws Exception {
        int tinyTokens = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        int bigTokens = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        Path tmp = Files.createTempDirectory("jlora-batch-bench");
        Path tiny = TinyModel.materialize(tmp.resolve("tiny"));
        Path big = writeQwen2Random(tmp.resolve("qwen2-h512-l4"), tiny);
        System.out.println("| model | clients | tokens each | one-at-a-time tok/s | batched tok/s | speed-up | largest batch |");
        System.out.println("|---|---|---|---|---|---|---|");
        run("tiny", tiny, tinyTokens, repeats);
        run("qwen2 h512 l4 (random)", big, bigTokens, repeats);
    }

    static void run(String name, Path dir, int tokens, int repeats) throws Exception {
        for (int clients : new int[] {1, 4, 8}) {
            List<ChatRequest> reqs = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                reqs.add(new ChatRequest(List.of(Message.user("질문 " + i + ": " + "가나다라마바사".substring(0, 1 + i % 7))),
                        List.of(), new SamplingParams(0, 1, 0, 0, 1, null, tokens, List.of()), null));
            }
            double bestSolo = 0, bestBatch = 0;
            int largest = 0;
            try (ModelChatEngine solo = engine(dir, "solo");
                 BatchingEngine batch = new BatchingEngine(engine(dir, "batch"), clients)) {
                List<ChatResult> want = null;
                for (int r = 0; r <= repeats; r++) { // round 0 warms the JIT and is not counted
                    Timed a = timed(solo, reqs);
                    Timed b = timed(batch, reqs);
                    for (int i = 0; i < clients; i++) {
                        if (!a.results.get(i).text().equals(b.results.get(i).text())
                                || a.results.get(i).completionTokens() != tokens) {
                            throw new AssertionError(name + " client " + i + ": batched reply differs from solo or is short");
                        }
                    }
                    if (r > 0) {
                        bestSolo = Math.max(bestSolo, a.tokPerS);
                        bestBatch = Math.max(bestBatch, b.tokPerS);
                    }
                }
                largest = batch.largestBatch();
            }
            System.out.printf("| %s | %d | %d | %.0f | %.0f | %.2f× | %d |%n", name, clients, tokens, bestSolo, bestBatch,
                    bestBatch / bestSolo, largest);
        }
    }

    record Timed(List<ChatResult> results, double tokPerS) {}

    static Timed timed(ChatEngine engine, List<ChatRequest> reqs) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(reqs.size());
        try {
            long t0 = System.nanoTime();
            List<Future<ChatResult>> fs = new ArrayList<>();
            for (ChatRequest r : reqs) fs.add(pool.submit(() -> engine.generate(r, t -> { }, () -> false)));
            List<ChatResult> out = new ArrayList<>();
            int tokens = 0;
            for (Future<ChatResult> f : fs) {
                out.add(f.get());
                tokens += out.getLast().completionTokens();
            }
            return new Timed(out, tokens / ((System.nanoTime() - t0) / 1e9));
        } finally {
            pool.shutdownNow();
        }
    }

    /** The model with no EOS ids, so every request runs to max_tokens. */
    static ModelChatEngine engine(Path dir, String id) {
        CausalLM lm = CausalLM.load(dir, new CpuBackend(), LoadOptions.DEFAULT);
        return new ModelChatEngine(id, new CausalLmDecoder(lm), Tokenizer.load(dir), ChatTemplate.load(dir), Set.of(),
                GenerationDefaults.load(dir), lm);
    }

    static Path writeQwen2Random(Path dir, Path tiny) throws Exception {
        Files.createDirectories(dir);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            Files.copy(tiny.resolve(f), dir.resolve(f));
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(TinyModel.spec().configJson());
        c.put("hidden_size", 512).put("intermediate_size", 1536).put("num_hidden_layers", 4)
                .put("max_window_layers", 4).put("num_attention_heads", 8).put("num_key_value_heads", 2);
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(c));
        ModelConfig config = ModelConfig.load(dir);
        SplittableRandom rng = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : config.weightMap().expected().entrySet()) {
                float[] v = new float[Math.toIntExact(e.getValue().numel())];
                String n = e.getKey();
                for (int i = 0; i < v.length; i++) {
                    double g = rng.nextDouble(-1.7320508, 1.7320508); // uniform with unit variance
                    v[i] = (float) (n.endsWith("norm.weight") ? 1 + 0.1 * g : n.endsWith(".bias") ? 0.02 * g : 0.05 * g);
                }
                tensors.put(n, Tensor.of(DType.F32, e.getValue(), v, arena));
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        return dir;
    }
}
