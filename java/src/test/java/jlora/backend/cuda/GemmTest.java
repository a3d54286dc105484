package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import jlora.tensor.DType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link Gemm} (cuBLASLt) against a float64 product on the host of the same (bf16-representable
 * where BF16) inputs, over fresh random shapes: tiny and odd sizes, every transpose pair, strided
 * views (ld > cols, a column offset), beta 0 / 1 / random, for BF16→F32, BF16→BF16 and F32→F32.
 * Every fourth BF16-operand case adds a bias row in the epilogue (CUBLASLT_EPILOGUE_BIAS).
 * Bound per element: fp32 accumulation, |Δ| ≤ (k·2⁻²³ + 2⁻²⁰)·(|alpha|·Σ|a||b| + |beta·c₀ + bias|), plus one
 * bf16 rounding of the result (2⁻⁸·|want|) for a BF16 C, two with a bias epilogue. With beta = 0, C starts as NaN
 * (0xFF poison): cuBLAS must not read it, and an element it never wrote fails.
 */
@Tag("gpu")
class GemmTest {
    private record Case(DType ab, DType c, boolean ta, boolean tb, int m, int n, int k, int padA, int padB, int padC,
                        float alpha, float beta, boolean bias) {}

    @Test
    void matchesFloat64ProductOnRandomShapes() {
        CudaApi api = GpuParity.requireGpu();
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        List<Case> cases = new ArrayList<>();
        DType[][] types = {{DType.BF16, DType.F32}, {DType.BF16, DType.BF16}, {DType.F32, DType.F32}};
        int[][] fixed = {{1, 1, 1}, {7, 13, 5}, {33, 65, 129}, {1, 300, 17}, {257, 3, 64}, {512, 384, 1000}};
        for (DType[] t : types) {
            for (int i = 0; i < 8; i++) {
                int[] s = i < fixed.length ? fixed[i] : new int[] {1 + r.nextInt(300), 1 + r.nextInt(300), 1 + r.nextInt(300)};
                float beta = switch (i % 3) {
                    case 0 -> 0f;
                    case 1 -> 1f;
                    default -> (float) r.nextDouble(-2, 2);
                };
                cases.add(new Case(t[0], t[1], r.nextBoolean(), r.nextBoolean(), s[0], s[1], s[2], r.nextInt(3) * 5,
                        r.nextInt(3) * 3, r.nextInt(2) * 7, (float) r.nextDouble(0.25, 2), beta, i % 4 == 3 && t[0] == DType.BF16));
            }
        }
        try (CudaStream stream = CudaStream.create(api); Gemm gemm = new Gemm(api)) {
            for (Case c : cases) check(api, stream, gemm, seed, r, c);
            check(api, stream, gemm, seed, r, cases.get(5)); // the cached plan again
        }
    }

    private static void check(CudaApi api, CudaStream stream, Gemm gemm, long seed, SplittableRandom r, Case c) {
        String ctx = "seed=" + seed + " " + c;
        int aRows = c.ta ? c.k : c.m, aCols = c.ta ? c.m : c.k;
        int bRows = c.tb ? c.n : c.k, bCols = c.tb ? c.k : c.n;
        // A is a view at a column offset inside wider rows, as the LoRA concat uses them.
        int offA = c.padA > 0 ? 2 : 0;
        long ldA = aCols + c.padA, ldB = bCols + c.padB, ldC = c.n + c.padC;
        float[] a = GpuParity.representable(c.ab, GpuParity.gaussian(r, (int) (aRows * ldA), 1.0));
        float[] b = GpuParity.representable(c.ab, GpuParity.gaussian(r, (int) (bRows * ldB), 1.0));
        float[] c0 = GpuParity.representable(c.c, GpuParity.gaussian(r, (int) (c.m * ldC), 1.0));
        float[] bias = GpuParity.representable(c.c, GpuParity.gaussian(r, c.n, 1.0));
        float[] want = new float[c.m * c.n];
        double[] bound = new double[c.m * c.n];
        double acc = c.k * 0x1p-23 + 0x1p-20;
        for (int i = 0; i < c.m; i++) {
            for (int j = 0; j < c.n; j++) {
                double s = 0, abs = 0;
                for (int p = 0; p < c.k; p++) {
                    double x = c.ta ? at(a, p, i, ldA, offA) : at(a, i, p, ldA, offA);
                    double y = c.tb ? b[(int) (j * ldB + p)] : b[(int) (p * ldB + j)];
                    s += x * y;
                    abs += Math.abs(x * y);
                }
                double prior = (c.beta == 0f ? 0 : c.beta * (double) c0[(int) (i * ldC + j)]) + (c.bias ? bias[j] : 0);
                double v = c.alpha * s + prior;
                want[i * c.n + j] = (float) v;
                // A BF16 C is rounded once; with a bias epilogue cuBLASLt may round before adding the
                // bf16 bias and again after (seen on the H100: |Δ| 0.46 at 65, one bf16 ulp there is 0.5).
                double rounding = c.c != DType.BF16 ? 0 : (c.bias ? 0x1p-8 * (2 * Math.abs(v) + Math.abs(bias[j])) : 0x1p-8 * Math.abs(v));
                bound[i * c.n + j] = acc * (Math.abs(c.alpha) * abs + Math.abs(prior)) + rounding;
            }
        }
        try (Arena arena = Arena.ofShared();
                DeviceBuffer da = GpuParity.upload(api, GpuParity.tensor(arena, c.ab, a, a.length));
                DeviceBuffer db = GpuParity.upload(api, GpuParity.tensor(arena, c.ab, b, b.length));
                DeviceBuffer dc = GpuParity.upload(api, GpuParity.tensor(arena, c.c, c0, c0.length));
                DeviceBuffer db2 = GpuParity.upload(api, GpuParity.tensor(arena, c.c, bias, bias.length))) {
            if (c.beta == 0f) dc.fill(0xFF);
            DeviceMatrix ma = new DeviceMatrix(da, offA, c.ab, aRows, aCols, ldA);
            DeviceMatrix mb = new DeviceMatrix(db, 0, c.ab, bRows, bCols, ldB);
            DeviceMatrix mc = new DeviceMatrix(dc, 0, c.c, c.m, c.n, ldC);
            gemm.gemm(stream, ma, c.ta, mb, c.tb, mc, c.alpha, c.beta, c.bias ? DeviceMatrix.of(db2, c.c, 1, c.n) : null);
            stream.synchronize();
            float[] all = GpuParity.download(arena, dc, c.c, c0.length);
            float[] got = new float[c.m * c.n];
            for (int i = 0; i < c.m; i++) System.arraycopy(all, (int) (i * ldC), got, i * c.n, c.n);
            assertWithin(ctx, want, got, bound);
        }
    }

    /** Element (i, j) of a row-major matrix with row stride ld whose view starts at column off. */
    private static double at(float[] m, int i, int j, long ld, int off) {
        return m[(int) (i * ld + off + j)];
    }

    private static void assertWithin(String ctx, float[] want, float[] got, double[] bound) {
        int worst = 0;
        double worstRatio = -1;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs((double) got[i] - want[i]);
            double ratio = Float.isNaN(got[i]) ? Double.POSITIVE_INFINITY : err / bound[i];
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worst = i;
            }
        }
        if (worstRatio > 1) {
            throw new AssertionError(String.format("gemm %s: worst element %d: want %s got %s (|Δ| = %.3g, bound %.3g), n = %d",
                    ctx, worst, want[worst], got[worst], Math.abs((double) got[worst] - want[worst]), bound[worst], want.length));
        }
    }
}
