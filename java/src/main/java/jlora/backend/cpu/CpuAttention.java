package jlora.backend.cpu;

import static jlora.backend.cpu.Floats.get;
import static jlora.backend.cpu.Floats.getInt;
import static jlora.backend.cpu.Floats.set;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jlora.backend.DenseWeight;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * Causal grouped-query attention over packed documents, the exact (not approximate) math of
 * FlashAttention's varlen interface. For query token i of head h, kv group g = h / (Hq/Hkv) and
 * keys j in [start(i), i] (its own document, causal):
 * <pre>
 *   s_ij = scale · q_i·k_j      P_ij = exp(s_ij − lse_i)      lse_i = log Σ_j exp(s_ij)
 *   o_i  = Σ_j P_ij v_j
 * backward (FlashAttention-2, Alg. 2), with D_i = dO_i·o_i:
 *   dP_ij = dO_i·v_j   dS_ij = P_ij (dP_ij − D_i)
 *   dQ_i = scale Σ_j dS_ij k_j   dK_j = scale Σ_i dS_ij q_i   dV_j = Σ_i P_ij dO_i
 * </pre>
 * Evaluated per (head, document, block of BQ query rows) as small matrix products on the
 * matmul kernels: S = Q·Kᵀ ({@link CpuMatmul#nt}), O = P·V ({@link CpuMatmul#nn}), dK and dV
 * by {@link CpuMatmul#tn}. Each block sees only the keys of its document up to its last row;
 * the causal mask inside the block zeroes P above the diagonal.
 */
final class CpuAttention {
    private CpuAttention() {}

    /** Query rows per block: bounds the score scratch at BQ × document length. */
    static final int BQ = 128;

    /** Geometry of one call: sizes, and the first and last token of every token's document. */
    private record Layout(int T, int Hq, int Hkv, int Dh, int group, float scale, int[] start, int[] end) {}

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
        int[] start = new int[T], end = new int[T];
        MemorySegment ss = segmentIds.data();
        for (int t = 0; t < T; t++) start[t] = t > 0 && getInt(ss, t) == getInt(ss, t - 1) ? start[t - 1] : t;
        for (int t = T - 1; t >= 0; t--) end[t] = t < T - 1 && getInt(ss, t) == getInt(ss, t + 1) ? end[t + 1] : t;
        return new Layout(T, Hq, Hkv, Dh, Hq / Hkv, (float) (1.0 / Math.sqrt(Dh)), start, end);
    }

    static void forward(Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse) {
        forward(q, k, v, segmentIds, out, lse, BQ);
    }

    static void forward(Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse, int bq) {
        Layout a = layout(q, k, v, segmentIds);
        Floats.requireF32("out", out);
        Floats.requireShape("out", out, q.shape().dims());
        Floats.requireF32("lse", lse);
        Floats.requireShape("lse", lse, a.T, a.Hq);
        int T = a.T, Dh = a.Dh;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment kh = arena.allocate((long) T * Dh * 4, 64), vh = arena.allocate((long) T * Dh * 4, 64);
            MemorySegment qh = arena.allocate((long) T * Dh * 4, 64), oh = arena.allocate((long) T * Dh * 4, 64);
            MemorySegment p = arena.allocate((long) Math.min(bq, T) * T * 4, 64);
            for (int g = 0; g < a.Hkv; g++) {
                gather(k, g, kh);
                gather(v, g, vh);
                for (int h = g * a.group; h < (g + 1) * a.group; h++) {
                    gather(q, h, qh);
                    int head = h;
                    forEachBlock(a, bq, (s, i0, i1) -> {
                        int rows = i1 - i0, nk = i1 - s;
                        CpuMatmul.nt(rows(qh, i0, Dh), rows, Dh, keys(kh, s, nk, Dh), 0, nk, p, nk, a.scale, false);
                        Parallel.forRanges(rows, 8, (r0, r1) -> {
                            for (int r = r0; r < r1; r++) {
                                int valid = i0 + r - s + 1; // keys s..i of this row
                                long o = (long) r * nk;
                                float max = Float.NEGATIVE_INFINITY;
                                for (int j = 0; j < valid; j++) max = Math.max(max, get(p, o + j));
                                float sum = 0f;
                                for (int j = 0; j < valid; j++) {
                                    float e = (float) Math.exp(get(p, o + j) - max);
                                    set(p, o + j, e);
                                    sum += e;
                                }
                                float inv = 1f / sum;
                                for (int j = 0; j < valid; j++) set(p, o + j, get(p, o + j) * inv);
                                for (int j = valid; j < nk; j++) set(p, o + j, 0f);
                                set(lse.data(), (long) (i0 + r) * a.Hq + head, max + (float) Math.log(sum));
                            }
                        });
                        CpuMatmul.nn(p, nk, rows, keys(vh, s, nk, Dh), 0, nk, rows(oh, i0, Dh), 1f, false);
                    });
                    scatter(oh, out, h);
                }
            }
        }
    }

    static void backward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse,
                         Tensor dq, Tensor dk, Tensor dv) {
        backward(dOut, q, k, v, segmentIds, out, lse, dq, dk, dv, BQ);
    }

    static void backward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse,
                         Tensor dq, Tensor dk, Tensor dv, int bq) {
        Layout a = layout(q, k, v, segmentIds);
        for (Tensor t : new Tensor[] {dOut, out, lse, dq, dk, dv}) Floats.requireF32("attention tensors", t);
        Floats.requireShape("dOut", dOut, q.shape().dims());
        Floats.requireShape("out", out, q.shape().dims());
        Floats.requireShape("dq", dq, q.shape().dims());
        Floats.requireShape("dk", dk, k.shape().dims());
        Floats.requireShape("dv", dv, k.shape().dims());
        Floats.requireShape("lse", lse, a.T, a.Hq);
        int T = a.T, Dh = a.Dh;
        // D_i = dO_i·o_i per (token, head)
        float[] rowD = new float[T * a.Hq];
        MemorySegment gs = dOut.data(), os = out.data(), ls = lse.data();
        Parallel.forRanges(T, 16, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                for (int h = 0; h < a.Hq; h++) {
                    long o = ((long) t * a.Hq + h) * Dh;
                    rowD[t * a.Hq + h] = Floats.dot(gs, o, os, o, Dh);
                }
            }
        });
        try (Arena arena = Arena.ofShared()) {
            MemorySegment kh = arena.allocate((long) T * Dh * 4, 64), vh = arena.allocate((long) T * Dh * 4, 64);
            MemorySegment qh = arena.allocate((long) T * Dh * 4, 64), gh = arena.allocate((long) T * Dh * 4, 64);
            MemorySegment dqh = arena.allocate((long) T * Dh * 4, 64);
            MemorySegment dkh = arena.allocate((long) T * Dh * 4, 64), dvh = arena.allocate((long) T * Dh * 4, 64);
            long scratch = (long) Math.min(bq, T) * T * 4;
            MemorySegment p = arena.allocate(scratch, 64), ds = arena.allocate(scratch, 64);
            for (int g = 0; g < a.Hkv; g++) {
                gather(k, g, kh);
                gather(v, g, vh);
                dkh.fill((byte) 0);
                dvh.fill((byte) 0);
                for (int h = g * a.group; h < (g + 1) * a.group; h++) {
                    gather(q, h, qh);
                    gather(dOut, h, gh);
                    int head = h;
                    forEachBlock(a, bq, (s, i0, i1) -> {
                        int rows = i1 - i0, nk = i1 - s;
                        MemorySegment qBlock = rows(qh, i0, Dh), gBlock = rows(gh, i0, Dh);
                        CpuMatmul.nt(qBlock, rows, Dh, keys(kh, s, nk, Dh), 0, nk, p, nk, a.scale, false);
                        CpuMatmul.nt(gBlock, rows, Dh, keys(vh, s, nk, Dh), 0, nk, ds, nk, 1f, false);
                        Parallel.forRanges(rows, 8, (r0, r1) -> {
                            for (int r = r0; r < r1; r++) {
                                int i = i0 + r, valid = i - s + 1;
                                long o = (long) r * nk;
                                float l = get(ls, (long) i * a.Hq + head), d = rowD[i * a.Hq + head];
                                for (int j = 0; j < valid; j++) {
                                    float pij = (float) Math.exp(get(p, o + j) - l);
                                    set(p, o + j, pij);
                                    set(ds, o + j, pij * (get(ds, o + j) - d));
                                }
                                for (int j = valid; j < nk; j++) {
                                    set(p, o + j, 0f);
                                    set(ds, o + j, 0f);
                                }
                            }
                        });
                        CpuMatmul.nn(ds, nk, rows, keys(kh, s, nk, Dh), 0, nk, rows(dqh, i0, Dh), a.scale, false);
                        CpuMatmul.tn(ds, nk, rows, nk, qBlock, Dh, rows(dkh, s, Dh), a.scale);
                        CpuMatmul.tn(p, nk, rows, nk, gBlock, Dh, rows(dvh, s, Dh), 1f);
                    });
                    scatter(dqh, dq, h);
                }
                scatter(dkh, dk, g);
                scatter(dvh, dv, g);
            }
        }
    }

    private interface BlockBody {
        /** Query rows [i0, i1) of the document starting at s. */
        void run(int s, int i0, int i1);
    }

    /** Visits every document in blocks of at most bq query rows, in token order. */
    private static void forEachBlock(Layout a, int bq, BlockBody body) {
        if (bq <= 0) throw new IllegalArgumentException("query block must be positive, got " + bq);
        for (int s = 0; s < a.T; s = a.end[s] + 1) {
            int e = a.end[s] + 1;
            for (int i0 = s; i0 < e; i0 += bq) body.run(s, i0, Math.min(e, i0 + bq));
        }
    }

    /** Rows of a contiguous [T, Dh] buffer from row r on (nt / nn / tn take offset-0 segments). */
    private static MemorySegment rows(MemorySegment m, int r, int dh) {
        return m.asSlice((long) r * dh * 4);
    }

    /** Rows [s, s + n) of a contiguous [T, Dh] buffer as a weight the matmul kernels read. */
    private static DenseWeight keys(MemorySegment m, int s, int n, int dh) {
        return new DenseWeight(Tensor.wrap(DType.F32, Shape.of(n, dh), m.asSlice((long) s * dh * 4, (long) n * dh * 4)));
    }

    /** dst[t, :] = x[t, head, :]: one head of a [T, H, Dh] tensor made contiguous. */
    private static void gather(Tensor x, int head, MemorySegment dst) {
        int T = (int) x.shape().dim(0), H = (int) x.shape().dim(1), dh = (int) x.shape().dim(2);
        for (int t = 0; t < T; t++) MemorySegment.copy(x.data(), ((long) t * H + head) * dh * 4, dst, (long) t * dh * 4, (long) dh * 4);
    }

    /** x[t, head, :] = src[t, :]. */
    private static void scatter(MemorySegment src, Tensor x, int head) {
        int T = (int) x.shape().dim(0), H = (int) x.shape().dim(1), dh = (int) x.shape().dim(2);
        for (int t = 0; t < T; t++) MemorySegment.copy(src, (long) t * dh * 4, x.data(), ((long) t * H + head) * dh * 4, (long) dh * 4);
    }
}
