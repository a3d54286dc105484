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
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.DeviceBuffer;
import jlora.backend.cuda.FlashAttentionKernels;
import jlora.backend.cuda.SequencePacking;
import jlora.tensor.HalfFloats;

/**
 * Causal GQA flash attention throughput (cuda/flash_attention.cu), FLOPs counted as
 * FlashAttention's benchmark counts them: forward 4·B·S²·Hq·D halved for causal, backward 2.5×
 * the forward, so forward + backward is 3.5×. As in that benchmark, B·S = 16384 tokens (B equal
 * documents, packed through cu_seqlens). Shapes: S 1k–16k; head_dim 128 with Hq:Hkv 28:4 (7:1,
 * Qwen2.5-7B) and 32:4 (8:1, the ratio of Qwen2.5-72B's 64:8); head_dim 64 with 14:2
 * (Qwen2.5-0.5B) and 16:2 (8:1). Each figure is the median of {@value #TIMED} runs, each between
 * its own pair of CUDA events, after {@value #WARMUP} warm-ups, for every
 * {@link FlashAttentionKernels.Version}; inputs are random bf16 (K/V of
 * one kv head are re-read from L2 by design; Q, dO and the outputs stream). The rows are also written as TSV to
 * $JLORA_BENCH_DIR/flash_attention_jlora.tsv, which bench/peers/torch_sdpa.py reads in the same
 * run to print torch's SDPA (flash backend) on the same shapes and the ratio. A second table
 * times the batch-1 decode kernel in GB/s of KV cache read.
 */
final class FlashAttentionBench implements GpuBenchmark {
    private static final int WARMUP = 3;
    private static final int TIMED = 15;
    private static final int TOKENS = 16384;
    private static final int[] SEQ = {1024, 2048, 4096, 8192, 16384};
    /** {head_dim, hq, hkv}. */
    private static final int[][] HEADS = {{128, 28, 4}, {128, 32, 4}, {64, 14, 2}, {64, 16, 2}};
    /** Published H100 SXM anchors, causal, head_dim 128 (FA2 paper fig., FA3 paper fig.), TFLOP/s at 2k / 4k / 8k. */
    static final String ANCHORS = "H100 anchors (causal, d 128): FA2 fwd+bwd 265 / 294 / 308 TFLOP/s at 2k / 4k / 8k; "
            + "FA3 fwd 521 / 579 / 602";

    @Override
    public String name() {
        return "flash-attention";
    }

    @Override
    public void run(CudaApi api, PrintStream out) {
        List<String> tsv = new ArrayList<>();
        tsv.add("version\tseqlen\tbatch\thead_dim\thq\thkv\tfwd_ms\tfwd_tflops\tfwdbwd_ms\tfwdbwd_tflops");
        out.println();
        out.printf(Locale.ROOT, "causal, bf16, B·S = %d tokens, median of %d after %d warm-ups (CUDA events); %s%n%n",
                TOKENS, TIMED, WARMUP, ANCHORS);
        out.println("| version | S | B | d | Hq:Hkv | fwd ms | fwd TFLOP/s | fwd+bwd ms | fwd+bwd TFLOP/s |");
        out.println("|---|---:|---:|---:|---|---:|---:|---:|---:|");
        for (FlashAttentionKernels.Version version : FlashAttentionKernels.Version.values()) {
            table(api, new FlashAttentionKernels(api, version), out, tsv);
        }
        decode(api, out);
        Path file = resultDir().resolve("flash_attention_jlora.tsv");
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, tsv);
            out.println();
            out.println("rows written to " + file + " for bench/peers/torch_sdpa.py");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One version's forward and forward + backward rows. */
    private static void table(CudaApi api, FlashAttentionKernels fa, PrintStream out, List<String> tsv) {
        String ver = fa.version().name().toLowerCase(Locale.ROOT);
        for (int[] h : HEADS) {
            int d = h[0], hq = h[1], hkv = h[2];
            long nq = (long) TOKENS * hq * d, nk = (long) TOKENS * hkv * d;
            try (DeviceBuffer q = random(api, nq); DeviceBuffer k = random(api, nk); DeviceBuffer v = random(api, nk);
                    DeviceBuffer g = random(api, nq); DeviceBuffer o = new DeviceBuffer(api, 2 * nq);
                    DeviceBuffer lse = new DeviceBuffer(api, 4L * TOKENS * hq);
                    DeviceBuffer dq = new DeviceBuffer(api, 2 * nq); DeviceBuffer dk = new DeviceBuffer(api, 2 * nk);
                    DeviceBuffer dv = new DeviceBuffer(api, 2 * nk);
                    DeviceBuffer ws = new DeviceBuffer(api, fa.backwardWorkspaceBytes(TOKENS, hq))) {
                for (int s : SEQ) {
                    int batch = TOKENS / s;
                    int[] cu = new int[batch + 1];
                    for (int b = 0; b <= batch; b++) cu[b] = b * s;
                    SequencePacking p = new SequencePacking(cu, s);
                    try (DeviceBuffer cuDev = fa.upload(p)) {
                        Runnable fwd = () -> fa.forward(q, k, v, p, cuDev, hq, hkv, d, o, lse);
                        Runnable both = () -> {
                            fa.forward(q, k, v, p, cuDev, hq, hkv, d, o, lse);
                            fa.backward(g, q, k, v, o, lse, p, cuDev, hq, hkv, d, dq, dk, dv, ws);
                        };
                        double flops = 4.0 * batch * s * (double) s * hq * d / 2;
                        double fMs = medianMs(api, fwd), bMs = medianMs(api, both);
                        double fT = flops / (fMs * 1e9), bT = 3.5 * flops / (bMs * 1e9);
                        out.printf(Locale.ROOT, "| %s | %d | %d | %d | %d:%d | %.3f | %.1f | %.3f | %.1f |%n", ver, s, batch, d,
                                hq, hkv, fMs, fT, bMs, bT);
                        tsv.add(String.format(Locale.ROOT, "%s\t%d\t%d\t%d\t%d\t%d\t%.4f\t%.2f\t%.4f\t%.2f", ver, s, batch, d,
                                hq, hkv, fMs, fT, bMs, bT));
                    }
                }
            }
        }
    }

    /**
     * Batch-1 decode over a KV cache: GB/s counting the K and V cache read once (2 · len · Hkv ·
     * D · 2 bytes; q, out and the split partials are negligible), the bound being HBM bandwidth.
     */
    private static void decode(CudaApi api, PrintStream out) {
        out.println();
        out.println("decode (one query token, split-K over the cache), median of " + TIMED + " after " + WARMUP + " warm-ups:");
        out.println();
        out.println("| version | cache len | d | Hq:Hkv | µs | GB/s (K + V read once) |");
        out.println("|---|---:|---:|---|---:|---:|");
        Set<String> done = new HashSet<>();
        for (FlashAttentionKernels.Version version : FlashAttentionKernels.Version.values()) {
            FlashAttentionKernels fa = new FlashAttentionKernels(api, version);
            if (done.add(fa.decodeFunction())) decodeRows(api, fa, out);
        }
    }

    private static void decodeRows(CudaApi api, FlashAttentionKernels fa, PrintStream out) {
        String ver = fa.version().name().toLowerCase(Locale.ROOT);
        for (int[] h : HEADS) {
            int d = h[0], hq = h[1], hkv = h[2];
            for (int len : new int[] {1024, 4096, 16384, 65536}) {
                long nk = (long) len * hkv * d;
                try (DeviceBuffer q = random(api, (long) hq * d); DeviceBuffer k = random(api, nk);
                        DeviceBuffer v = random(api, nk); DeviceBuffer o = new DeviceBuffer(api, 2L * hq * d);
                        DeviceBuffer ws = new DeviceBuffer(api, fa.decodeWorkspaceBytes(len, hq, d))) {
                    double ms = medianMs(api, () -> fa.decode(q, k, v, len, hq, hkv, d, o, null, ws));
                    out.printf(Locale.ROOT, "| %s | %d | %d | %d:%d | %.1f | %.0f |%n", ver, len, d, hq, hkv, ms * 1e3,
                            4.0 * nk / (ms * 1e6));
                }
            }
        }
    }

    static Path resultDir() {
        String dir = System.getenv("JLORA_BENCH_DIR");
        return Path.of(dir == null || dir.isBlank() ? "build/gpu-run" : dir);
    }

    /** A device buffer of n random bf16 (a 1 Mi-element random block repeated). */
    private static DeviceBuffer random(CudaApi api, long n) {
        long chunk = Math.min(n, 1L << 20);
        DeviceBuffer b = new DeviceBuffer(api, 2 * n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(2 * chunk, 16);
            SplittableRandom r = new SplittableRandom();
            for (long i = 0; i < chunk; i++) host.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.f32ToBf16((float) r.nextGaussian()));
            for (long off = 0; off < n; off += chunk) {
                long len = Math.min(chunk, n - off);
                api.copyToDevice(b.at(2 * off, 2 * len), host, 2 * len);
            }
        }
        return b;
    }

    private static double medianMs(CudaApi api, Runnable launch) {
        for (int i = 0; i < WARMUP; i++) launch.run();
        api.synchronize();
        MemorySegment start = api.eventCreate(), end = api.eventCreate();
        try {
            double[] ms = new double[TIMED];
            for (int i = 0; i < TIMED; i++) {
                api.eventRecord(start);
                launch.run();
                api.eventRecord(end);
                ms[i] = api.eventElapsedMs(start, end);
            }
            Arrays.sort(ms);
            return ms[TIMED / 2];
        } finally {
            api.eventDestroy(start);
            api.eventDestroy(end);
        }
    }
}
