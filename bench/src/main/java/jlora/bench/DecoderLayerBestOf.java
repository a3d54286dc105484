package jlora.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import jlora.autograd.Tape;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;
import jlora.nn.CausalLM;

/**
 * One Qwen2.5-1.5B-shaped decoder layer, forward (with a 256-word tied head so the loss and its
 * gradient exist but cost ~1 % of the layer) and backward, LoRA r=16 on all seven linears, best
 * of N. Op wall time is split into matmul / attention / rest by {@link TimedBackend}.
 * Args: seq F32,BF16,NF4 [repeats] [model dir, written when missing].
 */
public final class DecoderLayerBestOf {
    static final int VOCAB = 256;

    public static void main(String[] args) throws Exception {
        int seq = Integer.parseInt(args[0]);
        String[] bases = args[1].split(",");
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path dir = Path.of(args.length > 3 ? args[3] : "/tmp/jlora-bench-qwen25-1.5b-layer");
        RandomQwen2Dir shape = RandomQwen2Dir.qwen25OnePointFiveBLayers(1, VOCAB);
        if (!Files.exists(dir.resolve("model.safetensors"))) shape.write(dir, 7);

        int d = shape.hidden(), f = shape.intermediate(), hd = d / shape.heads(), kv = shape.kvHeads() * hd;
        long params = (long) d * d * 2 + (long) d * kv * 2 + 3L * d * f;
        long loraParams = 16L * ((d + d) * 2 + (d + kv) * 2 + 2 * (d + f) + (f + d));
        double matmulFlops6 = 6.0 * params * seq, matmulFlops4 = 4.0 * params * seq;
        // Causal: QKᵀ and PV each 2·S²·H·D, halved by the mask; backward ≈ 2× forward.
        double attnFlops = 4.0 * seq * seq * shape.heads() * hd * 0.5 * 3;
        double loraFlops = 6.0 * loraParams * seq;
        int[][] doc = EngineModels.document(seq, VOCAB, 11);
        TimedBackend backend = new TimedBackend(new CpuBackend());
        for (String base : bases) {
            try (CausalLM model = EngineModels.load(dir, backend, base, 16)) {
                double best = Double.MAX_VALUE, bestF = 0, bestB = 0, mm = 0, at = 0, rest = 0;
                for (int r = 0; r <= repeats; r++) { // r = 0 warms the JIT up and is not counted
                    model.zeroGradients();
                    backend.reset();
                    long t0 = System.nanoTime(), t1;
                    try (Tape tape = new Tape(backend)) {
                        LossSum loss = model.loss(doc[0], doc[1], doc[2], tape);
                        t1 = System.nanoTime();
                        tape.backward(1f / loss.count());
                    }
                    long t2 = System.nanoTime();
                    double total = (t2 - t0) / 1e6;
                    if (r > 0 && total < best) {
                        best = total;
                        bestF = (t1 - t0) / 1e6;
                        bestB = (t2 - t1) / 1e6;
                        mm = backend.matmulNanos / 1e6;
                        at = backend.attentionNanos / 1e6;
                        rest = backend.restNanos / 1e6;
                    }
                }
                System.out.printf("layer %s seq=%d threads=%d load=%.1f best of %d: fwd+bwd %.0f ms (fwd %.0f, bwd %.0f) | "
                                + "matmul %.0f ms (%.0f%%), attention %.0f ms (%.0f%%), other ops %.0f ms (%.0f%%), outside ops %.0f ms | "
                                + "GFLOP/s: 6PT+attn %.1f, 4PT+attn %.1f, matmul-only (4PT+LoRA)/matmul-ms %.1f, attention %.1f%n",
                        base, seq, Runtime.getRuntime().availableProcessors(), EngineModels.loadAverage(), repeats, best, bestF, bestB,
                        mm, 100 * mm / best, at, 100 * at / best, rest, 100 * rest / best, best - mm - at - rest,
                        (matmulFlops6 + attnFlops) / best / 1e6, (matmulFlops4 + attnFlops) / best / 1e6,
                        (matmulFlops4 + loraFlops) / mm / 1e6, attnFlops / at / 1e6);
            }
        }
    }
}
