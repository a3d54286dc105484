package jlora.backend.cpu;

import static jlora.backend.cpu.Floats.L;
import static jlora.backend.cpu.Floats.S;
import static jlora.backend.cpu.Floats.get;
import static jlora.backend.cpu.Floats.load;
import static jlora.backend.cpu.Floats.set;
import static jlora.backend.cpu.Floats.store;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jlora.backend.LinearWeight;

/**
 * The three matrix products training needs, fp32 accumulation throughout:
 * <ul>
 *   <li>{@link #nt}: y = x·Wᵀ (forward of every linear, logits of a vocabulary chunk);</li>
 *   <li>{@link #nn}: dx = dy·W (gradient to a linear's input);</li>
 *   <li>{@link #tn}: dW = dyᵀ·x (gradient to a trainable weight: LoRA A/B, LM head).</li>
 * </ul>
 * W is any {@link LinearWeight}; it is read {@code NB} rows at a time, widened to fp32 into a
 * task-local tile, so bf16 / NF4 weights are dequantized a tile at a time. Activations are row-
 * major F32 segments. All three give the same result for any thread split (each output element
 * is summed by one task in a fixed order).
 */
final class CpuMatmul {
    private CpuMatmul() {}

    /** Rows of W per tile: 32 rows × K floats stay in L2 for K up to ~8k. */
    static final int NB = 32;
    /** Rows of x per task in {@link #nt}. */
    static final int MB = 256;

    /**
     * y[m, n] = (accumulate ? y[m, n] : 0) + alpha · Σ_k x[m, k] · W[row0 + n, k], for m < M,
     * n < N. x is {@code [M, K]} at element offset 0 with row stride K; y has row stride ldy.
     */
    static void nt(MemorySegment x, int M, int K, LinearWeight w, int row0, int N,
                   MemorySegment y, int ldy, float alpha, boolean accumulate) {
        checkK(w, K);
        int nBlocks = Math.ceilDiv(N, NB);
        int mBlocks = Math.ceilDiv(M, MB);
        Parallel.forEach(nBlocks * mBlocks, task -> {
            int nb = task / mBlocks, mb = task % mBlocks;
            int n0 = nb * NB, nRows = Math.min(NB, N - n0);
            float[] tile = new float[nRows * K];
            w.rowsToFloat(row0 + n0, nRows, tile);
            ntTile(x, K, tile, mb * MB, Math.min(M, (mb + 1) * MB), n0, nRows, y, ldy, alpha, accumulate);
        });
    }

    private static void ntTile(MemorySegment x, int K, float[] wt, int m0, int m1, int n0, int nRows,
                               MemorySegment y, int ldy, float alpha, boolean accumulate) {
        int m = m0;
        float[] c = new float[16];
        // Four x rows copied to the heap: the kernel then reads two float[]s, which C2 compiles
        // tighter than segment loads (no per-access segment checks in the inner loop).
        float[] xs = new float[4 * K];
        for (; m + 4 <= m1; m += 4) {
            MemorySegment.copy(x, Floats.F32, (long) m * K * 4, xs, 0, 4 * K);
            int n = 0;
            for (; n + 4 <= nRows; n += 4) {
                kernel4x4(xs, K, wt, n * K, c);
                for (int i = 0; i < 4; i++) {
                    for (int j = 0; j < 4; j++) write(y, (long) (m + i) * ldy + n0 + n + j, alpha * c[i * 4 + j], accumulate);
                }
            }
            for (; n < nRows; n++) {
                for (int i = 0; i < 4; i++) {
                    write(y, (long) (m + i) * ldy + n0 + n, alpha * dotXW(x, (long) (m + i) * K, wt, n * K, K), accumulate);
                }
            }
        }
        for (; m < m1; m++) {
            for (int n = 0; n < nRows; n++) {
                write(y, (long) m * ldy + n0 + n, alpha * dotXW(x, (long) m * K, wt, n * K, K), accumulate);
            }
        }
    }

    private static void write(MemorySegment y, long i, float v, boolean accumulate) {
        set(y, i, accumulate ? get(y, i) + v : v);
    }

    /** 4 rows of x against 4 rows of W: 16 vector accumulators (AVX-512 has 32 registers). */
    private static void kernel4x4(float[] xs, int K, float[] wt, int wo, float[] c) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int x1 = K, x2 = 2 * K, x3 = 3 * K;
        int w0 = wo, w1 = wo + K, w2 = wo + 2 * K, w3 = wo + 3 * K;
        int k = 0;
        for (; k <= K - L; k += L) {
            FloatVector b0 = FloatVector.fromArray(S, wt, w0 + k);
            FloatVector b1 = FloatVector.fromArray(S, wt, w1 + k);
            FloatVector b2 = FloatVector.fromArray(S, wt, w2 + k);
            FloatVector b3 = FloatVector.fromArray(S, wt, w3 + k);
            FloatVector a = FloatVector.fromArray(S, xs, k);
            c00 = a.fma(b0, c00); c01 = a.fma(b1, c01); c02 = a.fma(b2, c02); c03 = a.fma(b3, c03);
            a = FloatVector.fromArray(S, xs, x1 + k);
            c10 = a.fma(b0, c10); c11 = a.fma(b1, c11); c12 = a.fma(b2, c12); c13 = a.fma(b3, c13);
            a = FloatVector.fromArray(S, xs, x2 + k);
            c20 = a.fma(b0, c20); c21 = a.fma(b1, c21); c22 = a.fma(b2, c22); c23 = a.fma(b3, c23);
            a = FloatVector.fromArray(S, xs, x3 + k);
            c30 = a.fma(b0, c30); c31 = a.fma(b1, c31); c32 = a.fma(b2, c32); c33 = a.fma(b3, c33);
        }
        // Sixteen named reductions, not a loop over a FloatVector[]: an array of vectors defeats
        // C2's box elimination and makes this kernel ten times slower.
        c[0] = Floats.sumLanes(c00); c[1] = Floats.sumLanes(c01);
        c[2] = Floats.sumLanes(c02); c[3] = Floats.sumLanes(c03);
        c[4] = Floats.sumLanes(c10); c[5] = Floats.sumLanes(c11);
        c[6] = Floats.sumLanes(c12); c[7] = Floats.sumLanes(c13);
        c[8] = Floats.sumLanes(c20); c[9] = Floats.sumLanes(c21);
        c[10] = Floats.sumLanes(c22); c[11] = Floats.sumLanes(c23);
        c[12] = Floats.sumLanes(c30); c[13] = Floats.sumLanes(c31);
        c[14] = Floats.sumLanes(c32); c[15] = Floats.sumLanes(c33);
        for (; k < K; k++) {
            for (int i = 0; i < 4; i++) {
                float xv = xs[i * K + k];
                for (int j = 0; j < 4; j++) c[i * 4 + j] += xv * wt[wo + j * K + k];
            }
        }
    }

    private static float dotXW(MemorySegment x, long xo, float[] wt, int wo, int K) {
        int k = 0;
        float sum = 0f;
        if (K >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (; k <= K - L; k += L) acc = load(x, xo + k).fma(FloatVector.fromArray(S, wt, wo + k), acc);
            sum = Floats.sumLanes(acc);
        }
        for (; k < K; k++) sum += get(x, xo + k) * wt[wo + k];
        return sum;
    }

    /**
     * dx[m, k] = (accumulate ? dx[m, k] : 0) + alpha · Σ_n dy[m, n] · W[row0 + n, k], for
     * m < M, n < N, k < K = W.inFeatures(). dy has row stride ldDy; dx is {@code [M, K]}.
     * Parallel over rows of dx, so no two tasks write the same element.
     */
    static void nn(MemorySegment dy, int ldDy, int M, LinearWeight w, int row0, int N,
                   MemorySegment dx, float alpha, boolean accumulate) {
        int K = w.inFeatures();
        int minRows = Math.max(8, M / (4 * Runtime.getRuntime().availableProcessors()));
        Parallel.forRanges(M, minRows, (m0, m1) -> {
            if (!accumulate) dx.asSlice((long) m0 * K * 4, (long) (m1 - m0) * K * 4).fill((byte) 0);
            float[] tile = new float[Math.min(NB, N) * K], rows = new float[4 * K], coef = new float[4 * NB];
            for (int n0 = 0; n0 < N; n0 += NB) {
                int nRows = Math.min(NB, N - n0);
                w.rowsToFloat(row0 + n0, nRows, tile);
                int m = m0;
                for (; m + 4 <= m1 && K >= L; m += 4) {
                    // Four dx rows and their dy coefficients through the heap (as nt's x strip).
                    MemorySegment.copy(dx, Floats.F32, (long) m * K * 4, rows, 0, 4 * K);
                    for (int i = 0; i < 4; i++) {
                        for (int n = 0; n < nRows; n++) coef[i * nRows + n] = alpha * get(dy, (long) (m + i) * ldDy + n0 + n);
                    }
                    nnBlock4(coef, tile, nRows, K, rows);
                    MemorySegment.copy(rows, 0, dx, Floats.F32, (long) m * K * 4, 4 * K);
                }
                for (; m + 2 <= m1 && nRows % 4 == 0; m += 2) nnRows2(dy, ldDy, m, n0, tile, nRows, K, dx, alpha);
                for (; m < m1; m++) nnRow(dy, (long) m * ldDy + n0, tile, nRows, K, dx, (long) m * K, alpha);
            }
        });
    }

    /**
     * Two dx rows at once against four tile rows: each W vector loaded once feeds both rows.
     * (A 4×4 block with 16 broadcast coefficients spilled and ran 10× slower under C2.)
     * nRows must be a multiple of 4.
     */
    private static void nnRows2(MemorySegment dy, int ldDy, int m, int n0, float[] tile, int nRows, int K,
                                MemorySegment dx, float alpha) {
        long d0 = (long) m * K, d1 = d0 + K;
        long y0 = (long) m * ldDy + n0, y1 = y0 + ldDy;
        for (int n = 0; n < nRows; n += 4) {
            FloatVector a00 = bc(alpha, dy, y0 + n), a01 = bc(alpha, dy, y0 + n + 1), a02 = bc(alpha, dy, y0 + n + 2), a03 = bc(alpha, dy, y0 + n + 3);
            FloatVector a10 = bc(alpha, dy, y1 + n), a11 = bc(alpha, dy, y1 + n + 1), a12 = bc(alpha, dy, y1 + n + 2), a13 = bc(alpha, dy, y1 + n + 3);
            int w0 = n * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
            int k = 0;
            for (; k <= K - L; k += L) {
                FloatVector b0 = FloatVector.fromArray(S, tile, w0 + k), b1 = FloatVector.fromArray(S, tile, w1 + k);
                FloatVector b2 = FloatVector.fromArray(S, tile, w2 + k), b3 = FloatVector.fromArray(S, tile, w3 + k);
                store(b3.fma(a03, b2.fma(a02, b1.fma(a01, b0.fma(a00, load(dx, d0 + k))))), dx, d0 + k);
                store(b3.fma(a13, b2.fma(a12, b1.fma(a11, b0.fma(a10, load(dx, d1 + k))))), dx, d1 + k);
            }
            for (; k < K; k++) {
                for (int i = 0; i < 2; i++) {
                    long yo = (long) (m + i) * ldDy + n0 + n, o = (long) (m + i) * K + k;
                    float s = get(dx, o);
                    for (int j = 0; j < 4; j++) s += alpha * get(dy, yo + j) * tile[(n + j) * K + k];
                    set(dx, o, s);
                }
            }
        }
    }

    /**
     * d[i, :] += Σ_n coef[i, n] · tile[n, :] for four rows i, four vectors of k at a time: sixteen
     * accumulators stay in registers across the whole tile, each W vector feeds four rows.
     */
    private static void nnBlock4(float[] coef, float[] tile, int nRows, int K, float[] d) {
        int k = 0;
        int K1 = K, K2 = 2 * K, K3 = 3 * K, n1 = nRows, n2 = 2 * nRows, n3 = 3 * nRows;
        for (; k <= K - 4 * L; k += 4 * L) {
            int e = k + L, f = k + 2 * L, h = k + 3 * L;
            FloatVector p0 = FloatVector.fromArray(S, d, k), q0 = FloatVector.fromArray(S, d, e);
            FloatVector r0 = FloatVector.fromArray(S, d, f), s0 = FloatVector.fromArray(S, d, h);
            FloatVector p1 = FloatVector.fromArray(S, d, K1 + k), q1 = FloatVector.fromArray(S, d, K1 + e);
            FloatVector r1 = FloatVector.fromArray(S, d, K1 + f), s1 = FloatVector.fromArray(S, d, K1 + h);
            FloatVector p2 = FloatVector.fromArray(S, d, K2 + k), q2 = FloatVector.fromArray(S, d, K2 + e);
            FloatVector r2 = FloatVector.fromArray(S, d, K2 + f), s2 = FloatVector.fromArray(S, d, K2 + h);
            FloatVector p3 = FloatVector.fromArray(S, d, K3 + k), q3 = FloatVector.fromArray(S, d, K3 + e);
            FloatVector r3 = FloatVector.fromArray(S, d, K3 + f), s3 = FloatVector.fromArray(S, d, K3 + h);
            for (int n = 0; n < nRows; n++) {
                int w = n * K;
                FloatVector b0 = FloatVector.fromArray(S, tile, w + k), b1 = FloatVector.fromArray(S, tile, w + e);
                FloatVector b2 = FloatVector.fromArray(S, tile, w + f), b3 = FloatVector.fromArray(S, tile, w + h);
                FloatVector a = FloatVector.broadcast(S, coef[n]);
                p0 = b0.fma(a, p0); q0 = b1.fma(a, q0); r0 = b2.fma(a, r0); s0 = b3.fma(a, s0);
                a = FloatVector.broadcast(S, coef[n1 + n]);
                p1 = b0.fma(a, p1); q1 = b1.fma(a, q1); r1 = b2.fma(a, r1); s1 = b3.fma(a, s1);
                a = FloatVector.broadcast(S, coef[n2 + n]);
                p2 = b0.fma(a, p2); q2 = b1.fma(a, q2); r2 = b2.fma(a, r2); s2 = b3.fma(a, s2);
                a = FloatVector.broadcast(S, coef[n3 + n]);
                p3 = b0.fma(a, p3); q3 = b1.fma(a, q3); r3 = b2.fma(a, r3); s3 = b3.fma(a, s3);
            }
            p0.intoArray(d, k); q0.intoArray(d, e); r0.intoArray(d, f); s0.intoArray(d, h);
            p1.intoArray(d, K1 + k); q1.intoArray(d, K1 + e); r1.intoArray(d, K1 + f); s1.intoArray(d, K1 + h);
            p2.intoArray(d, K2 + k); q2.intoArray(d, K2 + e); r2.intoArray(d, K2 + f); s2.intoArray(d, K2 + h);
            p3.intoArray(d, K3 + k); q3.intoArray(d, K3 + e); r3.intoArray(d, K3 + f); s3.intoArray(d, K3 + h);
        }
        for (; k <= K - L; k += L) {
            FloatVector p0 = FloatVector.fromArray(S, d, k), p1 = FloatVector.fromArray(S, d, K1 + k);
            FloatVector p2 = FloatVector.fromArray(S, d, K2 + k), p3 = FloatVector.fromArray(S, d, K3 + k);
            for (int n = 0; n < nRows; n++) {
                FloatVector b = FloatVector.fromArray(S, tile, n * K + k);
                p0 = b.fma(FloatVector.broadcast(S, coef[n]), p0);
                p1 = b.fma(FloatVector.broadcast(S, coef[n1 + n]), p1);
                p2 = b.fma(FloatVector.broadcast(S, coef[n2 + n]), p2);
                p3 = b.fma(FloatVector.broadcast(S, coef[n3 + n]), p3);
            }
            p0.intoArray(d, k); p1.intoArray(d, K1 + k); p2.intoArray(d, K2 + k); p3.intoArray(d, K3 + k);
        }
        for (; k < K; k++) {
            for (int i = 0; i < 4; i++) {
                float s = d[i * K + k];
                for (int n = 0; n < nRows; n++) s += coef[i * nRows + n] * tile[n * K + k];
                d[i * K + k] = s;
            }
        }
    }

    private static FloatVector bc(float alpha, MemorySegment dy, long i) {
        return FloatVector.broadcast(S, alpha * get(dy, i));
    }

    /** dx row += alpha · Σ_{n < nRows} dy[n] · tile[n, :], four tile rows per pass over dx. */
    private static void nnRow(MemorySegment dy, long dyo, float[] tile, int nRows, int K,
                              MemorySegment dx, long dxo, float alpha) {
        int n = 0;
        for (; n + 4 <= nRows; n += 4) {
            float a0 = alpha * get(dy, dyo + n), a1 = alpha * get(dy, dyo + n + 1);
            float a2 = alpha * get(dy, dyo + n + 2), a3 = alpha * get(dy, dyo + n + 3);
            FloatVector v0 = FloatVector.broadcast(S, a0), v1 = FloatVector.broadcast(S, a1);
            FloatVector v2 = FloatVector.broadcast(S, a2), v3 = FloatVector.broadcast(S, a3);
            int w0 = n * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
            int k = 0;
            for (; k <= K - L; k += L) {
                FloatVector d = load(dx, dxo + k);
                d = FloatVector.fromArray(S, tile, w0 + k).fma(v0, d);
                d = FloatVector.fromArray(S, tile, w1 + k).fma(v1, d);
                d = FloatVector.fromArray(S, tile, w2 + k).fma(v2, d);
                d = FloatVector.fromArray(S, tile, w3 + k).fma(v3, d);
                store(d, dx, dxo + k);
            }
            for (; k < K; k++) {
                set(dx, dxo + k, get(dx, dxo + k) + a0 * tile[w0 + k] + a1 * tile[w1 + k] + a2 * tile[w2 + k] + a3 * tile[w3 + k]);
            }
        }
        for (; n < nRows; n++) {
            float a = alpha * get(dy, dyo + n);
            FloatVector va = FloatVector.broadcast(S, a);
            int wo = n * K;
            int k = 0;
            for (; k <= K - L; k += L) store(FloatVector.fromArray(S, tile, wo + k).fma(va, load(dx, dxo + k)), dx, dxo + k);
            for (; k < K; k++) set(dx, dxo + k, get(dx, dxo + k) + a * tile[wo + k]);
        }
    }

    /**
     * c[n, k] += alpha · Σ_m a[m, n] · b[m, k] for n < N, k < K: a is {@code [M, ·]} with row
     * stride lda (column offset 0), b is {@code [M, K]}, c is {@code [N, K]} row-major.
     * Parallel over rows of c.
     */
    static void tn(MemorySegment a, int lda, int M, int N, MemorySegment b, int K, MemorySegment c, float alpha) {
        int minRows = Math.max(4, N / (4 * Runtime.getRuntime().availableProcessors()));
        Parallel.forRanges(N, minRows, (n0, n1) -> {
            int n = n0;
            for (; n + 4 <= n1; n += 4) {
                int k = 0;
                for (; k <= K - L; k += L) {
                    FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
                    for (int m = 0; m < M; m++) {
                        FloatVector bv = load(b, (long) m * K + k);
                        long ao = (long) m * lda + n;
                        c0 = bv.fma(FloatVector.broadcast(S, get(a, ao)), c0);
                        c1 = bv.fma(FloatVector.broadcast(S, get(a, ao + 1)), c1);
                        c2 = bv.fma(FloatVector.broadcast(S, get(a, ao + 2)), c2);
                        c3 = bv.fma(FloatVector.broadcast(S, get(a, ao + 3)), c3);
                    }
                    // No FloatVector[] here: an array of vectors defeats C2's box elimination (10× slower).
                    FloatVector va = FloatVector.broadcast(S, alpha);
                    long co = (long) n * K + k;
                    store(c0.fma(va, load(c, co)), c, co);
                    store(c1.fma(va, load(c, co + K)), c, co + K);
                    store(c2.fma(va, load(c, co + 2L * K)), c, co + 2L * K);
                    store(c3.fma(va, load(c, co + 3L * K)), c, co + 3L * K);
                }
                for (; k < K; k++) {
                    for (int j = 0; j < 4; j++) tnScalar(a, lda, M, n + j, b, K, k, c, alpha);
                }
            }
            for (; n < n1; n++) {
                for (int k = 0; k < K; k++) tnScalar(a, lda, M, n, b, K, k, c, alpha);
            }
        });
    }

    private static void tnScalar(MemorySegment a, int lda, int M, int n, MemorySegment b, int K, int k,
                                 MemorySegment c, float alpha) {
        float s = 0f;
        for (int m = 0; m < M; m++) s += get(a, (long) m * lda + n) * get(b, (long) m * K + k);
        long co = (long) n * K + k;
        set(c, co, get(c, co) + alpha * s);
    }

    private static void checkK(LinearWeight w, int K) {
        if (w.inFeatures() != K) {
            throw new IllegalArgumentException("weight has " + w.inFeatures() + " input features, activations have " + K);
        }
    }
}
