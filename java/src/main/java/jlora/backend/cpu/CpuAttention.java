package jlora.backend.cpu;

import static jlora.backend.cpu.Floats.L;
import static jlora.backend.cpu.Floats.S;
import static jlora.backend.cpu.Floats.getInt;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jlora.tensor.Tensor;

/**
 * Causal grouped-query attention over packed documents, the exact (not approximate) math of
 * FlashAttention's varlen interface: for query token i of head h and kv group g = h / (Hq/Hkv),
 * s_ij = scale · q_i·k_j over j in [start(i), i] (its own document, causal), P = softmax(s),
 * o_i = Σ_j P_ij v_j, lse_i = log Σ_j exp(s_ij). Backward (FlashAttention-2, Alg. 2):
 * D_i = dO_i·o_i, P_ij = exp(s_ij − lse_i), dV_j = Σ_i P_ij dO_i, dS_ij = P_ij (dO_i·v_j − D_i),
 * dQ_i = scale Σ_j dS_ij k_j, dK_j = scale Σ_i dS_ij q_i. The backward runs as two passes, one
 * over queries (dQ) and one over keys (dK, dV), so no two tasks write the same row.
 * Operands are copied to heap arrays first: C2 compiles the inner products over float[] about
 * twice as fast as over segments, and the copies are O(T·H·Dh) against O(T²·H·Dh) work.
 */
final class CpuAttention {
    private CpuAttention() {}

    /** Geometry of one call: sizes plus the first and last token of every token's document. */
    private record Layout(int T, int Hq, int Hkv, int Dh, int group, float scale, int[] start, int[] end) {
        int q(int t, int h) {
            return (t * Hq + h) * Dh;
        }

        int kv(int t, int g) {
            return (t * Hkv + g) * Dh;
        }
    }

    private static Layout layout(Tensor q, Tensor k, Tensor v, Tensor segmentIds) {
        for (Tensor t : new Tensor[] {q, k, v}) {
            Floats.requireF32("q/k/v", t);
            if (t.shape().rank() != 3) throw new IllegalArgumentException("q, k, v must be [T, heads, headDim], got " + t);
        }
        Floats.requireShape("v", v, k.shape().dims());
        int T = (int) q.shape().dim(0), Hq = (int) q.shape().dim(1), Dh = (int) q.shape().dim(2);
        int Hkv = (int) k.shape().dim(1);
        if (k.shape().dim(0) != T || k.shape().dim(2) != Dh || Hkv == 0 || Hq % Hkv != 0) {
            throw new IllegalArgumentException("k " + k.shape() + " does not fit q " + q.shape() + " (query heads must be a multiple of kv heads)");
        }
        Floats.requireI32("segmentIds", segmentIds);
        Floats.requireShape("segmentIds", segmentIds, T);
        if ((long) T * Hq * Dh > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("attention too large for one call: " + q);
        int[] start = new int[T], end = new int[T];
        MemorySegment ss = segmentIds.data();
        for (int t = 0; t < T; t++) start[t] = t > 0 && getInt(ss, t) == getInt(ss, t - 1) ? start[t - 1] : t;
        for (int t = T - 1; t >= 0; t--) end[t] = t < T - 1 && getInt(ss, t) == getInt(ss, t + 1) ? end[t + 1] : t;
        return new Layout(T, Hq, Hkv, Dh, Hq / Hkv, (float) (1.0 / Math.sqrt(Dh)), start, end);
    }

    static void forward(Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse) {
        Layout a = layout(q, k, v, segmentIds);
        Floats.requireF32("out", out);
        Floats.requireShape("out", out, q.shape().dims());
        Floats.requireF32("lse", lse);
        Floats.requireShape("lse", lse, a.T, a.Hq);
        float[] qs = heap(q), ks = heap(k), vs = heap(v), os = new float[(int) q.numel()], ls = new float[a.T * a.Hq];
        Parallel.forRanges(a.T, 4, (t0, t1) -> {
            float[] s = new float[a.T];
            for (int i = t0; i < t1; i++) {
                for (int h = 0; h < a.Hq; h++) {
                    int g = h / a.group, st = a.start[i];
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = st; j <= i; j++) {
                        float sj = a.scale * dot(qs, a.q(i, h), ks, a.kv(j, g), a.Dh);
                        s[j - st] = sj;
                        max = Math.max(max, sj);
                    }
                    float sum = 0f;
                    for (int j = st; j <= i; j++) sum += s[j - st] = (float) Math.exp(s[j - st] - max);
                    float inv = 1f / sum;
                    for (int j = st; j <= i; j++) axpy(s[j - st] * inv, vs, a.kv(j, g), os, a.q(i, h), a.Dh);
                    ls[i * a.Hq + h] = max + (float) Math.log(sum);
                }
            }
        });
        MemorySegment.copy(os, 0, out.data(), Floats.F32, 0, os.length);
        MemorySegment.copy(ls, 0, lse.data(), Floats.F32, 0, ls.length);
    }

    static void backward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse,
                         Tensor dq, Tensor dk, Tensor dv) {
        Layout a = layout(q, k, v, segmentIds);
        for (Tensor t : new Tensor[] {dOut, out, lse, dq, dk, dv}) Floats.requireF32("attention tensors", t);
        Floats.requireShape("dOut", dOut, q.shape().dims());
        Floats.requireShape("out", out, q.shape().dims());
        Floats.requireShape("dq", dq, q.shape().dims());
        Floats.requireShape("dk", dk, k.shape().dims());
        Floats.requireShape("dv", dv, k.shape().dims());
        Floats.requireShape("lse", lse, a.T, a.Hq);
        float[] qs = heap(q), ks = heap(k), vs = heap(v), gs = heap(dOut), ls = heap(lse), os = heap(out);
        float[] dqs = new float[qs.length], dks = new float[ks.length], dvs = new float[vs.length];
        float[] rowD = new float[a.T * a.Hq];
        // Pass 1, per query row: D_i and dQ_i.
        Parallel.forRanges(a.T, 4, (t0, t1) -> {
            for (int i = t0; i < t1; i++) {
                for (int h = 0; h < a.Hq; h++) {
                    int g = h / a.group, o = a.q(i, h);
                    float di = dot(gs, o, os, o, a.Dh);
                    rowD[i * a.Hq + h] = di;
                    float lsei = ls[i * a.Hq + h];
                    for (int j = a.start[i]; j <= i; j++) {
                        float p = (float) Math.exp(a.scale * dot(qs, o, ks, a.kv(j, g), a.Dh) - lsei);
                        float ds = p * (dot(gs, o, vs, a.kv(j, g), a.Dh) - di);
                        axpy(a.scale * ds, ks, a.kv(j, g), dqs, o, a.Dh);
                    }
                }
            }
        });
        // Pass 2, per key row and kv head: dK_j, dV_j summed over the group's query heads.
        Parallel.forRanges(a.T, 4, (t0, t1) -> {
            for (int j = t0; j < t1; j++) {
                for (int g = 0; g < a.Hkv; g++) {
                    int kj = a.kv(j, g);
                    for (int h = g * a.group; h < (g + 1) * a.group; h++) {
                        for (int i = j; i <= a.end[j]; i++) {
                            int o = a.q(i, h);
                            float p = (float) Math.exp(a.scale * dot(qs, o, ks, kj, a.Dh) - ls[i * a.Hq + h]);
                            axpy(p, gs, o, dvs, kj, a.Dh);
                            float ds = p * (dot(gs, o, vs, kj, a.Dh) - rowD[i * a.Hq + h]);
                            axpy(a.scale * ds, qs, o, dks, kj, a.Dh);
                        }
                    }
                }
            }
        });
        MemorySegment.copy(dqs, 0, dq.data(), Floats.F32, 0, dqs.length);
        MemorySegment.copy(dks, 0, dk.data(), Floats.F32, 0, dks.length);
        MemorySegment.copy(dvs, 0, dv.data(), Floats.F32, 0, dvs.length);
    }

    private static float[] heap(Tensor t) {
        float[] a = new float[(int) t.numel()];
        MemorySegment.copy(t.data(), Floats.F32, 0, a, 0, a.length);
        return a;
    }

    /** Σ a[ai..ai+n) · b[bi..bi+n), fp32 lanes then a lane reduction. */
    private static float dot(float[] a, int ai, float[] b, int bi, int n) {
        int i = 0;
        float sum = 0f;
        if (n >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (; i <= n - L; i += L) acc = FloatVector.fromArray(S, a, ai + i).fma(FloatVector.fromArray(S, b, bi + i), acc);
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) sum += a[ai + i] * b[bi + i];
        return sum;
    }

    /** y[yi..yi+n) += alpha · x[xi..xi+n). */
    private static void axpy(float alpha, float[] x, int xi, float[] y, int yi, int n) {
        int i = 0;
        FloatVector va = FloatVector.broadcast(S, alpha);
        for (; i <= n - L; i += L) FloatVector.fromArray(S, x, xi + i).fma(va, FloatVector.fromArray(S, y, yi + i)).intoArray(y, yi + i);
        for (; i < n; i++) y[yi + i] += alpha * x[xi + i];
    }
}
