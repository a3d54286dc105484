package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link SequencePacking#of} against the document rule of jlora.backend.cpu.CpuAttention, restated
 * token by token: token t starts a document iff t = 0 or ids[t] != ids[t − 1]. Random id runs
 * (fresh seed, printed), including an id that comes back after another one.
 */
class SequencePackingTest {
    @Test
    void boundariesAreTheRunsOfEqualIds() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        for (int trial = 0; trial < 50; trial++) {
            int[] ids = new int[r.nextInt(0, 40)];
            for (int t = 0; t < ids.length; t++) ids[t] = t > 0 && r.nextInt(4) > 0 ? ids[t - 1] : r.nextInt(3);
            SequencePacking p = SequencePacking.of(ids);
            int[] cu = p.cuSeqlens();
            int b = 0, max = 0;
            for (int t = 0; t < ids.length; t++) {
                if (t == 0 || ids[t] != ids[t - 1]) {
                    assertEquals(t, cu[b], "seed=" + seed + " document " + b + " start");
                    if (b > 0) max = Math.max(max, cu[b] - cu[b - 1]);
                    b++;
                }
            }
            assertEquals(ids.length, cu[b], "seed=" + seed + " end");
            if (b > 0) max = Math.max(max, cu[b] - cu[b - 1]);
            assertEquals(b, p.batch(), "seed=" + seed + " batch");
            assertEquals(max, p.maxSeqlen(), "seed=" + seed + " maxSeqlen");
            assertEquals(ids.length, p.totalTokens(), "seed=" + seed);
        }
        assertArrayEquals(new int[] {0, 2, 3, 5}, SequencePacking.of(new int[] {4, 4, 1, 4, 4}).cuSeqlens());
    }
}
