package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
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
 * and bias; and groups of modules sharing x (each module against its own CPU op, dx against
 * their sum). The GPU rounds x, g, xa, gu, A and s·B to bf16 (relative 2⁻⁹ each) and accumulates
 * in fp32, so each element is bounded by 2⁻⁷ (forward, xa) or 2⁻⁶ (backward, two rounded factors
 * in series) times the sum of |terms| of its dot products, plus one bf16 rounding of a BF16 output
 * (and of a BF16 output's bias). Outputs start as NaN (0xFF), parameter gradients as random
 * values the GPU must add to.
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
            new Case(9, 44, 30, 5, true, DType.F32, DType.BF16, 0f, true), // tiny-model dims: NF4 one-element path
        };
        DevicePool pool = new DevicePool(api, 0);
        try (CudaStream s = CudaStream.create(api); Gemm gemm = new Gemm(api); LoraLinearKernels k = new LoraLinearKernels(api, gemm, pool)) {
            for (Case c : cases) {
                Dropout d = c.p > 0 ? new Dropout(c.p, r.nextLong()) : Dropout.NONE;
                Spec spec = new Spec(c.out, c.r, (float) r.nextDouble(0.5, 4), d, c.bias);
                runGroup(api, s, k, "seed=" + seed + " " + c, r, c.T, c.in, c.nf4, c.xType, c.outType, List.of(spec), false);
            }
        }
    }

    /**
     * Three modules over one x as one op (q/k/v-like: outputs 5:1:1, ranks 8, 16, 8): once without
     * dropout (one GEMM each for y, xa, dx), once with a dropout on two of them (their own masks);
     * bf16 and NF4 bases.
     */
    @Test
    void groupOfModulesMatchesEachModuleOnCpu() {
        CudaApi api = GpuParity.requireGpu();
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        DevicePool pool = new DevicePool(api, 0);
        try (CudaStream s = CudaStream.create(api); Gemm gemm = new Gemm(api); LoraLinearKernels k = new LoraLinearKernels(api, gemm, pool)) {
            for (boolean nf4 : new boolean[] {false, true}) {
                for (boolean drop : new boolean[] {false, true}) {
                    int T = 1 + r.nextInt(100), in = 128;
                    List<Spec> specs = List.of(new Spec(160, 8, 2f, drop ? new Dropout(0.1f, r.nextLong()) : Dropout.NONE, true),
                            new Spec(32, 16, 0.5f, Dropout.NONE, true),
                            new Spec(32, 8, 4f, drop ? new Dropout(0.3f, r.nextLong()) : Dropout.NONE, true));
                    String ctx = "seed=" + seed + " group T=" + T + " nf4=" + nf4 + " dropout=" + drop;
                    runGroup(api, s, k, ctx, r, T, in, nf4, drop ? DType.F32 : DType.BF16, drop ? DType.F32 : DType.BF16, specs, true);
                }
            }
        }
    }

    /** One module of a run: rows, rank, scale, dropout, whether it has a bias. */
    private record Spec(int out, int rank, float scale, Dropout dropout, boolean bias) {}

    /** A module's inputs, the CPU's outputs and the GPU's bounds. */
    private static final class Ref {
        Tensor wT;
        Nf4Tensor q;
        float[] a, b, bias, dA0, dB0, dBias0;
        float[] y, xa, dx, dA, dB, dBias;
        double[] yB, xaB, dxB, dAB, dBB, dBiasB;
    }

    private static Ref reference(Arena arena, SplittableRandom r, float[] x, float[] g, int T, int in, Spec sp, boolean nf4,
            DType outType) {
        CpuBackend cpu = new CpuBackend();
        Ref f = new Ref();
        int out = sp.out, rank = sp.rank;
        float scale = sp.scale;
        Dropout dropout = sp.dropout;
        float[] w = GpuParity.representable(DType.BF16, GpuParity.gaussian(r, out * in, 0.05));
        f.wT = Tensor.of(DType.BF16, Shape.of(out, in), w, arena);
        f.q = nf4 ? Nf4Tensor.quantize(f.wT, 64, true, arena) : null;
        LinearWeight lw = nf4 ? new Nf4Weight(f.q) : new DenseWeight(f.wT);
        float[] wf = new float[out * in];
        lw.rowsToFloat(0, out, wf);
        f.a = GpuParity.gaussian(r, rank * in, 0.1);
        f.b = GpuParity.gaussian(r, out * rank, 0.1);
        f.bias = sp.bias ? GpuParity.gaussian(r, out, 0.5) : null;
        f.dA0 = GpuParity.gaussian(r, rank * in, 1);
        f.dB0 = GpuParity.gaussian(r, out * rank, 1);
        f.dBias0 = GpuParity.gaussian(r, out, 1);

        Tensor xT = GpuParity.f32(arena, x, T, in), aT = GpuParity.f32(arena, f.a, rank, in), bT = GpuParity.f32(arena, f.b, out, rank);
        Tensor biasT = sp.bias ? GpuParity.f32(arena, f.bias, out) : null;
        Tensor yT = GpuParity.f32(arena, new float[T * out], T, out), xaT = GpuParity.f32(arena, new float[T * rank], T, rank);
        cpu.loraLinear(xT, lw, biasT, aT, bT, scale, dropout, yT, xaT);
        Tensor dxT = GpuParity.f32(arena, new float[T * in], T, in), dAT = GpuParity.f32(arena, f.dA0.clone(), rank, in);
        Tensor dBT = GpuParity.f32(arena, f.dB0.clone(), out, rank), dBiasT = sp.bias ? GpuParity.f32(arena, f.dBias0.clone(), out) : null;
        cpu.loraLinearBackward(GpuParity.f32(arena, g, T, out), xT, lw, aT, bT, scale, dropout, xaT, dxT, dAT, dBT, dBiasT);
        f.y = yT.toFloatArray();
        f.xa = xaT.toFloatArray();
        f.dx = dxT.toFloatArray();
        f.dA = dAT.toFloatArray();
        f.dB = dBT.toFloatArray();
        f.dBias = sp.bias ? dBiasT.toFloatArray() : null;

        float[] xd = new float[T * in];
        for (int i = 0; i < xd.length; i++) xd[i] = x[i] * dropout.factor(i);
        double[] bXa = absProduct(xd, f.a, T, in, rank);       // Σ_i |xd||A|      [T, r]
        double[] bXW = absProduct(x, wf, T, in, out);          // Σ_i |x||W|       [T, out]
        double[] absGB = absProductNN(g, f.b, T, out, rank);
        double[] bGu = new double[T * rank];                    // |s|·Σ_o |g||B|   [T, r]
        for (int i = 0; i < bGu.length; i++) bGu[i] = Math.abs(scale) * absGB[i];
        f.yB = new double[T * out];
        for (int t = 0; t < T; t++) {
            for (int o = 0; o < out; o++) {
                double lora = 0;
                for (int j = 0; j < rank; j++) lora += Math.abs(f.b[o * rank + j]) * (Math.abs(f.xa[t * rank + j]) + bXa[t * rank + j]);
                // + a bf16 output's bias rounded to bf16 for the GEMM epilogue, which may round y before and
                // after adding it (GemmTest saw two roundings on the H100)
                double v = 0x1p-7 * (bXW[t * out + o] + Math.abs(scale) * lora) + 1e-6
                        + (sp.bias && outType == DType.BF16 ? 0x1p-8 * (Math.abs(f.bias[o]) + Math.abs(f.y[t * out + o])) : 0);
                f.yB[t * out + o] = v + (outType == DType.BF16 ? 0x1p-8 * Math.abs(f.y[t * out + o]) : 0);
            }
        }
        f.xaB = new double[T * rank];
        for (int i = 0; i < f.xaB.length; i++) f.xaB[i] = 0x1p-7 * bXa[i] + 1e-6;
        double[] gW = absProductNN(g, wf, T, out, in);
        double[] guA = absProductNN(toFloat(bGu), f.a, T, rank, in);
        f.dxB = new double[T * in];
        for (int i = 0; i < f.dxB.length; i++) f.dxB[i] = 0x1p-6 * (gW[i] + Math.abs(dropout.factor(i)) * guA[i]) + 1e-6;
        f.dBB = new double[out * rank];
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < rank; j++) {
                double sum = 0;
                for (int t = 0; t < T; t++) sum += Math.abs(g[t * out + o]) * (Math.abs(f.xa[t * rank + j]) + bXa[t * rank + j]);
                f.dBB[o * rank + j] = 0x1p-6 * Math.abs(scale) * sum + 1e-6 * (1 + Math.abs(f.dB0[o * rank + j]));
            }
        }
        f.dAB = new double[rank * in];
        for (int j = 0; j < rank; j++) {
            for (int i = 0; i < in; i++) {
                double sum = 0;
                for (int t = 0; t < T; t++) sum += bGu[t * rank + j] * Math.abs(xd[t * in + i]);
                f.dAB[j * in + i] = 0x1p-6 * sum + 1e-6 * (1 + Math.abs(f.dA0[j * in + i]));
            }
        }
        f.dBiasB = new double[out];
        for (int o = 0; o < out; o++) {
            double sum = 0;
            for (int t = 0; t < T; t++) sum += Math.abs(g[t * out + o]);
            f.dBiasB[o] = 0x1p-7 * sum + 1e-6 * (1 + Math.abs(f.dBias0[o]));
        }
        return f;
    }

    /**
     * Runs the modules of {@code specs} over one x on the GPU (as one op: a single module, or a
     * group through the {@link LoraLinearKernels.Part} API when {@code grouped}) and compares every
     * output with the modules' CPU references.
     */
    private static void runGroup(CudaApi api, CudaStream s, LoraLinearKernels k, String ctx, SplittableRandom r, int T, int in,
            boolean nf4, DType xType, DType outType, List<Spec> specs, boolean grouped) {
        int outSum = 0, rankSum = 0;
        for (Spec sp : specs) {
            outSum += sp.out;
            rankSum += sp.rank;
        }
        boolean bias = specs.get(0).bias;
        try (Arena arena = Arena.ofShared()) {
            float[] x = GpuParity.representable(xType, GpuParity.gaussian(r, T * in, 1));
            float[] g = GpuParity.representable(DType.BF16, GpuParity.gaussian(r, T * outSum, 1));
            List<Ref> refs = new ArrayList<>();
            int o0 = 0;
            for (Spec sp : specs) {
                float[] gi = columns(g, T, outSum, o0, sp.out);
                refs.add(reference(arena, r, x, gi, T, in, sp, nf4, outType));
                o0 += sp.out;
            }
            // The group's expected outputs, concatenated by columns; dx summed over the modules.
            float[] yWant = new float[T * outSum], xaWant = new float[T * rankSum], dxWant = new float[T * in];
            double[] yB = new double[T * outSum], xaB = new double[T * rankSum], dxB = new double[T * in];
            float[] wCat = new float[outSum * in], biasCat = new float[outSum], dBias0 = new float[outSum], dBiasWant = new float[outSum];
            double[] dBiasB = new double[outSum];
            int o = 0, q = 0;
            for (int m = 0; m < specs.size(); m++) {
                Spec sp = specs.get(m);
                Ref f = refs.get(m);
                putColumns(yWant, yB, T, outSum, o, f.y, f.yB, sp.out);
                putColumns(xaWant, xaB, T, rankSum, q, f.xa, f.xaB, sp.rank);
                for (int i = 0; i < dxWant.length; i++) {
                    dxWant[i] += f.dx[i];
                    dxB[i] += f.dxB[i];
                }
                System.arraycopy(f.wT.toFloatArray(), 0, wCat, o * in, sp.out * in);
                if (bias) {
                    System.arraycopy(f.bias, 0, biasCat, o, sp.out);
                    System.arraycopy(f.dBias0, 0, dBias0, o, sp.out);
                    System.arraycopy(f.dBias, 0, dBiasWant, o, sp.out);
                    System.arraycopy(f.dBiasB, 0, dBiasB, o, sp.out);
                }
                o += sp.out;
                q += sp.rank;
            }
            if (outType == DType.BF16) {
                for (int i = 0; i < dxB.length; i++) dxB[i] += 0x1p-8 * Math.abs(dxWant[i]);
            }

            int xLd = xType == DType.BF16 ? in + rankSum : in; // BF16 x comes with the adapters' room
            DType gType = xType;
            int gLd = gType == DType.BF16 ? outSum + rankSum : outSum;
            float[] xWide = widen(x, T, in, xLd), gWide = widen(g, T, outSum, gLd);
            List<DeviceBuffer> owned = new ArrayList<>();
            try (LoraLinearKernels.FoldedWeight f = LoraLinearKernels.FoldedWeight.allocate(api, outSum, in, rankSum);
                    DeviceBuffer dx = GpuParity.upload(api, GpuParity.tensor(arena, xType, xWide, xWide.length));
                    DeviceBuffer dg = GpuParity.upload(api, GpuParity.tensor(arena, gType, gWide, gWide.length));
                    DeviceBuffer dBias = bias ? GpuParity.upload(api, arena, biasCat) : null;
                    DeviceBuffer y = GpuParity.poisoned(api, GpuParity.bytes(outType, (long) T * outSum), 0xFF);
                    DeviceBuffer xa = GpuParity.poisoned(api, 4L * T * rankSum, 0xFF);
                    DeviceBuffer gx = GpuParity.poisoned(api, GpuParity.bytes(outType, (long) T * in), 0xFF);
                    DeviceBuffer gBias = GpuParity.upload(api, arena, dBias0);
                    DeviceBuffer wBuf = nf4 ? null : GpuParity.upload(api, GpuParity.tensor(arena, DType.BF16, wCat, wCat.length))) {
                List<LoraLinearKernels.Part> parts = new ArrayList<>();
                List<DeviceBuffer> dAs = new ArrayList<>(), dBs = new ArrayList<>();
                o = 0;
                for (int m = 0; m < specs.size(); m++) {
                    Spec sp = specs.get(m);
                    Ref rf = refs.get(m);
                    if (nf4) {
                        Nf4DequantKernels.Weight nw = Nf4DequantKernels.Weight.upload(api, rf.q);
                        k.dequantizeBase(s, nw, f, o, sp.out);
                        s.synchronize();
                        nw.close();
                    }
                    DeviceBuffer da = GpuParity.upload(api, arena, rf.a), db = GpuParity.upload(api, arena, rf.b);
                    DeviceBuffer gA = GpuParity.upload(api, arena, rf.dA0), gB = GpuParity.upload(api, arena, rf.dB0);
                    owned.addAll(List.of(da, db, gA, gB));
                    parts.add(new LoraLinearKernels.Part(sp.out, new LoraLinearKernels.Adapter(da, db, sp.rank, sp.scale), sp.dropout));
                    dAs.add(gA);
                    dBs.add(gB);
                    o += sp.out;
                }
                if (!nf4) k.loadBase(s, DeviceMatrix.of(wBuf, DType.BF16, outSum, in), f);
                DeviceMatrix xm = new DeviceMatrix(dx, 0, xType, T, in, xLd);
                DeviceMatrix gm = new DeviceMatrix(dg, 0, gType, T, outSum, gLd);
                DeviceMatrix ym = DeviceMatrix.of(y, outType, T, outSum), dxm = DeviceMatrix.of(gx, outType, T, in);
                if (grouped) {
                    k.forward(s, f, parts, dBias, xm, ym, xa);
                    k.backward(s, f, parts, gm, xm, xa, dxm, dAs, dBs, bias ? gBias : null);
                } else {
                    LoraLinearKernels.Part p = parts.get(0);
                    k.forward(s, f, p.adapter(), dBias, p.dropout(), xm, ym, xa);
                    k.backward(s, f, p.adapter(), p.dropout(), gm, xm, xa, dxm, dAs.get(0), dBs.get(0), bias ? gBias : null);
                }
                s.synchronize();
                assertWithin("lora y " + ctx, yWant, GpuParity.download(arena, y, outType, T * outSum), yB);
                assertWithin("lora xa " + ctx, xaWant, GpuParity.downloadF32(arena, xa, T * rankSum), xaB);
                assertWithin("lora dx " + ctx, dxWant, GpuParity.download(arena, gx, outType, T * in), dxB);
                for (int m = 0; m < specs.size(); m++) {
                    Spec sp = specs.get(m);
                    Ref rf = refs.get(m);
                    assertWithin("lora dA[" + m + "] " + ctx, rf.dA, GpuParity.downloadF32(arena, dAs.get(m), sp.rank * in), rf.dAB);
                    assertWithin("lora dB[" + m + "] " + ctx, rf.dB, GpuParity.downloadF32(arena, dBs.get(m), sp.out * sp.rank), rf.dBB);
                }
                if (bias) assertWithin("lora dBias " + ctx, dBiasWant, GpuParity.downloadF32(arena, gBias, outSum), dBiasB);
            } finally {
                for (DeviceBuffer b : owned) b.close();
            }
        }
    }

    /** Columns [c0, c0 + n) of a row-major [rows, cols] matrix. */
    private static float[] columns(float[] m, int rows, int cols, int c0, int n) {
        float[] o = new float[rows * n];
        for (int t = 0; t < rows; t++) System.arraycopy(m, t * cols + c0, o, t * n, n);
        return o;
    }

    private static void putColumns(float[] dst, double[] dstB, int rows, int cols, int c0, float[] src, double[] srcB, int n) {
        for (int t = 0; t < rows; t++) {
            System.arraycopy(src, t * n, dst, t * cols + c0, n);
            System.arraycopy(srcB, t * n, dstB, t * cols + c0, n);
        }
    }

    /**
     * The NF4 → folded-weight dequantization (cuda/lora_linear.cu) against
     * {@link Nf4Tensor#dequantize(DType, Arena)} to BF16 bit for bit, rows landing {@code in + r}
     * apart, the {@code r} columns between rows keeping their poison; plain and double-quant
     * absmax, blocksizes 32, 64 and 256, fresh random shapes, odd ones included.
     */
    @Test
    void nf4RowsMatchCpuBitForBitAndLeaveTheGapAlone() {
        CudaApi api = GpuParity.requireGpu();
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        // the last two: dims that are not multiples of 8 (tiny models) take the one-element path
        int[][] shapes = {{3, 64, 8, 64}, {17, 256, 16, 256}, {1 + r.nextInt(40), 8 * (1 + r.nextInt(60)), 8 * (1 + r.nextInt(8)), 64},
            {5, 37, 3, 64}, {1 + r.nextInt(30), 1 + r.nextInt(200), 1 + r.nextInt(9), 32}};
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
                            k.dequantizeRows(s, dw, out, 0, rows, in, ld);
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
    private static double[] absProduct(float[] p, float[] q, int n, int K, int m) {
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
