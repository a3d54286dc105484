package jlora.bench.gpu;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import jlora.autograd.Tape;
import jlora.backend.LossSum;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.CudaBackend;
import jlora.io.SafetensorsWriter;
import jlora.model.ModelConfig;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.nn.LoraConfig;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * One training micro-step (LoRA r 16 on all linear layers, gradient checkpointing, forward +
 * chunked CE + backward; the AdamW update on the device is a few kernels over the LoRA masters
 * and is left out) of a Qwen2.5-1.5B-shaped model with {@value #LAYERS} of its 28 decoder layers
 * and random bf16 weights, at {@value #TOKENS} tokens (one document), on the CUDA backend:
 * LoRA on bf16, QLoRA (NF4 + double quant), and QLoRA with the fused LoRA and LM-head cross-entropy kernels. Wall time per
 * step (wall clock up to a device synchronize), tokens/s, the model FLOPs rate with 8·N·T per step
 * (forward, recompute, input-gradient backward: no base-weight gradients) over the linear layers'
 * N, and the peak device memory jlora's allocator saw.
 */
final class TrainStepBench implements GpuBenchmark {
    static final int LAYERS = 4, TOKENS = 2048, STEPS = 5, WARMUP = 2;

    @Override
    public String name() {
        return "train-step";
    }

    static final String CONFIG = """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536,
             "intermediate_size": 8960, "num_hidden_layers": %d, "num_attention_heads": 12,
             "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 32768,
             "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true,
             "hidden_act": "silu", "torch_dtype": "bfloat16", "use_sliding_window": false}""".formatted(LAYERS);

    @Override
    public void run(CudaApi api, PrintStream out) {
        Path dir;
        long linearParams = 0;
        try {
            dir = Files.createTempDirectory("jlora-train-bench");
            Files.writeString(dir.resolve("config.json"), CONFIG);
            ModelConfig c = ModelConfig.load(dir);
            SplittableRandom r = new SplittableRandom(7);
            Map<String, Tensor> w = new LinkedHashMap<>();
            try (Arena arena = Arena.ofShared()) {
                for (Map.Entry<String, Shape> e : c.weightMap().expected().entrySet()) {
                    Shape s = e.getValue();
                    float[] v = new float[Math.toIntExact(s.numel())];
                    boolean norm = e.getKey().endsWith("norm.weight");
                    for (int i = 0; i < v.length; i++) v[i] = norm ? 1f : e.getKey().endsWith(".bias") ? 0f : (float) (r.nextGaussian() * 0.02);
                    w.put(e.getKey(), Tensor.of(DType.BF16, s, v, arena));
                    if (e.getKey().contains("_proj.weight")) linearParams += s.numel();
                }
                SafetensorsWriter.write(dir.resolve("model.safetensors"), new LinkedHashMap<>(w), Map.of("format", "pt"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        linearParams += 151936L * 1536; // the tied LM head
        out.println();
        out.printf(Locale.ROOT, "Qwen2.5-1.5B shape, %d layers, %d tokens, LoRA r 16 all-linear, gradient checkpointing; "
                + "median of %d steps after %d warm-ups (wall clock to a device synchronize)%n%n", LAYERS, TOKENS,
                STEPS, WARMUP);
        out.println("| variant | ms / step | tokens/s | model TFLOP/s (8·N·T) | peak device memory |");
        out.println("|---|---:|---:|---:|---:|");
        try {
            for (String variant : new String[] {"LoRA bf16", "QLoRA nf4", "QLoRA nf4, fused LoRA + LM-head CE kernels"}) {
                boolean nf4 = variant.startsWith("QLoRA"), fused = variant.contains("fused");
                LoraConfig lora = LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0.05).targetModules("all-linear")
                        .seed(1).build();
                LoadOptions o = LoadOptions.DEFAULT.withDtype(DType.BF16).withNf4(nf4, true).withLora(lora).withVocabChunk(8192);
                try (CudaBackend b = CudaBackend.open(0, CudaBackend.GemmPath.CUBLAS, fused); CausalLM m = CausalLM.load(dir, b, o)) {
                    m.gradientCheckpointing(true);
                    int[] ids = new int[TOKENS], pos = new int[TOKENS];
                    SplittableRandom r = new SplittableRandom(3);
                    for (int t = 0; t < TOKENS; t++) {
                        ids[t] = r.nextInt(151936);
                        pos[t] = t;
                    }
                    double[] ms = new double[STEPS];
                    for (int s = -WARMUP; s < STEPS; s++) {
                        if (s == 0) b.resetPeakMemory();
                        long t0 = System.nanoTime();
                        m.zeroGradients();
                        try (Tape tape = new Tape(b)) {
                            LossSum l = m.loss(ids, pos, ids, tape, s + WARMUP);
                            tape.backward((float) (1.0 / l.count()));
                        }
                        api.synchronize();
                        if (s >= 0) ms[s] = (System.nanoTime() - t0) / 1e6;
                    }
                    java.util.Arrays.sort(ms);
                    double med = ms[STEPS / 2];
                    out.printf(Locale.ROOT, "| %s | %.1f | %.0f | %.1f | %.2f GiB |%n", variant, med, TOKENS / (med / 1e3),
                            8.0 * linearParams * TOKENS / (med * 1e9), b.peakMemory() / (double) (1L << 30));
                }
            }
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temp folder left behind is harmless
            }
        }
    }
}
