package jlora.bench.gpu;

import java.io.PrintStream;
import java.util.Locale;
import java.util.SplittableRandom;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.CudaStream;
import jlora.backend.cuda.DeviceBuffer;
import jlora.backend.cuda.DeviceMatrix;
import jlora.backend.cuda.Gemm;
import jlora.tensor.DType;

/**
 * cuBLASLt bf16 GEMM rate through {@link Gemm}: the measured peak (8192³, the roofline the LoRA
 * and LM-head drivers compare with) and the Qwen2.5-7B projection shapes at T = 4096 tokens
 * (hidden 3584, 28 query / 4 KV heads of 128, intermediate 18944), forward y = x·Wᵀ and the
 * input gradient dx = dy·W. H100 SXM dense bf16 spec: 989 TFLOP/s.
 */
final class GemmBench implements GpuBenchmark {
    static final int T = 4096, HIDDEN = 3584, KV = 512, INTER = 18944;

    @Override
    public String name() {
        return "gemm";
    }

    /** Measured bf16 → bf16 TFLOP/s of an 8192³ GEMM: the peak the other drivers quote. */
    static double peakTflops(CudaApi api, Gemm gemm, CudaStream s) {
        int n = 8192;
        SplittableRandom r = new SplittableRandom(1);
        try (DeviceBuffer a = CudaTimer.randomBf16(api, (long) n * n, 1, r); DeviceBuffer b = CudaTimer.randomBf16(api, (long) n * n, 1, r);
                DeviceBuffer c = new DeviceBuffer(api, 2L * n * n)) {
            DeviceMatrix ma = DeviceMatrix.of(a, DType.BF16, n, n), mb = DeviceMatrix.of(b, DType.BF16, n, n),
                    mc = DeviceMatrix.of(c, DType.BF16, n, n);
            double ms = CudaTimer.medianMs(api, s, () -> gemm.gemm(s, ma, false, mb, true, mc, 1f, 0f));
            return 2.0 * n * n * n / (ms * 1e9);
        }
    }

    @Override
    public void run(CudaApi api, PrintStream out) {
        try (CudaStream s = CudaStream.create(api); Gemm gemm = new Gemm(api)) {
            out.println();
            out.println(gemm.describe() + "; median of " + CudaTimer.TIMED + " after " + CudaTimer.WARMUP + " warm-ups, CUDA events");
            out.println();
            double peak = peakTflops(api, gemm, s);
            out.println("| op | M×N×K | C | ms | TFLOP/s | vs 8192³ |");
            out.println("|---|---|---|---:|---:|---:|");
            out.printf(Locale.ROOT, "| peak x·Wᵀ | 8192×8192×8192 | bf16 | %.3f | %.1f | 1.00 |%n", 2.0 * 8192 * 8192 * 8192 / (peak * 1e9), peak);
            int[][] proj = {{HIDDEN, HIDDEN}, {KV, HIDDEN}, {INTER, HIDDEN}, {HIDDEN, INTER}};
            String[] names = {"q/o proj", "k/v proj", "gate/up proj", "down proj"};
            SplittableRandom r = new SplittableRandom(2);
            for (int i = 0; i < proj.length; i++) {
                int outF = proj[i][0], inF = proj[i][1];
                try (DeviceBuffer x = CudaTimer.randomBf16(api, (long) T * inF, 1, r); DeviceBuffer w = CudaTimer.randomBf16(api, (long) outF * inF, 0.02, r);
                        DeviceBuffer y = new DeviceBuffer(api, 4L * T * outF); DeviceBuffer dx = new DeviceBuffer(api, 4L * T * inF)) {
                    DeviceMatrix mx = DeviceMatrix.of(x, DType.BF16, T, inF), mw = DeviceMatrix.of(w, DType.BF16, outF, inF);
                    DeviceMatrix my = DeviceMatrix.of(y, DType.BF16, T, outF), mdx = DeviceMatrix.of(dx, DType.BF16, T, inF);
                    double flops = 2.0 * T * outF * inF;
                    double fwd = CudaTimer.medianMs(api, s, () -> gemm.gemm(s, mx, false, mw, true, my, 1f, 0f));
                    row(out, names[i] + " y = x·Wᵀ", T, outF, inF, "bf16", fwd, flops, peak);
                    DeviceMatrix myF = DeviceMatrix.of(y, DType.BF16, T, outF);
                    double bwd = CudaTimer.medianMs(api, s, () -> gemm.gemm(s, myF, false, mw, false, mdx, 1f, 0f));
                    row(out, names[i] + " dx = dy·W", T, inF, outF, "bf16", bwd, flops, peak);
                    DeviceMatrix myf32 = DeviceMatrix.of(y, DType.F32, T, outF);
                    double f32 = CudaTimer.medianMs(api, s, () -> gemm.gemm(s, mx, false, mw, true, myf32, 1f, 0f));
                    row(out, names[i] + " y = x·Wᵀ", T, outF, inF, "f32", f32, flops, peak);
                }
            }
        }
    }

    private static void row(PrintStream out, String op, int m, int n, int k, String c, double ms, double flops, double peak) {
        double tf = flops / (ms * 1e9);
        out.printf(Locale.ROOT, "| %s | %d×%d×%d | %s | %.3f | %.1f | %.2f |%n", op, m, n, k, c, ms, tf, tf / peak);
    }
}
