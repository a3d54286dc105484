package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.backend.DenseWeight;
import jlora.backend.Dropout;
import jlora.backend.LinearWeight;
import jlora.backend.cpu.CpuBackend;
import jlora.nn.Nf4Weight;
import jlora.quant.Nf4Tensor;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link LoraLinearKernels} (folded GEMMs on cuBLASLt + cuda/lora_linear.cu) against
 * {@link CpuBackend#loraLinear} / {@link CpuBackend#loraLinearBackward} on fresh random inputs:
 * bf16 and NF4 (double quant) bases, F32 x and zero-copy BF16 x, F32 and BF16 outputs, with and
 * without dropout (the mask must be the CPU's: a wrong mask moves dA and dx far past the bound)
 * and bias. The GPU rounds x, g, xa, gu, A and s·B to bf16 (relative 2⁻⁹ each) and accumulates in
 * fp32, so each element is bounded by 2⁻⁷ (forward, xa) or 2⁻⁶ (backward, two rounded factors in
 * series) times the sum of |terms| of its dot products, plus one bf16 rounding of a BF16 output.
 * Outputs start as NaN (0xFF), parameter gradients as random values the GPU must add to.
 */
@Tag("gpu")
class LoraLinearKernelsTest {
    private record Case(int T, int in, int out, int r, boolean nf4, DType xType, DType outType, float p, boolean bias) {}

    @Test
    void forwardAndBackwardMatchCpu() {
        CudaApi api = GpuParity.requireGpu();
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        Case[] cases = {
            new Case(1, 64, 32, 8, false, DType.F32, DType.F32, 0f, false),
            new Case(33, 50, 70, 3, false, DType.F32, DType.BF16, 0f, true),
            new Case(37, 96, 80, 16, false, DType.BF16, DType.BF16, 0.1f, true),
            new Case(130, 256, 192, 8, true, DType.F32, DType.F32, 0f, true),
            new Case(64 + r.nextInt(64), 128, 96 + r.nextInt(40), 16, true, DType.BF16, DType.BF16, 0f, false),
            new Case(1 + r.nextInt(90), 192, 1 + r.nextInt(150), 8, true, DType.F32, DType.F32, 0.25f, true),
        };
        DevicePool pool = new DevicePool(api, 0);
        try (CudaStream s = CudaStream.create(api); Gemm gemm = new Gemm(api); LoraLinearKernels k = new LoraLinearKernels(api, gemm, pool)) {
            for (Case c : cases) check(api, s, k, seed, r, c);
        }
    }

    private static void check(CudaApi api, CudaStream s, LoraLinearKernels k, long seed, SplittableRandom r, Case c) {
        String ctx = "seed=" + seed + " " + c;
        int T = c.T, in = c.in, out = c.out, rank = c.r;
        float scale = (float) r.nextDouble(0.5, 4);
        Dropout dropout = c.p > 0 ? new Dropout(c.p, r.nextLong()) : Dropout.NONE;
        CpuBackend cpu = new CpuBackend();
        try (Arena arena = Arena.ofShared()) {
            float[] w = GpuParity.representable(DType.BF16, GpuParity.gaussian(r, out * in, 0.05));
            Tensor wT = Tensor.of(DType.BF16, Shape.of(out, in), w, arena);
            Nf4Tensor q = c.nf4 ? Nf4Tensor.quantize(wT, 64, true, arena) : null;
            LinearWeight lw = c.nf4 ? new Nf4Weight(q) : new DenseWeight(wT);
            float[] wf = new float[out * in];
            lw.rowsToFloat(0, out, wf);
            float[] x = GpuParity.representable(c.xType, GpuParity.gaussian(r, T * in, 1));
            float[] a = GpuParity.gaussian(r, rank * in, 0.1), b = GpuParity.gaussian(r, out * rank, 0.1);
            float[] bias = c.bias ? GpuParity.gaussian(r, out, 0.5) : null;
            float[] g = GpuParity.representable(DType.BF16, GpuParity.gaussian(r, T * out, 1));
            float[] dA0 = GpuParity.gaussian(r, rank * in, 1), dB0 = GpuParity.gaussian(r, out * rank, 1);
            float[] dBias0 = GpuParity.gaussian(r, out, 1);

            // CPU reference
            Tensor xT = GpuParity.f32(arena, x, T, in), aT = GpuParity.f32(arena, a, rank, in), bT = GpuParity.f32(arena, b, out, rank);
            Tensor biasT = c.bias ? GpuParity.f32(arena, bias, out) : null;
            Tensor yT = GpuParity.f32(arena, new float[T * out], T, out), xaT = GpuParity.f32(arena, new float[T * rank], T, rank);
            cpu.loraLinear(xT, lw, biasT, aT, bT, scale, dropout, yT, xaT);
            Tensor dxT = GpuParity.f32(arena, new float[T * in], T, in), dAT = GpuParity.f32(arena, dA0.clone(), rank, in);
            Tensor dBT = GpuParity.f32(arena, dB0.clone(), out, rank), dBiasT = c.bias ? GpuParity.f32(arena, dBias0.clone(), out) : null;
            cpu.loraLinearBackward(GpuParity.f32(arena, g, T, out), xT, lw, aT, bT, scale, dropout, xaT, dxT, dAT, dBT, dBiasT);

            // bounds from sums of |terms|
            float[] xd = new float[T * in];
            for (int i = 0; i < xd.length; i++) xd[i] = x[i] * dropout.factor(i);
            float[] xaCpu = xaT.toFloatArray();
            double[] bXa = absProduct(xd, a, T, in, rank, false);          // Σ_i |xd||A|      [T, r]
            double[] bXW = absProduct(x, wf, T, in, out, false);           // Σ_i |x||W|       [T, out]
            double[] bGu = new double[T * rank];                            // |s|·Σ_o |g||B|   [T, r]
            double[] absGB = absProductNN(g, b, T, out, rank);
            for (int i = 0; i < bGu.length; i++) bGu[i] = Math.abs(scale) * absGB[i];
            float[] yCpu = yT.toFloatArray();
            double[] yBound = new double[T * out];
            for (int t = 0; t < T; t++) {
                for (int o = 0; o < out; o++) {
                    double lora = 0;
                    for (int j = 0; j < rank; j++) lora += Math.abs(b[o * rank + j]) * (Math.abs(xaCpu[t * rank + j]) + bXa[t * rank + j]);
                    // + a bf16 output's bias rounded to bf16 in the GEMM epilogue (2⁻⁹·|b|)
                    double v = 0x1p-7 * (bXW[t * out + o] + Math.abs(scale) * lora) + 1e-6
                            + (c.bias && c.outType == DType.BF16 ? 0x1p-8 * Math.abs(bias[o]) : 0);
                    yBound[t * out + o] = v + (c.outType == DType.BF16 ? 0x1p-8 * Math.abs(yCpu[t * out + o]) : 0);
                }
            }
            double[] xaBound = new double[T * rank];
            for (int i = 0; i < xaBound.length; i++) xaBound[i] = 0x1p-7 * bXa[i] + 1e-6;
            double[] dxBound = new double[T * in];
            double[] gW = absProductNN(g, wf, T, out, in);
            double[] guA = absProductNN(toFloat(bGu), a, T, rank, in);
            float[] dxCpu = dxT.toFloatArray();
            for (int i = 0; i < dxBound.length; i++) {
                dxBound[i] = 0x1p-6 * (gW[i] + Math.abs(dropout.factor(i)) * guA[i]) + 1e-6
                        + (c.outType == DType.BF16 ? 0x1p-8 * Math.abs(dxCpu[i]) : 0);
            }
            double[] dBBound = new double[out * rank];
            for (int o = 0; o < out; o++) {
                for (int j = 0; j < rank; j++) {
                    double sum = 0;
                    for (int t = 0; t < T; t++) sum += Math.abs(g[t * out + o]) * (Math.abs(xaCpu[t * rank + j]) + bXa[t * rank + j]);
                    dBBound[o * rank + j] = 0x1p-6 * Math.abs(scale) * sum + 1e-6 * (1 + Math.abs(dB0[o * rank + j]));
                }
            }
            double[] dABound = new double[rank * in];
            for (int j = 0; j < rank; j++) {
                for (int i = 0; i < in; i++) {
                    double sum = 0;
                    for (int t = 0; t < T; t++) sum += bGu[t * rank + j] * Math.abs(xd[t * in + i]);
                    dABound[j * in + i] = 0x1p-6 * sum + 1e-6 * (1 + Math.abs(dA0[j * in + i]));
                }
            }
            double[] dBiasBound = new double[out];
            for (int o = 0; o < out; o++) {
                double sum = 0;
                for (int t = 0; t < T; t++) sum += Math.abs(g[t * out + o]);
                dBiasBound[o] = 0x1p-7 * sum + 1e-6 * (1 + Math.abs(dBias0[o]));
            }

            // GPU
            int xLd = c.xType == DType.BF16 ? in + rank : in; // BF16 x has the adapter's room after it
            DType gType = c.xType; // BF16 dOut comes with the adapter's room (zero-copy), F32 is cast
            int gLd = gType == DType.BF16 ? out + rank : out;
            float[] xWide = widen(x, T, in, xLd), gWide = widen(g, T, out, gLd);
            try (LoraLinearKernels.FoldedWeight f = LoraLinearKernels.FoldedWeight.allocate(api, out, in, rank);
                    DeviceBuffer dx = GpuParity.upload(api, GpuParity.tensor(arena, c.xType, xWide, xWide.length));
                    DeviceBuffer dg = GpuParity.upload(api, GpuParity.tensor(arena, gType, gWide, gWide.length));
                    DeviceBuffer da = GpuParity.upload(api, arena, a); DeviceBuffer db = GpuParity.upload(api, arena, b);
                    DeviceBuffer dBias = c.bias ? GpuParity.upload(api, arena, bias) : null;
                    DeviceBuffer y = GpuParity.poisoned(api, GpuParity.bytes(c.outType, (long) T * out), 0xFF);
                    DeviceBuffer xa = GpuParity.poisoned(api, 4L * T * rank, 0xFF);
                    DeviceBuffer gx = GpuParity.poisoned(api, GpuParity.bytes(c.outType, (long) T * in), 0xFF);
                    DeviceBuffer gA = GpuParity.upload(api, arena, dA0); DeviceBuffer gB = GpuParity.upload(api, arena, dB0);
                    DeviceBuffer gBias = GpuParity.upload(api, arena, dBias0);
                    Nf4DequantKernels.Weight nw = c.nf4 ? Nf4DequantKernels.Weight.upload(api, q) : null;
                    DeviceBuffer wBuf = c.nf4 ? null : GpuParity.upload(api, wT)) {
                if (c.nf4) {
                    k.dequantizeBase(s, nw, f);
                } else {
                    k.loadBase(s, DeviceMatrix.of(wBuf, DType.BF16, out, in), f);
                }
                LoraLinearKernels.Adapter ad = new LoraLinearKernels.Adapter(da, db, rank, scale);
                DeviceMatrix xm = new DeviceMatrix(dx, 0, c.xType, T, in, xLd);
                k.forward(s, f, ad, dBias, dropout, xm, DeviceMatrix.of(y, c.outType, T, out), xa);
                DeviceMatrix gm = new DeviceMatrix(dg, 0, gType, T, out, gLd);
                k.backward(s, f, ad, dropout, gm, xm, xa, DeviceMatrix.of(gx, c.outType, T, in), gA, gB, c.bias ? gBias : null);
                s.synchronize();
                assertWithin("lora y " + ctx, yCpu, GpuParity.download(arena, y, c.outType, T * out), yBound);
                assertWithin("lora xa " + ctx, xaCpu, GpuParity.downloadF32(arena, xa, T * rank), xaBound);
                assertWithin("lora dx " + ctx, dxCpu, GpuParity.download(arena, gx, c.outType, T * in), dxBound);
                assertWithin("lora dA " + ctx, dAT.toFloatArray(), GpuParity.downloadF32(arena, gA, rank * in), dABound);
                assertWithin("lora dB " + ctx, dBT.toFloatArray(), GpuParity.downloadF32(arena, gB, out * rank), dBBound);
                if (c.bias) assertWithin("lora dBias " + ctx, dBiasT.toFloatArray(), GpuParity.downloadF32(arena, gBias, out), dBiasBound);
            }
        }
    }

    /**
     * The NF4 → folded-weight dequantization (cuda/lora_linear.cu) against
     * {@link Nf4Tensor#dequantize(DType, Arena)} to BF16 bit for bit, rows landing {@code in + r}
     * apart, the {@code r} columns between rows keeping their poison; plain and double-quant
     * absmax, blocksizes 64 and 256, fresh random shapes.
     */
    @Test
    void nf4RowsMatchCpuBitForBitAndLeaveTheGapAlone() {
        CudaApi api = GpuParity.requireGpu();
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        int[][] shapes = {{3, 64, 8, 64}, {17, 256, 16, 256}, {1 + r.nextInt(40), 8 * (1 + r.nextInt(60)), 8 * (1 + r.nextInt(8)), 64}};
        DevicePool pool = new DevicePool(api, 0);
        try (CudaStream s = CudaStream.create(api); Gemm gemm = new Gemm(api); LoraLinearKernels k = new LoraLinearKernels(api, gemm, pool)) {
            for (int[] sh : shapes) {
                for (boolean dq : new boolean[] {true, false}) {
                    int rows = sh[0], in = sh[1], gap = sh[2], bs = sh[3], ld = in + gap, n = rows * in;
                    try (Arena arena = Arena.ofShared()) {
                        Tensor weight = Tensor.of(DType.BF16, Shape.of(rows, in), GpuParity.gaussian(r, n, 0.1), arena);
                        Nf4Tensor q = Nf4Tensor.quantize(weight, bs, dq, arena);
                        short[] want = q.dequantize(DType.BF16, arena).data().toArray(java.lang.foreign.ValueLayout.JAVA_SHORT);
                        try (Nf4DequantKernels.Weight dw = Nf4DequantKernels.Weight.upload(api, q);
                                DeviceBuffer out = GpuParity.poisoned(api, 2L * rows * ld, 0xA5)) {
                            k.dequantizeRows(s, dw, out, rows, in, ld);
                            s.synchronize();
                            short[] got = GpuParity.downloadU16(arena, out, (long) rows * ld);
                            for (int t = 0; t < rows; t++) {
                                for (int c = 0; c < ld; c++) {
                                    short expect = c < in ? want[t * in + c] : (short) 0xA5A5;
                                    if (got[t * ld + c] != expect) {
                                        throw new AssertionError(String.format("NF4 rows seed=%d rows=%d in=%d ld=%d blocksize=%d dq=%b:"
                                                + " first mismatch at row %d col %d: want 0x%04X got 0x%04X", seed, rows, in, ld, bs, dq,
                                                t, c, expect, got[t * ld + c]));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** Σ_k |p[i, k]|·|q[j, k]| for p [n, K], q [m, K] (both row-major, "x·Wᵀ" shape): [n, m]. */
    private static double[] absProduct(float[] p, float[] q, int n, int K, int m, boolean unused) {
        double[] o = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                double s = 0;
                for (int k = 0; k < K; k++) s += Math.abs(p[i * K + k] * (double) q[j * K + k]);
                o[i * m + j] = s;
            }
        }
        return o;
    }

    /** Σ_k |p[i, k]|·|q[k, j]| for p [n, K], q [K, m]: [n, m]. */
    private static double[] absProductNN(float[] p, float[] q, int n, int K, int m) {
        double[] o = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < K; k++) {
                double pk = Math.abs(p[i * K + k]);
                if (pk == 0) continue;
                for (int j = 0; j < m; j++) o[i * m + j] += pk * Math.abs(q[k * m + j]);
            }
        }
        return o;
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }

    /** Rows of {@code cols} values spread to stride {@code ld}; the gap holds NaN (the GPU owns it). */
    private static float[] widen(float[] v, int rows, int cols, int ld) {
        if (ld == cols) return v;
        float[] o = new float[rows * ld];
        java.util.Arrays.fill(o, Float.NaN);
        for (int t = 0; t < rows; t++) System.arraycopy(v, t * cols, o, t * ld, cols);
        return o;
    }

    private static void assertWithin(String ctx, float[] want, float[] got, double[] bound) {
        int worst = 0;
        double worstRatio = -1;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs((double) got[i] - want[i]);
            double ratio = Float.isNaN(got[i]) || Float.isNaN(want[i]) ? Double.POSITIVE_INFINITY : err / bound[i];
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worst = i;
            }
        }
        if (worstRatio > 1) {
            throw new AssertionError(String.format("%s: worst element %d: want %s got %s (|Δ| = %.3g, bound %.3g), n = %d", ctx,
                    worst, want[worst], got[worst], Math.abs((double) got[worst] - want[worst]), bound[worst], want.length));
        }
    }
}
