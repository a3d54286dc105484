package jlora.nn;

import jlora.autograd.Ops;
import jlora.autograd.Tape;
import jlora.tensor.Tensor;

/** Token embedding lookup; the table {@code [V, D]} is F32 or BF16 and frozen. */
public record Embedding(Tensor table) {
    public Tensor forward(Tape tape, Tensor ids) {
        return Ops.embedding(tape, table, ids);
    }
}
