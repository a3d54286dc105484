package jlora.backend.cpu;

import static jlora.backend.cpu.Floats.get;
import static jlora.backend.cpu.Floats.getInt;
import static jlora.backend.cpu.Floats.set;

import java.lang.foreign.MemorySegment;
import jlora.tensor.Tensor;

/**
 * Rotary position embedding, rotate-half layout (HF {@code apply_rotary_pos_emb}): dims j and
 * j + R/2 of each head form a pair rotated by angle pos · invFreq[j], R = 2 · invFreq.length.
 * The angle is formed in fp32 as HF does (position ids and inv_freq are float32 there), cos and
 * sin in double then rounded, both times the attention scaling of YaRN / LongRoPE.
 */
final class CpuRope {
    private CpuRope() {}

    /** sign = +1 rotates by +angle (forward), −1 by −angle (backward: the transpose). */
    static void apply(Tensor x, Tensor positions, float[] invFreq, float scaling, Tensor out, int sign) {
        Floats.requireF32("x", x);
        Floats.requireF32("out", out);
        Floats.requireI32("positions", positions);
        if (x.shape().rank() != 3) throw new IllegalArgumentException("rope input must be [T, H, headDim], got " + x);
        Floats.requireShape("out", out, x.shape().dims());
        int T = (int) x.shape().dim(0), H = (int) x.shape().dim(1), Dh = (int) x.shape().dim(2);
        Floats.requireShape("positions", positions, T);
        int half = invFreq.length;
        if (2 * half > Dh) throw new IllegalArgumentException(half + " frequencies need a head dim >= " + 2 * half + ", got " + Dh);
        MemorySegment xs = x.data(), ys = out.data(), ps = positions.data();
        Parallel.forRanges(T, 8, (t0, t1) -> {
            float[] cos = new float[half], sin = new float[half];
            for (int t = t0; t < t1; t++) {
                float pos = getInt(ps, t);
                for (int j = 0; j < half; j++) {
                    float angle = pos * invFreq[j];
                    cos[j] = (float) Math.cos(angle) * scaling;
                    sin[j] = sign * (float) Math.sin(angle) * scaling;
                }
                for (int h = 0; h < H; h++) {
                    long o = ((long) t * H + h) * Dh;
                    for (int j = 0; j < half; j++) {
                        float x1 = get(xs, o + j), x2 = get(xs, o + j + half);
                        set(ys, o + j, x1 * cos[j] - x2 * sin[j]);
                        set(ys, o + j + half, x2 * cos[j] + x1 * sin[j]);
                    }
                    for (int j = 2 * half; j < Dh; j++) set(ys, o + j, get(xs, o + j));
                }
            }
        });
    }
}
