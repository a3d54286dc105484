package jlora.train;

import static jlora.train.TrainChecks.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * A parameter marked exempt from weight decay (a norm weight or bias, as the Hugging Face Trainer
 * groups them) moves exactly as it would under the same optimizer with weight decay 0, while a
 * decayed twin does not.
 */
class DecayExemptionTest {

    @Test
    void adamW() {
        check((hp, params) -> new AdamW(params, hp, StateStore.host()));
    }

    @Test
    void adamW8bit() {
        check((hp, params) -> new AdamW8bit(params, hp, StateStore.host()));
    }

    private static void check(BiFunction<AdamHyperparameters, List<Param>, Optimizer> make) {
        long seed = System.nanoTime();
        int[] sizes = {300, 5000};
        try (Arena arena = Arena.ofShared()) {
            for (int k = 0; k < sizes.length; k++) {
                float[] v = new float[sizes[k]];
                Random rnd = new Random(seed + k);
                for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
                Param exempt = new Param("norm", TrainChecks.param("a", v, arena).value(), TrainChecks.param("a", v, arena).grad(), false);
                Param decayed = TrainChecks.param("w", v, arena);
                Param noDecay = TrainChecks.param("w", v, arena);
                AdamHyperparameters wd = new AdamHyperparameters(0.9, 0.999, 1e-8, 0.5);
                AdamHyperparameters none = new AdamHyperparameters(0.9, 0.999, 1e-8, 0.0);
                try (Optimizer a = make.apply(wd, List.of(exempt, decayed)); Optimizer b = make.apply(none, List.of(noDecay))) {
                    for (int s = 0; s < 3; s++) {
                        float[] g = new float[v.length];
                        for (int i = 0; i < g.length; i++) g[i] = (float) rnd.nextGaussian();
                        TrainChecks.setGrad(exempt, g);
                        TrainChecks.setGrad(decayed, g);
                        TrainChecks.setGrad(noDecay, g);
                        a.step(1e-2);
                        b.step(1e-2);
                    }
                    assertSameBytes(noDecay.value(), exempt.value(), "seed " + seed + " size " + sizes[k] + " exempt vs wd 0");
                    assertFalse(decayed.value().data().mismatch(noDecay.value().data()) < 0, "seed " + seed + " decay had no effect");
                }
            }
        }
    }
}
