package jlora.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jlora.autograd.Tape;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;
import jlora.nn.CausalLM;
import jlora.tensor.Tensor;
import jlora.train.AdamHyperparameters;
import jlora.train.AdamW;
import jlora.train.Param;
import jlora.train.StateStore;

/**
 * Training tokens/s of a small Qwen2-shaped model (4 layers, hidden 512, MLP 1408, 8/2 heads of 64,
 * vocab 8192, random weights) with LoRA r=16 on all linears: one full step = zero grads, forward,
 * loss, backward, AdamW on the LoRA tensors; micro-batch 1, best of N steps after 2 warm-up steps,
 * with and without gradient checkpointing. Args: seq F32,BF16,NF4 [steps] [model dir].
 */
public final class TrainStepBestOf {
    public static void main(String[] args) throws Exception {
        int seq = Integer.parseInt(args[0]);
        String[] bases = args[1].split(",");
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Path dir = Path.of(args.length > 3 ? args[3] : "/tmp/jlora-bench-qwen2-h512-l4");
        RandomQwen2Dir shape = new RandomQwen2Dir(512, 1408, 4, 8, 2, 8192);
        if (!Files.exists(dir.resolve("model.safetensors"))) shape.write(dir, 5);
        int[][] doc = EngineModels.document(seq, shape.vocab(), 13);
        var backend = new TimedBackend(new CpuBackend());
        for (String base : bases) {
            for (boolean checkpointing : new boolean[] {false, true}) {
                try (CausalLM model = EngineModels.load(dir, backend, base, 16)) {
                    model.gradientCheckpointing(checkpointing);
                    List<Param> params = new ArrayList<>();
                    for (var e : model.lora().named().entrySet()) {
                        Tensor g = model.gradients().get(e.getKey());
                        params.add(new Param(e.getKey(), e.getValue(), g));
                    }
                    long best = Long.MAX_VALUE, optNanos = 0, bestCpu = Long.MAX_VALUE;
                    double mm = 0, at = 0, rest = 0;
                    try (AdamW opt = new AdamW(params, AdamHyperparameters.defaults(), StateStore.host())) {
                        for (int s = 0; s < steps + 2; s++) {
                            long c0 = EngineModels.processCpuNanos();
                            long t0 = System.nanoTime();
                            model.zeroGradients();
                            backend.reset();
                            try (Tape tape = new Tape(backend)) {
                                LossSum loss = model.loss(doc[0], doc[1], doc[2], tape, s);
                                tape.backward(1f / loss.count());
                            }
                            long t1 = System.nanoTime();
                            opt.step(1e-4);
                            long dt = System.nanoTime() - t0;
                            if (s >= 2) bestCpu = Math.min(bestCpu, EngineModels.processCpuNanos() - c0);
                            if (s >= 2 && dt < best) {
                                best = dt;
                                optNanos = System.nanoTime() - t1;
                                mm = backend.matmulNanos / 1e6;
                                at = backend.attentionNanos / 1e6;
                                rest = backend.restNanos / 1e6;
                            }
                        }
                    }
                    System.out.printf("train %s seq=%d checkpointing=%s threads=%d load=%.1f best of %d steps: %.0f ms/step, %.0f tokens/s | "
                                    + "matmul+head %.0f ms, attention %.0f ms, other ops %.0f ms, AdamW %.1f ms | least CPU time %.0f ms/step, %.0f tokens/s%n",
                            base, seq, checkpointing, Runtime.getRuntime().availableProcessors(), EngineModels.loadAverage(),
                            steps, best / 1e6, seq / (best / 1e9), mm, at, rest, optNanos / 1e6, bestCpu / 1e6, seq / (bestCpu / 1e9));
                }
            }
        }
    }
}
