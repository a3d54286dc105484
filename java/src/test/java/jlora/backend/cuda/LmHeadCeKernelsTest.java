package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.backend.Backend;
import jlora.backend.DenseWeight;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link LmHeadCeKernels} (chunked LM head + cross-entropy: cuBLASLt + cuda/lm_head_ce.cu),
 * both the chunked forward / backward pair and the fused forward+backward over row blocks, against {@link CpuBackend#crossEntropy} / {@link CpuBackend#crossEntropyBackward} on fresh random
 * inputs: ignored targets (−100) mixed in, all ignored, none ignored with BF16 hidden (the no-gather
 * path), chunks that do and do not divide V, a chunk larger than V, F32 and BF16 dHidden, overwrite
 * and accumulate. Bounds come from a float64 model of the GPU's roundings: a logit is off by at
 * most E = 2⁻⁷·Σ_d |h||W| (bf16 hidden, fp32 accumulate), lse by at most max_v E, a softmax
 * probability by p·2·max E, G by that plus one bf16 rounding; dHidden and dLmHead sum those over
 * their dot products (+ 2⁻⁷ of the |terms| for the bf16 operands, + one bf16 rounding of a BF16
 * dHidden). Outputs start NaN (0xFF) except where the op accumulates.
 */
@Tag("gpu")
class LmHeadCeKernelsTest {
    private record Case(int T, int D, int V, int chunk, double ignored, DType hidden, DType dHidden, boolean accumulate, boolean head) {}

    @Test
    void forwardAndBackwardMatchCpu() {
        CudaApi api = GpuParity.requireGpu();
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        Case[] cases = {
            new Case(1, 8, 5, 3, 0, DType.F32, DType.F32, false, true),
            new Case(37, 64, 1000, 256, 0.3, DType.F32, DType.F32, false, true),
            new Case(70, 96, 3001, 1024, 0.5, DType.BF16, DType.BF16, false, false),
            new Case(48, 64, 777, 200, 0, DType.BF16, DType.F32, true, true),
            new Case(9, 32, 100, 64, 1.0, DType.F32, DType.F32, false, true),
            new Case(1 + r.nextInt(60), 128, 2000 + r.nextInt(3000), 8192, 0.2, DType.F32, DType.BF16, true, true),
        };
        DevicePool pool = new DevicePool(api, 0);
        try (CudaStream s = CudaStream.create(api); Gemm gemm = new Gemm(api)) {
            LmHeadCeKernels k = new LmHeadCeKernels(api, gemm, pool);
            for (Case c : cases) check(api, s, k, seed, r, c);
        }
    }

    private static void check(CudaApi api, CudaStream s, LmHeadCeKernels k, long seed, SplittableRandom r, Case c) {
        String ctx = "seed=" + seed + " " + c;
        int T = c.T, D = c.D, V = c.V;
        float scale = (float) (1.0 / Math.max(1, T));
        CpuBackend cpu = new CpuBackend();
        try (Arena arena = Arena.ofShared()) {
            float[] h = GpuParity.representable(c.hidden, GpuParity.gaussian(r, T * D, 1));
            float[] w = GpuParity.representable(DType.BF16, GpuParity.gaussian(r, V * D, 2.0 / Math.sqrt(D)));
            int[] y = new int[T];
            for (int t = 0; t < T; t++) y[t] = r.nextDouble() < c.ignored ? Backend.IGNORE_INDEX : r.nextInt(V);
            float[] dW0 = GpuParity.gaussian(r, V * D, 0.01), dH0 = GpuParity.representable(c.dHidden, GpuParity.gaussian(r, T * D, 0.01));

            Tensor hT = GpuParity.f32(arena, h, T, D), yT = GpuParity.i32(arena, y), lseT = GpuParity.f32(arena, new float[T], T);
            DenseWeight head = new DenseWeight(Tensor.of(DType.BF16, Shape.of(V, D), w, arena));
            LossSum want = cpu.crossEntropy(hT, head, yT, c.chunk, lseT);
            Tensor dhT = GpuParity.f32(arena, new float[T * D], T, D), dWT = GpuParity.f32(arena, dW0.clone(), V, D);
            cpu.crossEntropyBackward(hT, head, yT, lseT, scale, c.chunk, dhT, c.head ? dWT : null);
            float[] dhWant = dhT.toFloatArray();
            if (c.accumulate) for (int i = 0; i < dhWant.length; i++) dhWant[i] += dH0[i];

            // float64 model of the GPU's error
            double[] maxE = new double[T], lseBound = new double[T];
            double[][] dG = new double[T][], gAbs = new double[T][];
            double lossBound = 1e-6 * Math.abs(want.sum());
            for (int t = 0; t < T; t++) {
                if (y[t] == Backend.IGNORE_INDEX) continue;
                double[] z = new double[V], e = new double[V];
                double m = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < V; v++) {
                    double sum = 0, abs = 0;
                    for (int d = 0; d < D; d++) {
                        double p = (double) h[t * D + d] * w[v * D + d];
                        sum += p;
                        abs += Math.abs(p);
                    }
                    z[v] = sum;
                    e[v] = 0x1p-7 * abs + 1e-6 * Math.abs(sum);
                    m = Math.max(m, sum);
                    maxE[t] = Math.max(maxE[t], e[v]);
                }
                double se = 0;
                for (int v = 0; v < V; v++) se += Math.exp(z[v] - m);
                double lse = m + Math.log(se);
                lseBound[t] = maxE[t] + 1e-5 * (1 + Math.abs(lse));
                lossBound += lseBound[t] + e[y[t]];
                dG[t] = new double[V];
                gAbs[t] = new double[V];
                for (int v = 0; v < V; v++) {
                    double p = Math.exp(z[v] - lse), g = p - (v == y[t] ? 1 : 0);
                    gAbs[t][v] = scale * Math.abs(g);
                    dG[t][v] = scale * (p * 1.05 * Math.expm1(2 * maxE[t]) + 0x1p-8 * Math.abs(g) + 1e-6 * p);
                }
            }
            double[] dhBound = new double[T * D];
            for (int t = 0; t < T; t++) {
                for (int d = 0; d < D; d++) {
                    double b = 1e-7 + 1e-6 * Math.abs(dH0[t * D + d]);
                    if (dG[t] != null) {
                        for (int v = 0; v < V; v++) b += (dG[t][v] + 0x1p-7 * gAbs[t][v]) * Math.abs(w[v * D + d]);
                    }
                    dhBound[t * D + d] = b + (c.dHidden == DType.BF16 ? 0x1p-8 * Math.abs(dhWant[t * D + d]) : 0);
                }
            }
            double[] dWBound = new double[V * D];
            for (int v = 0; v < V; v++) {
                for (int d = 0; d < D; d++) {
                    double b = 1e-7 + 1e-6 * Math.abs(dW0[v * D + d]);
                    for (int t = 0; t < T; t++) {
                        if (dG[t] != null) b += (dG[t][v] + 0x1p-7 * gAbs[t][v]) * Math.abs(h[t * D + d]);
                    }
                    dWBound[v * D + d] = b;
                }
            }

            try (DeviceBuffer dh = GpuParity.upload(api, GpuParity.tensor(arena, c.hidden, h, T * D));
                    DeviceBuffer dw = GpuParity.upload(api, GpuParity.tensor(arena, DType.BF16, w, V * D));
                    DeviceBuffer lse = GpuParity.poisoned(api, 4L * T, 0xFF);
                    DeviceBuffer gdh = c.accumulate ? GpuParity.upload(api, GpuParity.tensor(arena, c.dHidden, dH0, T * D))
                            : GpuParity.poisoned(api, GpuParity.bytes(c.dHidden, (long) T * D), 0xFF);
                    DeviceBuffer gdw = GpuParity.upload(api, arena, dW0)) {
                DeviceMatrix hm = DeviceMatrix.of(dh, c.hidden, T, D), wm = DeviceMatrix.of(dw, DType.BF16, V, D);
                LossSum got = k.forward(s, hm, wm, y, c.chunk, lse);
                k.backward(s, hm, wm, y, lse, scale, c.chunk, DeviceMatrix.of(gdh, c.dHidden, T, D), c.accumulate, c.head ? gdw : null);
                s.synchronize();
                if (got.count() != want.count() || !(Math.abs(got.sum() - want.sum()) <= lossBound)) {
                    throw new AssertionError(String.format("ce loss %s: want %s (%d tokens) got %s (%d tokens), |Δ| = %.3g, bound %.3g",
                            ctx, want.sum(), want.count(), got.sum(), got.count(), Math.abs(got.sum() - want.sum()), lossBound));
                }
                double[] lb = new double[T];
                for (int t = 0; t < T; t++) lb[t] = y[t] == Backend.IGNORE_INDEX ? 1e-30 : lseBound[t];
                assertWithin("ce lse " + ctx, lseT.toFloatArray(), GpuParity.downloadF32(arena, lse, T), lb);
                assertWithin("ce dHidden " + ctx, dhWant, GpuParity.download(arena, gdh, c.dHidden, T * D), dhBound);
                if (c.head) assertWithin("ce dLmHead " + ctx, dWT.toFloatArray(), GpuParity.downloadF32(arena, gdw, V * D), dWBound);
            }
            // The fused forward+backward over row blocks: the same outputs, the same bounds.
            int rowBlock = 1 + r.nextInt(Math.max(1, T));
            String fctx = ctx + " fused rowBlock=" + rowBlock;
            try (DeviceBuffer dh = GpuParity.upload(api, GpuParity.tensor(arena, c.hidden, h, T * D));
                    DeviceBuffer dw = GpuParity.upload(api, GpuParity.tensor(arena, DType.BF16, w, V * D));
                    DeviceBuffer lse = GpuParity.poisoned(api, 4L * T, 0xFF);
                    DeviceBuffer gdh = c.accumulate ? GpuParity.upload(api, GpuParity.tensor(arena, c.dHidden, dH0, T * D))
                            : GpuParity.poisoned(api, GpuParity.bytes(c.dHidden, (long) T * D), 0xFF);
                    DeviceBuffer gdw = GpuParity.upload(api, arena, dW0)) {
                DeviceMatrix hm = DeviceMatrix.of(dh, c.hidden, T, D), wm = DeviceMatrix.of(dw, DType.BF16, V, D);
                LossSum got = k.forwardBackward(s, hm, wm, y, scale, rowBlock, lse, DeviceMatrix.of(gdh, c.dHidden, T, D), c.accumulate,
                        c.head ? gdw : null);
                if (got.count() != want.count() || !(Math.abs(got.sum() - want.sum()) <= lossBound)) {
                    throw new AssertionError(String.format("ce loss %s: want %s (%d tokens) got %s (%d tokens), |Δ| = %.3g, bound %.3g",
                            fctx, want.sum(), want.count(), got.sum(), got.count(), Math.abs(got.sum() - want.sum()), lossBound));
                }
                double[] lb = new double[T];
                for (int t = 0; t < T; t++) lb[t] = y[t] == Backend.IGNORE_INDEX ? 1e-30 : lseBound[t];
                assertWithin("ce lse " + fctx, lseT.toFloatArray(), GpuParity.downloadF32(arena, lse, T), lb);
                assertWithin("ce dHidden " + fctx, dhWant, GpuParity.download(arena, gdh, c.dHidden, T * D), dhBound);
                if (c.head) assertWithin("ce dLmHead " + fctx, dWT.toFloatArray(), GpuParity.downloadF32(arena, gdw, V * D), dWBound);
            }
        }
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
