package jlora.bench;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jlora.backend.DenseWeight;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CPU linear layer: forward y = x·Wᵀ ({@code nt}) and the input gradient dx = dy·W
 * ({@code nn}), f32 and bf16 weights, on {@code tokens × in → out} shapes of real layers.
 * GFLOP/s = 2·T·in·out / time. Run: {@code java --add-modules jdk.incubator.vector -jar
 * bench/target/jlora-bench-all.jar MatmulBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class MatmulBench {
    /** tokens x in x out: a 1.5B-class q/o projection, and an MLP up projection. */
    @Param({"512x1536x1536", "512x1536x8960"})
    public String shape;

    @Param({"F32", "BF16"})
    public String weightType;

    private Arena arena;
    private final CpuBackend cpu = new CpuBackend();
    private Tensor x, y, dx;
    private DenseWeight w;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        int t = Integer.parseInt(p[0]), in = Integer.parseInt(p[1]), out = Integer.parseInt(p[2]);
        arena = Arena.ofShared();
        SplittableRandom rnd = new SplittableRandom(42);
        x = random(DType.F32, rnd, t, in);
        w = new DenseWeight(random(DType.valueOf(weightType), rnd, out, in));
        y = Tensor.allocate(DType.F32, Shape.of(t, out), arena);
        dx = Tensor.allocate(DType.F32, Shape.of(t, in), arena);
    }

    private Tensor random(DType type, SplittableRandom rnd, long... dims) {
        Tensor t = Tensor.allocate(type, Shape.of(dims), arena);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) (rnd.nextDouble() - 0.5));
        return t;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public Tensor nt() {
        cpu.linear(x, w, null, y);
        return y;
    }

    @Benchmark
    public Tensor nn() {
        cpu.linearBackward(y, w, dx, null);
        return dx;
    }
}
