package jlora.nn;

import jlora.autograd.Ops;
import jlora.autograd.Tape;
import jlora.tensor.Tensor;

/** A pre-norm decoder layer: h = x + attn(norm₁(x)); out = h + mlp(norm₂(h)). */
public record DecoderLayer(int index, RmsNorm inputNorm, Attention attention, RmsNorm postAttentionNorm, Mlp mlp) {
    public Tensor forward(Tape tape, Tensor x, Pass pass) {
        Tensor h = Ops.add(tape, x, attention.forward(tape, inputNorm.forward(tape, x), pass));
        return Ops.add(tape, h, mlp.forward(tape, postAttentionNorm.forward(tape, h), pass));
    }
}
