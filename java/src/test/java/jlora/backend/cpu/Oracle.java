package jlora.backend.cpu;

import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * What every op test compares with: a float64 reference written plainly in the test, and
 * central finite differences in float64 on that reference for every backward. Inputs are
 * drawn fresh per run; the seed is in every failure message. Outputs are NaN-poisoned before
 * the op runs, so an element the op forgets to write fails (NaN never passes a comparison).
 */
final class Oracle {
    /** Forward fp32 op vs fp64 reference: max |error| / max |reference|. */
    static final double FORWARD_TOL = 1e-5;
    /** Backward fp32 analytic gradient vs fp64 central differences, same measure. */
    static final double GRAD_TOL = 1e-4;

    final long seed;
    private final SplittableRandom rnd;
    private final Arena arena = Arena.ofAuto();

    Oracle() {
        this(System.nanoTime() ^ Thread.currentThread().threadId() * 0x9E3779B97F4A7C15L);
    }

    Oracle(long seed) {
        this.seed = seed;
        this.rnd = new SplittableRandom(seed);
    }

    /** Uniform in [-scale, scale), each value exactly representable in fp32. */
    double[] uniform(int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        return v;
    }

    int nextInt(int bound) {
        return rnd.nextInt(bound);
    }

    double nextDouble() {
        return rnd.nextDouble();
    }

    /** Values rounded to bf16, so a reference that reads them sees exactly what the op sees. */
    static double[] roundToBf16(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = jlora.tensor.HalfFloats.bf16ToF32(jlora.tensor.HalfFloats.f32ToBf16((float) v[i]));
        return r;
    }

    Tensor tensor(DType dtype, double[] values, long... dims) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
        return Tensor.of(dtype, Shape.of(dims), f, arena);
    }

    Tensor f32(double[] values, long... dims) {
        return tensor(DType.F32, values, dims);
    }

    Tensor i32(int[] values) {
        Tensor t = Tensor.allocate(DType.I32, Shape.of(values.length), arena);
        for (int i = 0; i < values.length; i++) t.data().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, values[i]);
        return t;
    }

    /** An F32 output full of NaN. */
    Tensor poisoned(long... dims) {
        Tensor t = Tensor.allocate(DType.F32, Shape.of(dims), arena);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, Float.NaN);
        return t;
    }

    static double[] values(Tensor t) {
        double[] d = new double[(int) t.numel()];
        for (int i = 0; i < d.length; i++) d[i] = t.getFloat(i);
        return d;
    }

    /** Fails unless max|actual − ref| ≤ tol · max|ref|; the message names the worst element. */
    void assertClose(String what, double[] ref, double[] actual, double tol) {
        if (ref.length != actual.length) fail(what + ": " + actual.length + " values, reference has " + ref.length + " (seed " + seed + ")");
        double scale = 0;
        for (double r : ref) scale = Math.max(scale, Math.abs(r));
        int worst = -1;
        double worstErr = -1;
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs(actual[i] - ref[i]);
            if (Double.isNaN(actual[i]) || Double.isNaN(err)) err = Double.POSITIVE_INFINITY;
            if (err > worstErr) {
                worstErr = err;
                worst = i;
            }
        }
        double rel = worstErr / Math.max(scale, 1e-30);
        if (!(rel <= tol)) {
            fail(String.format("%s: relative error %.3g > %.1g at index %d: got %s, reference %s (max |ref| %.4g, seed %d)",
                    what, rel, tol, worst, actual[worst], ref[worst], scale, seed));
        }
    }

    void assertClose(String what, double[] ref, Tensor actual, double tol) {
        assertClose(what, ref, values(actual), tol);
    }

    /** A float64 reference function of several inputs. */
    interface Fn {
        double[] apply(double[][] inputs);
    }

    /**
     * ∂/∂inputs[which] of Σ_i dOut_i · f(inputs)_i by central differences, step h. The function
     * is fp64, so the truncation error O(h²) and rounding O(ε/h) are both far below GRAD_TOL.
     */
    static double[] finiteDifference(Fn f, double[][] inputs, int which, double[] dOut, double h) {
        double[] x = inputs[which];
        double[] grad = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double keep = x[i];
            x[i] = keep + h;
            double plus = dotWith(f.apply(inputs), dOut);
            x[i] = keep - h;
            double minus = dotWith(f.apply(inputs), dOut);
            x[i] = keep;
            grad[i] = (plus - minus) / (2 * h);
        }
        return grad;
    }

    static double[] finiteDifference(Fn f, double[][] inputs, int which, double[] dOut) {
        return finiteDifference(f, inputs, which, dOut, 1e-5);
    }

    private static double dotWith(double[] y, double[] w) {
        double s = 0;
        for (int i = 0; i < y.length; i++) s += y[i] * w[i];
        return s;
    }

    static double[] minus(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[i] - b[i];
        return r;
    }
}
