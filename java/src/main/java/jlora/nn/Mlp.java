package jlora.nn;

import jlora.autograd.Ops;
import jlora.autograd.Tape;
import jlora.tensor.Tensor;

/** The SwiGLU MLP of Llama / Qwen: down(silu(gate(x)) · up(x)). */
public record Mlp(LoraLinear gate, LoraLinear up, LoraLinear down) {
    public Tensor forward(Tape tape, Tensor x, Pass pass) {
        Tensor h = Ops.swiglu(tape, gate.forward(tape, x, pass), up.forward(tape, x, pass));
        return down.forward(tape, h, pass);
    }
}
