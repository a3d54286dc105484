package jlora.train;

import static jlora.train.TrainChecks.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;

/**
 * The resume oracle for any optimizer: run A takes 8 steps straight; run B takes 4, writes its
 * state with {@link OptimizerCheckpoint} (and its parameter values, as the adapter file would),
 * a fresh optimizer on fresh parameters reads both and takes the other 4. Values and every state
 * tensor must agree bit for bit. Gradients are a fixed function of the step and the current values.
 */
final class ResumeCheck {
    private ResumeCheck() {}

    static final int[] SIZES = {37, 4095, 4096, 70_001};

    static void run(Path dir, BiFunction<List<Param>, StateStore, Optimizer> make) {
        long seed = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            List<Param> a = TrainChecks.randomParams(new Random(seed), SIZES, arena);
            List<Param> b = TrainChecks.randomParams(new Random(seed), SIZES, arena);
            Schedule sched = Schedule.of(Schedule.Type.COSINE, 8, 2, 0.5);
            try (Optimizer straight = make.apply(a, StateStore.host())) {
                for (int s = 0; s < 8; s++) step(straight, a, seed, s, sched);
                Path file = dir.resolve("optimizer.safetensors");
                List<float[]> saved = new ArrayList<>();
                try (Optimizer first = make.apply(b, StateStore.host())) {
                    for (int s = 0; s < 4; s++) step(first, b, seed, s, sched);
                    OptimizerCheckpoint.write(file, first);
                    for (Param p : b) saved.add(p.value().toFloatArray());
                }
                List<Param> c = new ArrayList<>();
                for (int k = 0; k < b.size(); k++) c.add(TrainChecks.param(b.get(k).name(), saved.get(k), arena));
                try (Optimizer resumed = make.apply(c, StateStore.host())) {
                    OptimizerCheckpoint.read(file, resumed);
                    assertEquals(4, resumed.stepCount());
                    for (int s = 4; s < 8; s++) step(resumed, c, seed, s, sched);
                    for (int k = 0; k < a.size(); k++) {
                        assertSameBytes(a.get(k).value(), c.get(k).value(), "seed " + seed + " param " + k);
                    }
                    var sa = straight.saveState().tensors();
                    var sc = resumed.saveState().tensors();
                    assertEquals(sa.keySet(), sc.keySet());
                    for (String name : sa.keySet()) assertSameBytes(sa.get(name), sc.get(name), "seed " + seed + " state " + name);
                }
            }
        }
    }

    private static void step(Optimizer opt, List<Param> params, long seed, int s, Schedule sched) {
        Random rnd = new Random(seed * 31 + s);
        for (Param p : params) {
            for (int i = 0; i < p.numel(); i++) {
                p.grad().setFloat(i, (float) (0.5 * p.value().getFloat(i) + 0.1 * rnd.nextGaussian()));
            }
        }
        opt.step(sched.lr(1e-2, s));
    }
}
