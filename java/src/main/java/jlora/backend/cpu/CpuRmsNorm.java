package jlora.backend.cpu;

import static jlora.backend.cpu.Floats.get;
import static jlora.backend.cpu.Floats.param;
import static jlora.backend.cpu.Floats.set;

import java.lang.foreign.MemorySegment;
import jlora.tensor.Tensor;

/**
 * RMSNorm as Llama / Qwen define it (HF LlamaRMSNorm): r = 1 / sqrt(mean_i x_i² + eps),
 * y_i = w_i · x_i · r, all in fp32. Backward, with g = dy:
 * dx_i = r · g_i w_i − x_i · r³ / D · Σ_j g_j w_j x_j, and dw_i = Σ_t g_i x_i r.
 */
final class CpuRmsNorm {
    private CpuRmsNorm() {}

    static void forward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        int T = Floats.rows(x), D = Floats.lastDim(x);
        check(x, weight, out, rstd);
        MemorySegment xs = x.data(), ys = out.data(), rs = rstd.data();
        Parallel.forRanges(T, 16, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                long o = (long) t * D;
                float ss = Floats.dot(xs, o, xs, o, D);
                float r = (float) (1.0 / Math.sqrt(ss / D + eps));
                set(rs, t, r);
                for (int i = 0; i < D; i++) set(ys, o + i, get(xs, o + i) * r * param(weight, i));
            }
        });
    }

    static void backward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight) {
        int T = Floats.rows(x), D = Floats.lastDim(x);
        check(x, weight, dOut, rstd);
        Floats.requireShape("dx", dx, x.shape().dims());
        Floats.requireF32("dx", dx);
        MemorySegment xs = x.data(), gs = dOut.data(), rs = rstd.data(), dxs = dx.data();
        Parallel.forRanges(T, 16, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                long o = (long) t * D;
                float r = get(rs, t);
                float dot = 0f;
                for (int i = 0; i < D; i++) dot += get(gs, o + i) * param(weight, i) * get(xs, o + i);
                float c = r * r * r * dot / D;
                for (int i = 0; i < D; i++) set(dxs, o + i, r * get(gs, o + i) * param(weight, i) - c * get(xs, o + i));
            }
        });
        if (dWeight == null) return;
        Floats.requireF32("dWeight", dWeight);
        Floats.requireShape("dWeight", dWeight, D);
        MemorySegment dws = dWeight.data();
        // Columns in parallel so that each dw_i is summed over tokens by one task.
        Parallel.forRanges(D, 64, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                float s = 0f;
                for (int t = 0; t < T; t++) s += get(gs, (long) t * D + i) * get(xs, (long) t * D + i) * get(rs, t);
                set(dws, i, get(dws, i) + s);
            }
        });
    }

    private static void check(Tensor x, Tensor weight, Tensor out, Tensor rstd) {
        Floats.requireF32("x", x);
        Floats.requireF32("out", out);
        Floats.requireF32("rstd", rstd);
        Floats.requireFloatParam("weight", weight);
        Floats.requireShape("weight", weight, x.shape().dim(-1));
        Floats.requireShape("out", out, x.shape().dims());
        Floats.requireShape("rstd", rstd, Floats.rows(x));
    }
}
