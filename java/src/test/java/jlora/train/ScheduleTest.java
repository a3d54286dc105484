package jlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Schedules against transformers' {@code optimization.py} lambdas, transcribed here from the
 * Python (integer arithmetic where Python has ints, {@code float()} where it converts), at every
 * step of random configurations and past the end; plus the values the formulas pin at known points
 * (warmup boundary, last step, the top of every restart).
 */
class ScheduleTest {

    /** transformers' lambdas, one per schedule, written as the Python reads. */
    static double transformers(Schedule.Type type, long current, long warmup, long total, double cycles) {
        if (type == Schedule.Type.CONSTANT) return 1.0;
        if (current < warmup) return (double) current / (double) Math.max(1, warmup);
        switch (type) {
            case CONSTANT_WITH_WARMUP:
                return 1.0;
            case LINEAR:
                return Math.max(0.0, (double) (total - current) / (double) Math.max(1, total - warmup));
            case COSINE: {
                double progress = (double) (current - warmup) / (double) Math.max(1, total - warmup);
                return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * cycles * 2.0 * progress)));
            }
            case COSINE_WITH_RESTARTS: {
                double progress = (double) (current - warmup) / (double) Math.max(1, total - warmup);
                if (progress >= 1.0) return 0.0;
                // Python's float % for non-negative operands is C's fmod
                return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * ((cycles * progress) % 1.0))));
            }
            default:
                throw new AssertionError(type);
        }
    }

    @Test
    void everyStepMatchesTransformers() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        for (int trial = 0; trial < 50; trial++) {
            long total = 1 + rnd.nextInt(500);
            long warmup = rnd.nextInt(4) == 0 ? 0 : rnd.nextInt((int) total + 1);
            double cycles = rnd.nextBoolean() ? 0.5 + rnd.nextInt(4) : 0.25 + 3 * rnd.nextDouble();
            for (Schedule.Type type : Schedule.Type.values()) {
                Schedule s = Schedule.of(type, total, warmup, cycles);
                for (long step = 0; step <= total + 3; step++) {
                    double want = transformers(type, step, warmup, total, cycles);
                    assertEquals(want, s.factor(step), 1e-15, "seed " + seed + " " + type.hfName + " total " + total
                            + " warmup " + warmup + " cycles " + cycles + " step " + step);
                }
            }
        }
    }

    @Test
    void pinnedValues() {
        // warmup ramps from 0 and reaches 1 exactly at the boundary
        Schedule lin = Schedule.of(Schedule.Type.LINEAR, 100, 10, 0.5);
        assertEquals(0.0, lin.factor(0));
        assertEquals(0.5, lin.factor(5));
        assertEquals(1.0, lin.factor(10));
        assertEquals(0.5, lin.factor(55));
        assertEquals(0.01 / 0.9, lin.factor(99), 1e-15); // (100-99)/(100-10)
        assertEquals(0.0, lin.factor(100));
        assertEquals(0.0, lin.factor(150));
        assertEquals(3e-4 * 0.5, lin.lr(3e-4, 55), 1e-20);

        Schedule cos = Schedule.of(Schedule.Type.COSINE, 110, 10, Schedule.Type.COSINE.defaultCycles());
        assertEquals(1.0, cos.factor(10));
        assertEquals(0.5, cos.factor(60), 1e-15);
        assertEquals(0.0, cos.factor(110), 1e-15);

        // two restarts over 100 steps: back to the top at 50, zero from 100 on
        Schedule rst = Schedule.of(Schedule.Type.COSINE_WITH_RESTARTS, 100, 0, 2);
        assertEquals(1.0, rst.factor(0));
        assertEquals(0.5, rst.factor(25), 1e-15);
        assertEquals(1.0, rst.factor(50), 1e-15);
        assertEquals(0.5, rst.factor(75), 1e-15);
        assertEquals(0.0, rst.factor(100));

        Schedule cw = Schedule.of(Schedule.Type.CONSTANT_WITH_WARMUP, 100, 4, 0);
        assertEquals(0.25, cw.factor(1));
        assertEquals(1.0, cw.factor(4));
        assertEquals(1.0, Schedule.of(Schedule.Type.CONSTANT, 100, 4, 0).factor(0));
    }

    @Test
    void warmupAsStepsOrRatio() {
        assertEquals(7, Schedule.warmupSteps(1000, 7, 0.5));   // explicit steps win
        assertEquals(30, Schedule.warmupSteps(1000, 0, 0.03));
        assertEquals(4, Schedule.warmupSteps(101, 0, 0.03));   // ceil(3.03)
        assertEquals(0, Schedule.warmupSteps(1000, 0, 0.0));
    }

    @Test
    void namesAreTransformers() {
        for (Schedule.Type t : Schedule.Type.values()) assertEquals(t, Schedule.Type.byName(t.hfName));
        assertEquals(Schedule.Type.COSINE_WITH_RESTARTS, Schedule.Type.byName("cosine_with_restarts"));
        assertNull(Schedule.Type.byName("polynomial"));
    }
}
