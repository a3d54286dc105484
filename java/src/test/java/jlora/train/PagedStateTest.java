package jlora.train;

import static jlora.train.TrainChecks.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * Paging is where state lives, not what the update computes: on the CPU a paged store (state
 * streamed in fixed chunks) gives the same bits as an unpaged one, for both optimizers; and every
 * store covers each element exactly once in ranges that start on the requested alignment.
 */
class PagedStateTest {

    @Test
    void storesCoverEveryElementOnceOnAlignedRanges() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        for (StateStore store : new StateStore[] {StateStore.host(), StateStore.hostPaged(4096), StateStore.hostPaged(5000)}) {
            try (store) {
                for (int trial = 0; trial < 5; trial++) {
                    int n = 1 + rnd.nextInt(300_000);
                    int align = new int[] {1, 16, 256}[rnd.nextInt(3)];
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    store.update(n, align, (from, to) -> {
                        assertEquals(0, from % align, "seed " + seed + ": range start " + from + " not aligned to " + align);
                        for (long i = from; i < to; i++) hits.incrementAndGet((int) i);
                    });
                    for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "seed " + seed + " n " + n + " element " + i);
                }
            }
        }
        try (StateStore s = StateStore.host(); StateStore p = StateStore.hostPaged(StateStore.DEFAULT_CHUNK)) {
            assertFalse(s.paged());
            assertTrue(p.paged());
        }
    }

    @Test
    void pagedAdamWEqualsUnpagedBitForBit() {
        check((params, store) -> new AdamW(params, AdamHyperparameters.defaults(), store));
    }

    @Test
    void pagedAdamW8bitEqualsUnpagedBitForBit() {
        check((params, store) -> new AdamW8bit(params, AdamHyperparameters.defaults(), store));
    }

    private static void check(BiFunction<List<Param>, StateStore, Optimizer> make) {
        long seed = System.nanoTime();
        int[] sizes = {37, 4096, 70_001, 100_000};
        try (Arena arena = Arena.ofShared()) {
            List<Param> a = TrainChecks.randomParams(new Random(seed), sizes, arena);
            List<Param> b = TrainChecks.randomParams(new Random(seed), sizes, arena);
            try (Optimizer resident = make.apply(a, StateStore.host()); Optimizer paged = make.apply(b, StateStore.hostPaged(4096))) {
                Random rnd = new Random(seed + 1);
                for (int s = 0; s < 3; s++) {
                    for (int k = 0; k < a.size(); k++) {
                        float[] g = new float[sizes[k]];
                        for (int i = 0; i < g.length; i++) g[i] = (float) rnd.nextGaussian();
                        TrainChecks.setGrad(a.get(k), g);
                        TrainChecks.setGrad(b.get(k), g);
                    }
                    resident.step(1e-3);
                    paged.step(1e-3);
                }
                for (int k = 0; k < a.size(); k++) assertSameBytes(a.get(k).value(), b.get(k).value(), "seed " + seed + " param " + k);
                var sa = resident.saveState().tensors();
                var sb = paged.saveState().tensors();
                for (String name : sa.keySet()) assertSameBytes(sa.get(name), sb.get(name), "seed " + seed + " " + name);
            }
        }
    }

    @Test
    void huggingFaceNamesMapToTheRightOptimizer() {
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(new Random(7), new int[] {5000}, arena);
            for (OptimizerName n : OptimizerName.values()) {
                assertEquals(n, OptimizerName.byName(n.hfName));
                try (Optimizer opt = n.create(params, AdamHyperparameters.defaults())) {
                    boolean bnb = opt instanceof AdamW8bit;
                    assertEquals(n.bitsandbytes, bnb, n.hfName);
                    if (bnb) assertEquals(n != OptimizerName.PAGED_ADAMW_32BIT, ((AdamW8bit) opt).is8bit(0), n.hfName);
                }
            }
        }
    }
}
