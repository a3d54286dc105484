package jlora.train;

import static jlora.train.TrainChecks.assertClose;
import static jlora.train.TrainChecks.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import jlora.quant.DynamicMap;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bitsandbytes-style AdamW: the fp32-state path against bnb's 32-bit Adam formula in float64
 * (written out here); the first 8-bit step against what it must produce exactly (absmax = the
 * block's max |(1-β1)·g|, codes that dequantize within one code gap and keep m's sign); 8-bit
 * training that tracks fp32 AdamW on a random quadratic within a stated tolerance; min_8bit_size;
 * non-finite gradients; state that round-trips through a safetensors file bit for bit, and
 * save → load → continue equal to an uninterrupted run.
 */
class AdamW8bitTest {
    @TempDir
    Path dir;

    @Test
    void smallTensorsKeepFp32StateAndLargeOnes8bit() {
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(new Random(3), new int[] {4095, 4096, 300, 5000}, arena);
            try (AdamW8bit opt = new AdamW8bit(params, AdamHyperparameters.defaults(), StateStore.host())) {
                boolean[] want = {false, true, false, true}; // bitsandbytes: p.numel() < min_8bit_size stays fp32
                var st = opt.saveState().tensors();
                for (int k = 0; k < params.size(); k++) {
                    String n = params.get(k).name();
                    assertEquals(want[k], opt.is8bit(k), n);
                    assertEquals(want[k] ? DType.U8 : DType.F32, st.get(n + ".state1").dtype(), n);
                    assertEquals(want[k] ? DType.U8 : DType.F32, st.get(n + ".state2").dtype(), n);
                    if (want[k]) {
                        assertEquals(Math.ceilDiv(params.get(k).numel(), 256), st.get(n + ".absmax1").numel(), n);
                    } else {
                        assertNull(st.get(n + ".absmax1"), n);
                    }
                }
            }
        }
    }

    @Test
    void fp32PathMatchesBitsandbytes32bitAdamInFloat64() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        double b1 = 0.9, b2 = 0.99, eps = 1e-3, wd = 0.2;
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(rnd, new int[] {5, 1000}, arena);
            double[][] p = new double[2][];
            double[][] m = new double[2][];
            double[][] v = new double[2][];
            for (int k = 0; k < 2; k++) {
                float[] f = params.get(k).value().toFloatArray();
                p[k] = new double[f.length];
                for (int i = 0; i < f.length; i++) p[k][i] = f[i];
                m[k] = new double[f.length];
                v[k] = new double[f.length];
            }
            try (AdamW8bit opt = new AdamW8bit(params, new AdamHyperparameters(b1, b2, eps, wd), StateStore.host())) {
                double[] lrs = {1e-2, 2e-2, 5e-3};
                for (int t = 1; t <= 3; t++) {
                    double lr = lrs[t - 1];
                    for (int k = 0; k < 2; k++) {
                        float[] g = new float[p[k].length];
                        for (int i = 0; i < g.length; i++) g[i] = (float) rnd.nextGaussian();
                        TrainChecks.setGrad(params.get(k), g);
                        // kOptimizer32bit2State<ADAM>: Adam step with eps scaled by sqrt(1-β2^t), then decay
                        for (int i = 0; i < g.length; i++) {
                            m[k][i] = b1 * m[k][i] + (1 - b1) * g[i];
                            v[k][i] = b2 * v[k][i] + (1 - b2) * g[i] * g[i];
                            double c1 = 1 - Math.pow(b1, t);
                            double c2 = Math.sqrt(1 - Math.pow(b2, t));
                            p[k][i] += -lr * c2 / c1 * (m[k][i] / (Math.sqrt(v[k][i]) + eps * c2));
                            p[k][i] *= 1 - lr * wd;
                        }
                    }
                    opt.step(lr);
                }
                for (int k = 0; k < 2; k++) {
                    assertClose(p[k], params.get(k).value().toFloatArray(), 1e-6, 1e-7, "seed " + seed + " param " + k);
                }
            }
        }
    }

    @Test
    void firstStepQuantizesMomentsBlockwise() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int n = 256 * 20 + 77; // a ragged last block
        float[] code1 = DynamicMap.signed();
        float[] code2 = DynamicMap.unsigned();
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(rnd, new int[] {n}, arena);
            float[] g = new float[n];
            for (int i = 0; i < n; i++) g[i] = (float) (rnd.nextGaussian() * Math.pow(10, -rnd.nextInt(5)));
            g[5] = 0.0f;
            TrainChecks.setGrad(params.get(0), g);
            try (AdamW8bit opt = new AdamW8bit(params, new AdamHyperparameters(0.9, 0.999, 1e-8, 0.0), StateStore.host())) {
                opt.step(1e-3);
                var st = opt.saveState().tensors();
                String name = params.get(0).name();
                Tensor q1 = st.get(name + ".state1");
                Tensor q2 = st.get(name + ".state2");
                Tensor a1 = st.get(name + ".absmax1");
                Tensor a2 = st.get(name + ".absmax2");
                float omb1 = 1.0f - 0.9f;
                float omb2 = 1.0f - 0.999f;
                for (int b = 0; b * 256 < n; b++) {
                    float max1 = 0, max2 = 0;
                    for (int i = b * 256; i < Math.min(n, b * 256 + 256); i++) {
                        max1 = Math.max(max1, Math.abs(omb1 * g[i]));
                        max2 = Math.max(max2, omb2 * g[i] * g[i]);
                    }
                    // from zero state the fp32 moments are exactly (1-β1)·g and (1-β2)·g·g
                    assertEquals(max1, a1.getFloat(b), "seed " + seed + " absmax1 block " + b);
                    assertEquals(max2, a2.getFloat(b), "seed " + seed + " absmax2 block " + b);
                    for (int i = b * 256; i < Math.min(n, b * 256 + 256); i++) {
                        float m = omb1 * g[i];
                        float v = omb2 * g[i] * g[i];
                        int c1 = (int) q1.getLong(i);
                        int c2 = (int) q2.getLong(i);
                        float dm = code1[c1] * max1;
                        float dv = code2[c2] * max2;
                        String at = "seed " + seed + " element " + i + " m " + m + " -> code " + c1 + " = " + dm;
                        // bnb moves a code whose sign bit differs from m's, so m never flips sign; a tiny
                        // positive m may land on code 0.0 (sign bit clear), a tiny negative one may not
                        assertTrue(dm * m > 0 || (dm == 0 && m >= 0), at + ": sign lost");
                        assertTrue(Math.abs(dm - m) <= gap(code1, m / max1) * max1, at + ": more than a code gap away");
                        assertTrue(dv >= 0 && Math.abs(dv - v) <= gap(code2, v / max2) * max2,
                                "seed " + seed + " element " + i + " v " + v + " -> " + dv);
                    }
                }
            }
        }
    }

    /** The width of the code interval holding x (the larger neighbour gap at a code point). */
    private static float gap(float[] code, float x) {
        // the signed map stops at -0.99296875, so m = -absmax (x = -1) lies just below code[0]
        x = Math.max(code[0], Math.min(code[255], x));
        for (int k = 0; k < 255; k++) {
            if (x >= code[k] && x <= code[k + 1]) return code[k + 1] - code[k];
        }
        fail("x " + x + " outside the code range");
        return 0;
    }

    /**
     * 8-bit AdamW on f(x) = ½ Σ a_i (x_i - c_i)² against fp32 AdamW from the same start (both with
     * bnb's and torch's math identical when wd = 0). bitsandbytes reports 8-bit Adam matching 32-bit
     * Adam's loss curves; here the trajectories must stay within 2 % of the distance travelled and
     * reach the fp32 loss within 20 % (measured: about 0.8 % and 4 %). Curvatures span a factor of 4:
     * with a factor of e^±3 (gradients over ~5 decades inside one 256-block) small second moments
     * fall below the unsigned map's smallest code (about 1e-7 of the block's absmax), and 8-bit Adam
     * then ends an order of magnitude above fp32 — a property of the format, not of this code.
     */
    @Test
    void tracksFp32AdamWOnARandomQuadratic() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int n = 10_000;
        float[] x0 = new float[n];
        double[] a = new double[n];
        double[] c = new double[n];
        for (int i = 0; i < n; i++) {
            x0[i] = (float) rnd.nextGaussian();
            a[i] = 0.5 + 1.5 * rnd.nextDouble();
            c[i] = rnd.nextGaussian();
        }
        var hp = new AdamHyperparameters(0.9, 0.999, 1e-8, 0.0);
        try (Arena arena = Arena.ofShared()) {
            Param p8 = TrainChecks.param("w", x0, arena);
            Param p32 = TrainChecks.param("w", x0, arena);
            try (AdamW8bit bnb = new AdamW8bit(List.of(p8), hp, StateStore.host());
                 AdamW ref = new AdamW(List.of(p32), hp, StateStore.host())) {
                assertTrue(bnb.is8bit(0));
                Schedule sched = Schedule.of(Schedule.Type.COSINE, 200, 10, 0.5);
                float[] g8 = new float[n];
                float[] g32 = new float[n];
                for (int s = 0; s < 200; s++) {
                    float[] x8 = TrainChecks.values(p8);
                    float[] x32 = TrainChecks.values(p32);
                    for (int i = 0; i < n; i++) {
                        g8[i] = (float) (a[i] * (x8[i] - c[i]));
                        g32[i] = (float) (a[i] * (x32[i] - c[i]));
                    }
                    TrainChecks.setGrad(p8, g8);
                    TrainChecks.setGrad(p32, g32);
                    double lr = sched.lr(0.05, s);
                    bnb.step(lr);
                    ref.step(lr);
                }
                double diff = 0, travel = 0, loss8 = 0, loss32 = 0, loss0 = 0;
                for (int i = 0; i < n; i++) {
                    double x8 = p8.value().getFloat(i), x32 = p32.value().getFloat(i);
                    diff += (x8 - x32) * (x8 - x32);
                    travel += (x32 - x0[i]) * (x32 - x0[i]);
                    loss8 += 0.5 * a[i] * (x8 - c[i]) * (x8 - c[i]);
                    loss32 += 0.5 * a[i] * (x32 - c[i]) * (x32 - c[i]);
                    loss0 += 0.5 * a[i] * (x0[i] - c[i]) * (x0[i] - c[i]);
                }
                double rel = Math.sqrt(diff / travel);
                String msg = "seed " + seed + ": |x8 - x32| / |x32 - x0| = " + rel + ", loss " + loss0 + " -> 8-bit " + loss8 + ", fp32 " + loss32;
                System.out.println("AdamW8bit vs AdamW: " + msg);
                assertTrue(rel < 0.02, msg);
                assertTrue(loss8 < 1.2 * loss32 && loss8 < loss0 * 0.01, msg);
            }
        }
    }

    @Test
    void nonFiniteGradientsLeaveTheirParameterAloneAndZeroTheirMoments() {
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(new Random(4), new int[] {4096}, arena);
            float[] before = params.get(0).value().toFloatArray();
            float[] g = new float[4096];
            java.util.Arrays.fill(g, 0.5f);
            g[3] = Float.NaN;
            g[300] = Float.POSITIVE_INFINITY;
            g[301] = Float.NEGATIVE_INFINITY;
            TrainChecks.setGrad(params.get(0), g);
            try (AdamW8bit opt = new AdamW8bit(params, new AdamHyperparameters(0.9, 0.999, 1e-8, 0.1), StateStore.host())) {
                opt.step(1e-2);
                float[] after = params.get(0).value().toFloatArray();
                var st = opt.saveState().tensors();
                float[] code1 = DynamicMap.signed();
                for (int i : new int[] {3, 300, 301}) {
                    assertEquals(before[i], after[i], "element " + i);
                    float m = code1[(int) st.get("layers.0.lora_A.weight.state1").getLong(i)]
                            * st.get("layers.0.lora_A.weight.absmax1").getFloat(i / 256);
                    assertEquals(0.0f, Math.abs(m), "m at " + i);
                }
                for (int i = 0; i < after.length; i++) {
                    assertTrue(Float.isFinite(after[i]), "element " + i + " not finite");
                    if (i != 3 && i != 300 && i != 301) assertFalse(before[i] == after[i], "element " + i + " not updated");
                }
            }
        }
    }

    @Test
    void stateRoundTripsThroughSafetensorsBitForBit() {
        long seed = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(new Random(seed), new int[] {100, 9000}, arena);
            Random rnd = new Random(seed + 1);
            try (AdamW8bit opt = new AdamW8bit(params, AdamHyperparameters.defaults(), StateStore.host());
                 AdamW8bit back = new AdamW8bit(params, AdamHyperparameters.defaults(), StateStore.host())) {
                for (int s = 0; s < 3; s++) {
                    for (Param p : params) for (int i = 0; i < p.numel(); i++) p.grad().setFloat(i, (float) rnd.nextGaussian());
                    opt.step(1e-3);
                }
                Path file = dir.resolve("optimizer.safetensors");
                OptimizerCheckpoint.write(file, opt);
                OptimizerCheckpoint.read(file, back);
                assertEquals(3, back.stepCount());
                var a = opt.saveState();
                var b = back.saveState();
                assertEquals(a.tensors().keySet(), b.tensors().keySet());
                for (String k : a.tensors().keySet()) assertSameBytes(a.tensors().get(k), b.tensors().get(k), "seed " + seed + " " + k);
                assertEquals(a.scalars(), b.scalars());
            }
        }
    }

    @Test
    void saveLoadContinueEqualsAnUninterruptedRun() {
        ResumeCheck.run(dir, (params, store) -> new AdamW8bit(params, AdamHyperparameters.defaults(), store));
    }
}
