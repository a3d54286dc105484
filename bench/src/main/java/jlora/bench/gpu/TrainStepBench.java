package jlora.bench.gpu;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
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
import jlora.tensor.HalfFloats;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * One training micro-step on the CUDA backend — LoRA r 16 / alpha 32 / dropout 0.05 on all
 * linear layers, gradient checkpointing, forward + chunked CE + backward; the AdamW update (a few
 * kernels over the LoRA masters) is left out, as the HF peer leaves it out — for Qwen2.5-1.5B and
 * Qwen2.5-7B shapes with the first few decoder layers (the layer count is in every row) and
 * random bf16 weights, {@value #TOKENS} tokens in one document: LoRA on bf16, QLoRA (NF4 +
 * double quant), and QLoRA with the fused LoRA and LM-head CE kernels. Wall time per step to a
 * device synchronize, tokens/s, the model FLOPs rate with 8·N·T per step (forward, recompute,
 * input-gradient backward; no base-weight gradients) over the linear layers' and the head's N,
 * and the peak device memory jlora's allocator saw. Rows also go to
 * {@code $JLORA_BENCH_DIR/train_step_jlora.tsv} for bench/peers/torch_peft_train_step.py
 * (HF transformers + PEFT on the same shapes in the same run).
 */
final class TrainStepBench implements GpuBenchmark {
    static final int TOKENS = 2048, STEPS = 5, WARMUP = 2;

    /** A published config's numbers, with the decoder layers cut to {@code layers}. */
    record ModelShape(String name, int hidden, int inter, int heads, int kvHeads, int vocab, boolean tied, int layers) {
        String configJson() {
            return """
                    {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": %d,
                     "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                     "num_key_value_heads": %d, "vocab_size": %d, "max_position_embeddings": 32768,
                     "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": %b,
                     "hidden_act": "silu", "torch_dtype": "bfloat16", "use_sliding_window": false}"""
                    .formatted(hidden, inter, layers, heads, kvHeads, vocab, tied);
        }
    }

    static final List<ModelShape> SHAPES = List.of(
            new ModelShape("qwen2.5-1.5b", 1536, 8960, 12, 2, 151936, true, 4),
            new ModelShape("qwen2.5-7b", 3584, 18944, 28, 4, 152064, false, 8));

    static final String[] VARIANTS = {"LoRA bf16", "QLoRA nf4", "QLoRA nf4 fused"};

    @Override
    public String name() {
        return "train-step";
    }

    @Override
    public void run(CudaApi api, PrintStream out) {
        Path tsvDir = Path.of(System.getenv().getOrDefault("JLORA_BENCH_DIR", "build/gpu-run"));
        List<String> tsv = new ArrayList<>(List.of("shape\tlayers\ttokens\tvariant\tms_per_step\tpeak_bytes"));
        out.println();
        out.printf(Locale.ROOT, "LoRA r 16 all-linear (dropout 0.05), gradient checkpointing, %d tokens in one document, random "
                + "bf16 weights; median of %d steps after %d warm-ups, wall clock to a device synchronize; \"fused\" = the "
                + "fused LoRA linear and LM-head cross-entropy kernels; model TFLOP/s counts 8·N·T%n%n", TOKENS, STEPS, WARMUP);
        out.println("| shape | layers | variant | ms / step | tokens/s | model TFLOP/s | peak device memory |");
        out.println("|---|---:|---|---:|---:|---:|---:|");
        for (ModelShape s : SHAPES) {
            Path dir = null;
            try {
                long t0 = System.nanoTime();
                dir = Files.createTempDirectory("jlora-train-bench");
                long n = writeModel(dir, s);
                System.err.printf(Locale.ROOT, "train-step: %s x %d layers written in %.1f s%n", s.name(), s.layers(),
                        (System.nanoTime() - t0) / 1e9);
                for (String variant : VARIANTS) {
                    long t1 = System.nanoTime();
                    double[] r = measure(api, dir, s, variant);
                    out.printf(Locale.ROOT, "| %s | %d | %s | %.1f | %.0f | %.1f | %.2f GiB |%n", s.name(), s.layers(), variant,
                            r[0], TOKENS / (r[0] / 1e3), 8.0 * n * TOKENS / (r[0] * 1e9), r[1] / (double) (1L << 30));
                    tsv.add(String.join("\t", s.name(), String.valueOf(s.layers()), String.valueOf(TOKENS), variant,
                            String.format(Locale.ROOT, "%.3f", r[0]), String.valueOf((long) r[1])));
                    System.err.printf(Locale.ROOT, "train-step: %s %s in %.1f s%n", s.name(), variant, (System.nanoTime() - t1) / 1e9);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                if (dir != null) delete(dir);
            }
        }
        try {
            Files.createDirectories(tsvDir);
            Files.write(tsvDir.resolve("train_step_jlora.tsv"), tsv);
        } catch (IOException e) {
            out.println("(could not write " + tsvDir.resolve("train_step_jlora.tsv") + ": " + e.getMessage() + ")");
        }
    }

    /** {median ms per step, peak device bytes} of one variant. */
    private static double[] measure(CudaApi api, Path dir, ModelShape s, String variant) {
        boolean nf4 = variant.startsWith("QLoRA"), fused = variant.endsWith("fused");
        LoraConfig lora = LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0.05).targetModules("all-linear").seed(1).build();
        LoadOptions o = LoadOptions.DEFAULT.withDtype(DType.BF16).withNf4(nf4, true).withLora(lora).withVocabChunk(8192);
        try (CudaBackend b = CudaBackend.open(0, CudaBackend.GemmPath.CUBLAS, fused); CausalLM m = CausalLM.load(dir, b, o)) {
            m.gradientCheckpointing(true);
            int[] ids = new int[TOKENS], pos = new int[TOKENS];
            SplittableRandom r = new SplittableRandom(3);
            for (int t = 0; t < TOKENS; t++) {
                ids[t] = r.nextInt(s.vocab());
                pos[t] = t;
            }
            double[] ms = new double[STEPS];
            for (int step = -WARMUP; step < STEPS; step++) {
                if (step == 0) b.resetPeakMemory();
                long t0 = System.nanoTime();
                m.zeroGradients();
                try (Tape tape = new Tape(b)) {
                    LossSum l = m.loss(ids, pos, ids, tape, step + WARMUP);
                    tape.backward((float) (1.0 / l.count()));
                }
                api.synchronize();
                if (step >= 0) ms[step] = (System.nanoTime() - t0) / 1e6;
            }
            java.util.Arrays.sort(ms);
            return new double[] {ms[STEPS / 2], b.peakMemory()};
        }
    }

    /**
     * config.json and model.safetensors with random bf16 weights (uniform, std about 0.02: a
     * table of the 256 byte values' bf16 bits, four per random long, so 15 GB take seconds);
     * norms 1, biases 0. Returns the parameter count of the linear layers and the LM head.
     */
    static long writeModel(Path dir, ModelShape s) throws IOException {
        Files.writeString(dir.resolve("config.json"), s.configJson());
        ModelConfig c = ModelConfig.load(dir);
        short[] table = new short[256];
        for (int i = 0; i < 256; i++) table[i] = HalfFloats.f32ToBf16((byte) i * (0.0346f / 128)); // uniform ±0.0346: std 0.02
        long linear = 0;
        LinkedHashMap<String, Tensor> w = new LinkedHashMap<>();
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom r = new SplittableRandom(7);
            for (Map.Entry<String, Shape> e : c.weightMap().expected().entrySet()) {
                String name = e.getKey();
                Tensor t = Tensor.allocate(DType.BF16, e.getValue(), arena);
                MemorySegment seg = t.data();
                long n = t.numel();
                if (name.endsWith("norm.weight")) {
                    short one = HalfFloats.f32ToBf16(1f);
                    for (long i = 0; i < n; i++) seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, one);
                } else if (!name.endsWith(".bias")) {
                    long i = 0;
                    for (; i + 4 <= n; i += 4) {
                        long bits = r.nextLong();
                        for (int k = 0; k < 4; k++) seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i + k, table[(int) (bits >>> (8 * k)) & 0xFF]);
                    }
                    for (; i < n; i++) seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, table[r.nextInt(256)]);
                }
                w.put(name, t);
                if (name.contains("_proj.weight") || name.equals("lm_head.weight")) linear += n;
            }
            if (s.tied()) linear += (long) s.vocab() * s.hidden();
            SafetensorsWriter.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        }
        return linear;
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
