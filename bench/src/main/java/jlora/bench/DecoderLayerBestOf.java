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
        // All bases loaded at once and run in turn within each repeat, so that the box's other
        // tenants disturb each base in the same windows and the ratios between them hold.
        CausalLM[] models = new CausalLM[bases.length];
        Best[] best = new Best[bases.length];
        try {
            for (int b = 0; b < bases.length; b++) {
                models[b] = EngineModels.load(dir, backend, bases[b], 16);
                best[b] = new Best();
            }
            for (int r = 0; r <= repeats; r++) { // r = 0 warms the JIT up and is not counted
                for (int b = 0; b < bases.length; b++) {
                    CausalLM model = models[b];
                    model.zeroGradients();
                    backend.reset();
                    long c0 = EngineModels.processCpuNanos();
                    long t0 = System.nanoTime(), t1;
                    try (Tape tape = new Tape(backend)) {
                        LossSum loss = model.loss(doc[0], doc[1], doc[2], tape);
                        t1 = System.nanoTime();
                        tape.backward(1f / loss.count());
                    }
                    long t2 = System.nanoTime();
                    long c2 = EngineModels.processCpuNanos();
                    if (r > 0) {
                        best[b].offer(t0, t1, t2, backend);
                        best[b].cpu = Math.min(best[b].cpu, (c2 - c0) / 1e6);
                    }
                }
            }
        } finally {
            for (CausalLM m : models) if (m != null) m.close();
        }
        for (int b = 0; b < bases.length; b++) {
            Best x = best[b];
            System.out.printf("layer %s seq=%d threads=%d load=%.1f best of %d: fwd+bwd %.0f ms (fwd %.0f, bwd %.0f) | "
                            + "matmul %.0f ms (%.0f%%), attention %.0f ms (%.0f%%), other ops %.0f ms (%.0f%%), outside ops %.0f ms | "
                            + "GFLOP/s: 6PT+attn %.1f, 4PT+attn %.1f, matmul-only (4PT+LoRA)/matmul-ms %.1f, attention %.1f | "
                            + "least process CPU time %.0f ms: 6PT+attn %.1f GFLOP/s%n",
                    bases[b], seq, Runtime.getRuntime().availableProcessors(), EngineModels.loadAverage(), repeats,
                    x.total, x.fwd, x.bwd, x.mm, 100 * x.mm / x.total, x.at, 100 * x.at / x.total, x.rest, 100 * x.rest / x.total,
                    x.total - x.mm - x.at - x.rest, (matmulFlops6 + attnFlops) / x.total / 1e6,
                    (matmulFlops4 + attnFlops) / x.total / 1e6, (matmulFlops4 + loraFlops) / x.mm / 1e6, attnFlops / x.at / 1e6,
                    x.cpu, (matmulFlops6 + attnFlops) / x.cpu / 1e6);
        }
    }

    /** The least-disturbed repeat of one base (ms) and its op-time buckets. */
    private static final class Best {
        double total = Double.MAX_VALUE, cpu = Double.MAX_VALUE, fwd, bwd, mm, at, rest;

        void offer(long t0, long t1, long t2, TimedBackend b) {
            double ms = (t2 - t0) / 1e6;
            if (ms >= total) return;
            total = ms;
            fwd = (t1 - t0) / 1e6;
            bwd = (t2 - t1) / 1e6;
            mm = b.matmulNanos / 1e6;
            at = b.attentionNanos / 1e6;
            rest = b.restNanos / 1e6;
        }
    }
}
