package jlora.nn;

import jlora.UserError;
import jlora.autograd.Ops;
import jlora.autograd.Tape;
import jlora.tensor.Tensor;

/**
 * Self-attention of Llama / Qwen2 / Qwen3 / Mistral (transformers' *Attention.forward): q, k, v
 * projections (Qwen2: with bias), Qwen3's per-head RMSNorm on q and k before RoPE, rotate-half
 * RoPE at each token's position id, causal grouped-query attention within each packed
 * document (softmax scale 1/sqrt(head_dim)), then o_proj.
 *
 * @param qNorm Qwen3 only, else null
 * @param kNorm Qwen3 only, else null
 * @param slidingWindow tokens a query may look back (0: none). Within a document no longer than
 *     the window the window never bites, so it is checked, not masked: a longer document is refused.
 */
public record Attention(LoraLinear q, LoraLinear k, LoraLinear v, LoraLinear o, RmsNorm qNorm, RmsNorm kNorm,
                        int heads, int kvHeads, int headDim, int layer, int slidingWindow) {

    public Tensor forward(Tape tape, Tensor x, Pass pass) {
        if (slidingWindow > 0 && pass.longestDocument() > slidingWindow) {
            throw new UserError("layer " + layer + " uses a sliding attention window of " + slidingWindow
                    + " tokens (config.json sliding_window) but a sequence has " + pass.longestDocument()
                    + " tokens; jlora does not mask sliding windows yet: use sequences of at most " + slidingWindow + " tokens");
        }
        long t = x.shape().dim(0);
        Tensor qh = Ops.view(tape, q.forward(tape, x, pass), t, heads, headDim);
        Tensor kh = Ops.view(tape, k.forward(tape, x, pass), t, kvHeads, headDim);
        Tensor vh = Ops.view(tape, v.forward(tape, x, pass), t, kvHeads, headDim);
        if (qNorm != null) qh = qNorm.forward(tape, qh);
        if (kNorm != null) kh = kNorm.forward(tape, kh);
        qh = Ops.rope(tape, qh, pass.positions(), pass.invFreq(), pass.attentionScaling());
        kh = Ops.rope(tape, kh, pass.positions(), pass.invFreq(), pass.attentionScaling());
        Tensor att = Ops.attention(tape, qh, kh, vh, pass.segmentIds());
        return o.forward(tape, Ops.view(tape, att, t, (long) heads * headDim), pass);
    }
}
