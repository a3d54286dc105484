package jlora.bench.gpu;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import jlora.backend.cuda.LmHeadCeKernels;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.CudaStream;
import jlora.backend.cuda.DeviceBuffer;
import jlora.backend.cuda.DeviceMatrix;
import jlora.backend.cuda.DevicePool;
import jlora.backend.cuda.Gemm;
import jlora.tensor.DType;

/**
 * The LM head fused with cross-entropy ({@link LmHeadCeKernels}) at Qwen2.5's vocabulary
 * (152064), hidden 3584, T = 4096 tokens, bf16 hidden and head, every target counted, the head
 * frozen (dHidden only, bf16), per vocabulary chunk size. Peak memory is the pool's used peak over
 * the call: scratch plus the outputs (lse, dHidden), inputs excluded, as bench/peers/
 * torch_lm_head_ce.py measures torch (max_memory_allocated over the inputs' level) for
 * F.linear + F.cross_entropy in bf16. FLOPs: 2·T·V·D forward, twice more backward (recomputed
 * logits and dHidden = G·W). Rows go to $JLORA_BENCH_DIR/lm_head_ce_jlora.tsv for the peer.
 */
final class LmHeadCrossEntropyBench implements GpuBenchmark {
    static final int T = 4096, D = 3584, V = 152064;

    @Override
    public String name() {
        return "lm-head-ce";
    }

    @Override
    public void run(CudaApi api, PrintStream out) {
        DevicePool pool = new DevicePool(api, 0);
        pool.setReleaseThreshold(Long.MAX_VALUE);
        SplittableRandom r = new SplittableRandom(4);
        int[] targets = new int[T];
        for (int t = 0; t < T; t++) targets[t] = r.nextInt(V);
        StringBuilder tsv = new StringBuilder("chunk\tfwd_ms\tfwd_bwd_ms\tpeak_fwd_bytes\tpeak_fwd_bwd_bytes\n");
        try (CudaStream s = CudaStream.create(api); Gemm gemm = new Gemm(api);
                DeviceBuffer h = CudaTimer.randomBf16(api, (long) T * D, 1, r); DeviceBuffer w = CudaTimer.randomBf16(api, (long) V * D, 0.02, r)) {
            LmHeadCeKernels ce = new LmHeadCeKernels(api, gemm, pool);
            double peak = GemmBench.peakTflops(api, gemm, s);
            DeviceMatrix hm = DeviceMatrix.of(h, DType.BF16, T, D), wm = DeviceMatrix.of(w, DType.BF16, V, D);
            double flops = 2.0 * T * V * D;
            out.println();
            out.printf(Locale.ROOT, "T = %d, D = %d, V = %d, bf16; median of %d after %d warm-ups (CUDA events); peak GEMM %.1f TFLOP/s;"
                    + " full bf16 logits would be %.0f MiB%n%n", T, D, V, CudaTimer.TIMED, CudaTimer.WARMUP, peak, 2.0 * T * V / 1048576);
            out.println("| chunk | fwd ms | fwd TFLOP/s | fwd+bwd ms | fwd+bwd TFLOP/s | vs peak | peak mem fwd | peak mem fwd+bwd |");
            out.println("|---:|---:|---:|---:|---:|---:|---:|---:|");
            for (int chunk : new int[] {4096, LmHeadCeKernels.DEFAULT_CHUNK, 16384, 32768}) {
                s.synchronize();
                pool.resetPeaks();
                long base = pool.stats().used();
                double fwd;
                long peakFwd, peakAll;
                try (DeviceBuffer lse = pool.allocate(4L * T, s)) {
                    fwd = CudaTimer.medianMs(api, s, () -> ce.forward(s, hm, wm, targets, chunk, lse));
                    s.synchronize();
                    peakFwd = pool.stats().usedPeak() - base;
                }
                s.synchronize();
                pool.resetPeaks();
                double all;
                try (DeviceBuffer lse = pool.allocate(4L * T, s); DeviceBuffer dh = pool.allocate(2L * T * D, s)) {
                    DeviceMatrix dhm = DeviceMatrix.of(dh, DType.BF16, T, D);
                    all = CudaTimer.medianMs(api, s, () -> {
                        ce.forward(s, hm, wm, targets, chunk, lse);
                        ce.backward(s, hm, wm, targets, lse, 1f / T, chunk, dhm, false, null);
                    });
                    s.synchronize();
                    peakAll = pool.stats().usedPeak() - base;
                }
                out.printf(Locale.ROOT, "| %d | %.3f | %.1f | %.3f | %.1f | %.2f | %s | %s |%n", chunk, fwd, flops / (fwd * 1e9), all,
                        3 * flops / (all * 1e9), 3 * flops / (all * 1e9) / peak, mib(peakFwd), mib(peakAll));
                tsv.append(chunk).append('\t').append(fwd).append('\t').append(all).append('\t').append(peakFwd).append('\t').append(peakAll).append('\n');
            }
            out.println();
            out.println("fused forward+backward (one call, lossScale known upfront, whole-vocabulary row blocks: two GEMM passes instead of three):");
            out.println();
            out.println("| row block | fwd+bwd ms | fwd+bwd TFLOP/s | vs peak | peak mem |");
            out.println("|---:|---:|---:|---:|---:|");
            for (int rb : new int[] {256, LmHeadCeKernels.DEFAULT_ROW_BLOCK, 1024}) {
                s.synchronize();
                pool.resetPeaks();
                long base = pool.stats().used();
                double all;
                long peakAll;
                try (DeviceBuffer lse = pool.allocate(4L * T, s); DeviceBuffer dh = pool.allocate(2L * T * D, s)) {
                    DeviceMatrix dhm = DeviceMatrix.of(dh, DType.BF16, T, D);
                    all = CudaTimer.medianMs(api, s, () -> ce.forwardBackward(s, hm, wm, targets, 1f / T, rb, lse, dhm, false, null));
                    s.synchronize();
                    peakAll = pool.stats().usedPeak() - base;
                }
                // the useful work is still forward + backward: 3 · 2·T·V·D, done in 2 passes
                out.printf(Locale.ROOT, "| %d | %.3f | %.1f | %.2f | %s |%n", rb, all, 3 * flops / (all * 1e9), 3 * flops / (all * 1e9) / peak,
                        mib(peakAll));
                tsv.append("rows").append(rb).append('\t').append(Double.NaN).append('\t').append(all).append('\t').append(0).append('\t')
                        .append(peakAll).append('\n');
            }
        }
        Path file = FlashAttentionBench.resultDir().resolve("lm_head_ce_jlora.tsv");
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, tsv);
            out.println();
            out.println("rows written to " + file + " for bench/peers/torch_lm_head_ce.py");
        } catch (IOException e) {
            out.println("could not write " + file + ": " + e.getMessage());
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }
}
