package jlora.nn;

import jlora.autograd.Ops;
import jlora.autograd.Tape;
import jlora.backend.Dropout;
import jlora.backend.LinearWeight;
import jlora.tensor.Tensor;

/**
 * A frozen linear layer (f32, bf16 or NF4 weight, optional frozen bias) with an optional LoRA
 * adapter: y = x·Wᵀ + b + scale · dropout(x)·Aᵀ·Bᵀ (PEFT's lora.Linear).
 *
 * @param index this module's position among all linear layers of the model; with the step and
 *     the run seed it seeds the dropout mask, so every layer, module and step draws its own mask
 *     and a recomputed (checkpointed) forward draws the same one
 * @param lora null when the layer is not adapted
 */
public record LoraLinear(String path, int index, LinearWeight weight, Tensor bias, LoraPair lora, float dropout,
                         long seed) {

    public Tensor forward(Tape tape, Tensor x, Pass pass) {
        if (lora == null) return Ops.linear(tape, x, weight, bias);
        Dropout d = pass.training() && dropout > 0 ? new Dropout(dropout, dropoutSeed(seed, index, pass.step())) : Dropout.NONE;
        return Ops.loraLinear(tape, x, weight, bias, lora.a(), lora.b(), (float) lora.target().scale(), d);
    }

    /** SplitMix64 finaliser over (seed, module, step): distinct, well-spread seeds per mask. */
    static long dropoutSeed(long seed, int module, long step) {
        long z = seed ^ (module * 0x9E3779B97F4A7C15L) ^ (step * 0xC2B2AE3D27D4EB4FL);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
