package jlora.nn;

import jlora.autograd.Ops;
import jlora.autograd.Tape;
import jlora.tensor.Tensor;

/**
 * RMSNorm as Llama / Qwen do it (y = x · rsqrt(mean(x²) + eps) · w, fp32) over the last
 * dimension. The weight is trainable only if the caller registered it on the tape.
 */
public record RmsNorm(Tensor weight, float eps) {
    public Tensor forward(Tape tape, Tensor x) {
        long d = x.shape().dim(-1);
        if (x.shape().rank() == 2) return Ops.rmsNorm(tape, x, weight, eps);
        // Per-head norms (Qwen3 q_norm / k_norm) see [T, H, Dh] as T·H rows of Dh.
        long[] dims = x.shape().dims();
        Tensor rows = Ops.view(tape, x, x.numel() / d, d);
        return Ops.view(tape, Ops.rmsNorm(tape, rows, weight, eps), dims);
    }
}
