package jlora.bench;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import jlora.train.AdamHyperparameters;
import jlora.train.GradClip;
import jlora.train.Optimizer;
import jlora.train.OptimizerName;
import jlora.train.Param;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;

import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One optimizer step over the LoRA parameters of a Llama-2-7B at r = 16 on q, k, v, o, gate, up and
 * down (32 layers; A is r×in, B is out×r): 39,976,960 fp32 parameters in 448 tensors. The score is
 * seconds per step; parameter updates per second = 39,976,960 / score. The roofline is memory
 * bandwidth: fp32 AdamW reads and writes p, m, v and reads g (28 bytes per element), the 8-bit
 * variant 14 bytes (p, g in fp32; m, v in one byte each).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AdamWBench {
    @org.openjdk.jmh.annotations.Param({"adamw_torch", "adamw_8bit", "paged_adamw_8bit"})
    public String optim;

    private Arena arena;
    private Optimizer optimizer;
    private List<Param> params;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        params = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(42);
        int r = 16;
        long[][] linears = {{4096, 4096}, {4096, 4096}, {4096, 4096}, {4096, 4096}, {4096, 11008}, {4096, 11008}, {11008, 4096}};
        String[] names = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
        for (int layer = 0; layer < 32; layer++) {
            for (int k = 0; k < linears.length; k++) {
                long in = linears[k][0], out = linears[k][1];
                params.add(param("layers." + layer + "." + names[k] + ".lora_A.weight", Shape.of(r, in), rnd));
                params.add(param("layers." + layer + "." + names[k] + ".lora_B.weight", Shape.of(out, r), rnd));
            }
        }
        optimizer = OptimizerName.byName(optim).create(params, AdamHyperparameters.defaults());
    }

    private Param param(String name, Shape shape, SplittableRandom rnd) {
        Tensor v = Tensor.allocate(DType.F32, shape, arena);
        Tensor g = Tensor.allocate(DType.F32, shape, arena);
        for (long i = 0; i < v.numel(); i++) {
            v.setFloat(i, (float) (rnd.nextDouble() - 0.5) * 0.02f);
            g.setFloat(i, (float) (rnd.nextDouble() - 0.5) * 1e-3f);
        }
        return new Param(name, v, g);
    }

    @Benchmark
    public long step() {
        optimizer.step(1e-4);
        return optimizer.stepCount();
    }

    @Benchmark
    public double clipGradNorm() {
        return GradClip.clip(params, 1e9);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        optimizer.close();
        arena.close();
    }
}
