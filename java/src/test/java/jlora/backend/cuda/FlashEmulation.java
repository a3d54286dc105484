package jlora.backend.cuda;

import java.util.Arrays;
import java.util.stream.IntStream;
import jlora.tensor.HalfFloats;

/**
 * The arithmetic of cuda/flash_attention.cu replayed on the CPU: the same bf16 roundings at the
 * same places, everything else in double. It says how far from exact attention a kernel that
 * rounds where this one rounds must land, so the parity bounds come from the kernel's own
 * arithmetic instead of a guessed relative tolerance. Rounded to bf16 (RNE), as the kernel does:
 * <ul>
 * <li>forward: p = 2^(s·scale·log2e − m) against the running max m of each 64-key tile, before
 * it enters P·V (the sum l uses the unrounded p); out = acc / l; lse = m·ln 2 + ln l;
 * <li>backward: D = dO·out with the bf16 out; P recomputed as 2^(s·scale·log2e − lse·log2e);
 * dS = P (dP − D) rounded before dS·K and dSᵀ·Q; P rounded before Pᵀ·dO; dq, dk, dv rounded once.
 * </ul>
 * Scores are rounded to fp32 and scaled in fp32 as the kernel does. Layouts as the kernels':
 * q, dOut [tokens, hq, d], k, v [tokens, hkv, d], documents [cu[b], cu[b + 1]).
 */
record FlashEmulation(float[] out, float[] lse, float[] dq, float[] dk, float[] dv) {
    private static final double EMULATION_MAX = 0.15;  // E / rms beyond this: the emulation is wrong, not the kernel
    private static final int TILE = 64;  // keys per forward tile: where the running max moves
    private static final double LOG2E = 1.4426950408889634;

    /** The kernel's arithmetic: bf16 roundings as listed above. */
    static FlashEmulation run(int[] cu, int hq, int hkv, int d, float[] q, float[] k, float[] v, float[] dOut) {
        return run(cu, hq, hkv, d, q, k, v, dOut, true);
    }

    /**
     * {@code rounded} false: the same steps with no rounding at all (fp64 throughout), which
     * must equal exact attention; that checks the emulation's own algebra.
     */
    static FlashEmulation run(int[] cu, int hq, int hkv, int d, float[] q, float[] k, float[] v, float[] dOut,
            boolean rounded) {
        Rounding r = rounded ? FlashEmulation::bf16 : x -> x;
        Rounding f32 = rounded ? x -> (float) x : x -> x;
        int tokens = cu[cu.length - 1], group = hq / hkv;
        float[] out = new float[tokens * hq * d], lse = new float[tokens * hq], dq = new float[tokens * hq * d];
        // per query head: its share of dk, dv (summed over the group in head order afterwards)
        double[][] dkPart = new double[hq][], dvPart = new double[hq][];
        IntStream.range(0, hq).parallel().forEach(h -> {
            dkPart[h] = new double[tokens * d];
            dvPart[h] = new double[tokens * d];
            for (int b = 0; b + 1 < cu.length; b++) {
                head(r, f32, cu[b], cu[b + 1] - cu[b], h, h / group, hq, hkv, d, q, k, v, dOut, out, lse, dq, dkPart[h], dvPart[h]);
            }
        });
        float[] dk = new float[tokens * hkv * d], dv = new float[tokens * hkv * d];
        for (int t = 0; t < tokens; t++) {
            for (int kh = 0; kh < hkv; kh++) {
                for (int c = 0; c < d; c++) {
                    double sk = 0, sv = 0;
                    for (int h = kh * group; h < (kh + 1) * group; h++) {
                        sk += dkPart[h][t * d + c];
                        sv += dvPart[h][t * d + c];
                    }
                    dk[(t * hkv + kh) * d + c] = (float) r.apply(sk);
                    dv[(t * hkv + kh) * d + c] = (float) r.apply(sv);
                }
            }
        }
        return new FlashEmulation(out, lse, dq, dk, dv);
    }

    private static void head(Rounding r, Rounding f32, int start, int len, int h, int kh, int hq, int hkv, int d,
            float[] q, float[] k, float[] v, float[] dOut, float[] out, float[] lse, float[] dq, double[] dkPart, double[] dvPart) {
        double log2e = f32.apply(LOG2E), scale = f32.apply(1.0 / Math.sqrt(d)), scaleLog2 = f32.apply(scale * log2e);
        double[] s = new double[len], acc = new double[d], dq64 = new double[d];
        for (int i = 0; i < len; i++) {
            int qi = ((start + i) * hq + h) * d;
            for (int j = 0; j <= i; j++) {
                s[j] = f32.apply(f32.apply(dot(q, qi, k, ((start + j) * hkv + kh) * d, d)) * scaleLog2);
            }
            // forward, tile by tile
            double m = Double.NEGATIVE_INFINITY, l = 0;
            Arrays.fill(acc, 0);
            for (int n0 = 0; n0 <= i; n0 += TILE) {
                int n1 = Math.min(i + 1, n0 + TILE);
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = n0; j < n1; j++) mx = Math.max(mx, s[j]);
                double mNew = Math.max(m, mx), corr = Math.pow(2, m - mNew);
                m = mNew;
                l *= corr;
                for (int c = 0; c < d; c++) acc[c] *= corr;
                for (int j = n0; j < n1; j++) {
                    double p = Math.pow(2, s[j] - m);
                    l += p;
                    double pb = r.apply(p);
                    int vj = ((start + j) * hkv + kh) * d;
                    for (int c = 0; c < d; c++) acc[c] += pb * v[vj + c];
                }
            }
            double dvec = 0;
            for (int c = 0; c < d; c++) {
                double o = r.apply(acc[c] / l);
                out[qi + c] = (float) o;
                dvec += dOut[qi + c] * o;
            }
            double lnSum = m * Math.log(2) + Math.log(l), lse2 = f32.apply(f32.apply(lnSum) * log2e);
            lse[(start + i) * hq + h] = (float) lnSum;
            // backward of row i: dS_ij = P_ij (dO_i·v_j − D_i)
            Arrays.fill(dq64, 0);
            for (int j = 0; j <= i; j++) {
                int kj = ((start + j) * hkv + kh) * d;
                double p = Math.pow(2, s[j] - lse2);
                double ds = r.apply(p * (dot(dOut, qi, v, kj, d) - dvec)), pb = r.apply(p);
                int o = (start + j) * d;
                for (int c = 0; c < d; c++) {
                    dq64[c] += ds * k[kj + c];
                    dkPart[o + c] += scale * ds * q[qi + c];
                    dvPart[o + c] += pb * dOut[qi + c];
                }
            }
            for (int c = 0; c < d; c++) dq[qi + c] = (float) r.apply(scale * dq64[c]);
        }
    }

    private static double dot(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        for (int c = 0; c < n; c++) s += (double) a[ao + c] * b[bo + c];
        return s;
    }

    private interface Rounding {
        double apply(double x);
    }

    private static double bf16(double x) {
        return HalfFloats.bf16ToF32(HalfFloats.f32ToBf16((float) x));
    }

    /**
     * The parity bound for a kernel output {@code got} (out, dq, dk or dv) given the fp32 reference
     * {@code want} and this emulation's {@code emu}: every element within 2·E + 1 bf16 ulp of emu +
     * 2e-3·rms(want) of emu, where E = max |emu − want| is what the kernel's bf16 arithmetic costs
     * on these inputs (so got is at most ~3·E from exact; FlashAttention's own tests allow 2× a bf16
     * reference's error). E itself must stay under 0.15·rms(want), or the emulation is wrong.
     * NaN never passes; the message names the worst element, its index, want, emu and got.
     */
    static void assertMatches(String context, float[] want, float[] emu, float[] got) {
        double rms = rms(want), e = 0;
        int eAt = 0;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs((double) emu[i] - want[i]);
            if (!(d <= e)) {
                e = d;
                eAt = i;
            }
        }
        if (!(e <= EMULATION_MAX * rms)) {
            throw new AssertionError(String.format("%s: the bf16 emulation is %.3g from fp32 at %d (want %s emu %s), over"
                    + " %.2f·rms = %.3g: fix the emulation", context, e, eAt, want[eAt], emu[eAt], EMULATION_MAX, EMULATION_MAX * rms));
        }
        int worst = 0;
        double worstRatio = -1;
        for (int i = 0; i < want.length; i++) {
            double bound = 2 * e + Math.ulp(emu[i]) * 65536 + 2e-3 * rms;  // a float ulp · 2^16 = a bf16 ulp
            double err = Math.abs((double) got[i] - emu[i]);
            double ratio = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err / bound;
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worst = i;
            }
        }
        if (worstRatio > 1) {
            throw new AssertionError(String.format("%s: worst element %d: want %s emulated %s got %s (|got − emu| = %.3g,"
                    + " |got − want| = %.3g, bound 2·E + ulp + 2e-3·rms with E = %.3g (at %d), rms %.3g), n = %d", context, worst,
                    want[worst], emu[worst], got[worst], Math.abs((double) got[worst] - emu[worst]),
                    Math.abs((double) got[worst] - want[worst]), e, eAt, rms, want.length));
        }
    }

    private static double rms(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s / Math.max(1, v.length));
    }
}
