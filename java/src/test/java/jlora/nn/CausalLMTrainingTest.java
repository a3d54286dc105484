package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import jlora.autograd.Tape;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;
import jlora.io.PeftAdapter;
import jlora.io.SafetensorsDir;
import jlora.io.SafetensorsWriter;
import jlora.quant.Nf4Tensor;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Training behaviour of the whole model: LoRA and QLoRA overfit a fixed batch (mean loss falls by
 * more than 90 % under plain Adam written here), a saved and reloaded PEFT adapter reproduces the
 * logits bit for bit, and a bitsandbytes 4-bit checkpoint loads to the same logits as quantizing
 * on load.
 */
class CausalLMTrainingTest {
    static final CpuBackend CPU = new CpuBackend();
    final long seed = System.nanoTime();
    final SplittableRandom rng = new SplittableRandom(seed);

    @TempDir
    Path tmp;

    int[] randomIds(int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        return ids;
    }

    /** Adam (Kingma & Ba, bias-corrected), no weight decay, on the model's trainable tensors. */
    static final class Adam {
        final double lr, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        final Map<String, double[]> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
        int t;

        Adam(double lr) {
            this.lr = lr;
        }

        void step(CausalLM model) {
            t++;
            for (var e : model.lora().named().entrySet()) {
                Tensor p = e.getValue(), g = model.gradients().get(e.getKey());
                int n = (int) p.numel();
                double[] mm = m.computeIfAbsent(e.getKey(), k -> new double[n]), vv = v.computeIfAbsent(e.getKey(), k -> new double[n]);
                for (int i = 0; i < n; i++) {
                    double gi = g.getFloat(i);
                    mm[i] = b1 * mm[i] + (1 - b1) * gi;
                    vv[i] = b2 * vv[i] + (1 - b2) * gi * gi;
                    double mh = mm[i] / (1 - Math.pow(b1, t)), vh = vv[i] / (1 - Math.pow(b2, t));
                    p.setFloat(i, (float) (p.getFloat(i) - lr * mh / (Math.sqrt(vh) + eps)));
                }
            }
        }
    }

    static double meanLoss(CausalLM m, int[] ids, int[] pos, long step, boolean backward) {
        m.zeroGradients();
        try (Tape tape = new Tape(CPU)) {
            LossSum l = m.loss(ids, pos, ids, tape, step);
            if (backward) tape.backward(1f / l.count());
            return l.sum() / l.count();
        }
    }

    /** The tiny Qwen2 config with std-0.15 weights (see {@link TinyModels}); LoRA on all linears plus norms. */
    @ParameterizedTest
    @CsvSource({"qwen2-random, false", "llama, false", "qwen2-random, true", "llama, true"})
    void loraOverfitsAFixedBatch(String type, boolean nf4) {
        Path dir = TinyModels.write(tmp.resolve(type), type, seed);
        LoadOptions opts = LoadOptions.DEFAULT.withNf4(nf4, true)
                .withLora(CausalLMTest.lora(8, 0.0, true, seed));
        try (CausalLM m = CausalLM.load(dir, CPU, opts)) {
            int n = 16;
            int[] ids = randomIds(n, m.config().vocabSize()), pos = CausalLMTest.range(n);
            Adam adam = new Adam(3e-2);
            double first = meanLoss(m, ids, pos, 0, true), last = first;
            int steps = 0;
            while (steps < 100 && last > 0.1 * first) {
                adam.step(m);
                last = meanLoss(m, ids, pos, ++steps, true);
                assertTrue(Double.isFinite(last), "loss " + last + " at step " + steps + ", seed " + seed);
            }
            assertTrue(last < 0.1 * first, type + (nf4 ? " QLoRA" : " LoRA") + ": loss " + first + " -> " + last
                    + " after " + steps + " steps, seed " + seed);
        }
    }

    @Test
    void savedAndReloadedAdapterGivesBitIdenticalLogits() {
        Path dir = TinyModels.write(tmp.resolve("llama"), "llama", seed);
        int[] ids = randomIds(10, 97), pos = CausalLMTest.range(10);
        float[] before;
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT.withLora(CausalLMTest.lora(4, 0.0, true, seed)))) {
            Adam adam = new Adam(1e-2);
            for (int s = 0; s < 3; s++) {
                meanLoss(m, ids, pos, s, true);
                adam.step(m);
            }
            before = m.forward(ids, pos, true);
            PeftAdapter.save(tmp.resolve("adapter"), m.lora(), dir.toString(), null, DType.F32);
        }
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT.withAdapter(tmp.resolve("adapter")))) {
            assertArrayEquals(before, m.forward(ids, pos, true), "seed " + seed);
        }
    }

    @Test
    void preQuantizedBnb4bitCheckpointMatchesQuantizeOnLoad() throws Exception {
        Path dir = TinyModels.write(tmp.resolve("qwen2"), "qwen2", seed);
        Path bnb = Files.createDirectories(tmp.resolve("qwen2-bnb-4bit"));
        // A *-bnb-4bit repository: the linear projections as bitsandbytes' packed NF4 + quant state,
        // everything else as it was, and quantization_config in config.json.
        try (SafetensorsDir st = SafetensorsDir.open(dir); Arena arena = Arena.ofConfined()) {
            LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
            for (String name : st.names()) {
                boolean linear = name.endsWith("_proj.weight");
                if (linear) out.putAll(Nf4Tensor.quantize(st.tensor(name), 64, true, arena).toBitsandbytes(name, arena));
                else out.put(name, st.tensor(name));
            }
            SafetensorsWriter.write(bnb.resolve("model.safetensors"), out, Map.of("format", "pt"));
        }
        String config = Files.readString(dir.resolve("config.json")).replaceFirst("\\{", """
                {
                  "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": true,
                    "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": true},""");
        Files.writeString(bnb.resolve("config.json"), config);

        int[] ids = randomIds(12, 259), pos = CausalLMTest.range(12);
        float[] onLoad, pre;
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT.withNf4(true, true))) {
            onLoad = m.forward(ids, pos, true);
        }
        try (CausalLM m = CausalLM.load(bnb, CPU, LoadOptions.DEFAULT)) {
            assertTrue(m.layers().getFirst().mlp().up().weight() instanceof Nf4Weight);
            pre = m.forward(ids, pos, true);
        }
        assertArrayEquals(onLoad, pre, "seed " + seed);
    }
}
