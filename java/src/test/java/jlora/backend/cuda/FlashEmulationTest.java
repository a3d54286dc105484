package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * {@link FlashEmulation}, the CPU replay of the flash kernels' bf16 arithmetic that the GPU
 * parity bounds come from, against {@link CpuBackend#attention} / {@link CpuBackend#attentionBackward}
 * (fp32). With rounding off it is the same math in fp64, so every output must agree within
 * 1e-4 · (|want| + rms(want)) (fp32 sums in the reference); this checks the online softmax over
 * 64-key tiles, GQA head mapping, document boundaries and the backward algebra. With rounding on
 * it must move (bf16 is coarser than fp32) but stay within 0.15 · rms.
 */
class FlashEmulationTest {
    @Test
    void unroundedEmulationIsExactAttentionAndRoundedStaysClose() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        int[] docs = {3, 70, 1, 9};  // 70: past one 64-key tile
        int hq = 4, hkv = 2, d = 64;
        int[] ids = new int[Arrays.stream(docs).sum()];
        for (int b = 0, t = 0; b < docs.length; b++) for (int i = 0; i < docs[b]; i++) ids[t++] = b;
        int T = ids.length, nq = T * hq * d, nk = T * hkv * d;
        float[] q = bf16(GpuParity.gaussian(r, nq, 1.0)), k = bf16(GpuParity.gaussian(r, nk, 1.0));
        float[] v = bf16(GpuParity.gaussian(r, nk, 1.0)), g = bf16(GpuParity.gaussian(r, nq, 1.0));
        CpuBackend cpu = new CpuBackend();
        try (Arena arena = Arena.ofShared()) {
            Tensor qt = GpuParity.f32(arena, q, T, hq, d), kt = GpuParity.f32(arena, k, T, hkv, d);
            Tensor vt = GpuParity.f32(arena, v, T, hkv, d), gt = GpuParity.f32(arena, g, T, hq, d);
            Tensor seg = GpuParity.i32(arena, ids);
            Tensor ot = GpuParity.f32(arena, new float[nq], T, hq, d), lt = GpuParity.f32(arena, new float[T * hq], T, hq);
            cpu.attention(qt, kt, vt, seg, ot, lt);
            Tensor dqt = GpuParity.f32(arena, new float[nq], T, hq, d);
            Tensor dkt = GpuParity.f32(arena, new float[nk], T, hkv, d), dvt = GpuParity.f32(arena, new float[nk], T, hkv, d);
            cpu.attentionBackward(gt, qt, kt, vt, seg, ot, lt, dqt, dkt, dvt);
            float[][] want = {ot.toFloatArray(), lt.toFloatArray(), dqt.toFloatArray(), dkt.toFloatArray(), dvt.toFloatArray()};
            String[] names = {"out", "lse", "dq", "dk", "dv"};
            int[] cu = SequencePacking.of(ids).cuSeqlens();
            String ctx = "seed=" + seed + " docs=" + Arrays.toString(docs) + " hq=" + hq + " hkv=" + hkv + " d=" + d;

            float[][] exact = arrays(FlashEmulation.run(cu, hq, hkv, d, q, k, v, g, false));
            for (int i = 0; i < names.length; i++) {
                GpuParity.assertClose("unrounded emulation " + names[i] + " " + ctx, want[i], exact[i], 1e-4, rms(want[i]));
            }
            float[][] rounded = arrays(FlashEmulation.run(cu, hq, hkv, d, q, k, v, g));
            for (int i = 0; i < names.length; i++) {
                if (i == 1) continue;  // lse: no bf16 rounding on its path
                double rms = rms(want[i]), worst = 0;
                for (int j = 0; j < want[i].length; j++) worst = Math.max(worst, Math.abs(rounded[i][j] - want[i][j]));
                String what = "rounded emulation " + names[i] + " " + ctx + ": max |Δ| = " + worst + ", rms " + rms;
                assertTrue(worst > 0 && worst <= 0.15 * rms, what);
            }
        }
    }

    private static float[][] arrays(FlashEmulation e) {
        return new float[][] {e.out(), e.lse(), e.dq(), e.dk(), e.dv()};
    }

    private static double rms(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s / Math.max(1, v.length));
    }

    private static float[] bf16(float[] v) {
        return GpuParity.representable(DType.BF16, v);
    }
}
