package jlora.train;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import jlora.backend.cuda.CudaBackend;
import jlora.backend.cuda.CudaDevices;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link DeviceAdamW} against the CPU's {@link AdamW} + {@link GradClip} (the reference): four
 * parameters (two that decay, a norm-like one that does not, one at an lr scale of 3), fresh
 * Gaussian masters and gradients per step, three steps with clipping at max norm 1 (the norms
 * are well above it, so the clip coefficient matters) and a fourth without. The device norm
 * must match the CPU's fp64 norm within 1e-5 relative, the masters after each step within
 * 2e-5 · (|want| + 1e-3) element-wise (fp32 kernels in another order), and saveState must give
 * the CPU optimizer's state names, step and moments.
 */
@Tag("gpu")
class DeviceAdamWTest {
    @Test
    void stepsMatchTheCpuOptimizer() {
        CudaDevices.Report report = CudaDevices.query();
        Assumptions.assumeTrue(report.status() == CudaDevices.Status.READY, () -> "no GPU: " + report.describe());
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        AdamHyperparameters hp = new AdamHyperparameters(0.9, 0.999, 1e-8, 0.01);
        long[][] shapes = {{8, 96}, {130, 8}, {96}, {5, 7}};
        try (Arena arena = Arena.ofShared(); CudaBackend gpu = CudaBackend.open(0)) {
            List<Tensor> cpuValues = new ArrayList<>(), gpuHosts = new ArrayList<>();
            for (long[] s : shapes) {
                float[] v = gauss(r, Shape.of(s).numel(), 0.1);
                cpuValues.add(Tensor.of(DType.F32, Shape.of(s), v, arena));
                gpuHosts.add(Tensor.of(DType.F32, Shape.of(s), v, arena));
            }
            List<Tensor> gpuGrads = gpu.parameterGradients(gpuHosts, arena);
            List<Param> cpuParams = new ArrayList<>(), gpuParams = new ArrayList<>();
            double[] scales = {1, 1, 1, 3};
            boolean[] decay = {true, true, false, true};
            for (int i = 0; i < shapes.length; i++) {
                Tensor g = Tensor.allocate(DType.F32, Shape.of(shapes[i]), arena);
                cpuParams.add(new Param("p" + i, cpuValues.get(i), g, decay[i], scales[i]));
                gpuParams.add(new Param("p" + i, gpuHosts.get(i), gpuGrads.get(i), decay[i], scales[i]));
            }
            try (AdamW cpu = new AdamW(cpuParams, hp, StateStore.host()); DeviceAdamW dev = new DeviceAdamW(gpu, gpuParams, hp)) {
                for (int step = 0; step < 4; step++) {
                    for (int i = 0; i < shapes.length; i++) {
                        Tensor g = cpuParams.get(i).grad();
                        float[] v = gauss(r, g.numel(), 2.0);
                        for (int j = 0; j < v.length; j++) g.setFloat(j, v[j]);
                        gpu.copy(g, gpuParams.get(i).grad());
                    }
                    boolean clip = step < 3;
                    double want = GradClip.norm(cpuParams);
                    double got = dev.gradNorm(clip ? 1.0 : 0.0);
                    if (!(Math.abs(got - want) <= 1e-5 * want)) {
                        throw new AssertionError("seed=" + seed + " step " + step + ": grad norm want " + want + " got " + got);
                    }
                    if (clip) {
                        GradClip.clip(cpuParams, 1.0);
                        dev.clipNextStep(1.0);
                    }
                    double lr = 1e-2 * (step + 1);
                    cpu.step(lr);
                    dev.step(lr);
                    gpu.pullParameters();
                    for (int i = 0; i < shapes.length; i++) {
                        float[] w = cpuValues.get(i).toFloatArray(), g = gpuHosts.get(i).toFloatArray();
                        for (int j = 0; j < w.length; j++) {
                            if (!(Math.abs(g[j] - w[j]) <= 2e-5 * (Math.abs(w[j]) + 1e-3))) {
                                throw new AssertionError(String.format("seed=%d step %d p%d[%d]: want %s got %s", seed, step, i, j,
                                        w[j], g[j]));
                            }
                        }
                    }
                }
                OptimizerState a = cpu.saveState(), b = dev.saveState();
                if (!a.tensors().keySet().equals(b.tensors().keySet()) || !a.scalars().equals(b.scalars())) {
                    throw new AssertionError("seed=" + seed + ": state layout differs: " + a.tensors().keySet() + " " + a.scalars()
                            + " vs " + b.tensors().keySet() + " " + b.scalars());
                }
                for (String name : a.tensors().keySet()) {
                    float[] w = a.tensors().get(name).toFloatArray(), g = b.tensors().get(name).toFloatArray();
                    for (int j = 0; j < w.length; j++) {
                        if (!(Math.abs(g[j] - w[j]) <= 2e-5 * (Math.abs(w[j]) + 1e-6))) {
                            throw new AssertionError(String.format("seed=%d %s[%d]: want %s got %s", seed, name, j, w[j], g[j]));
                        }
                    }
                }
            }
        }
    }

    private static float[] gauss(SplittableRandom r, long n, double scale) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * scale);
        return v;
    }
}
