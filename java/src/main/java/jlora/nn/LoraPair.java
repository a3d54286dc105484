package jlora.nn;

import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * The trainable tensors of one adapted linear layer, fp32 master copies: A {@code [rank, in]},
 * B {@code [out, rank]}, as PEFT's lora_A / lora_B nn.Linear weights are laid out.
 */
public record LoraPair(LoraTarget target, Tensor a, Tensor b) {
    public LoraPair {
        Shape wantA = Shape.of(target.rank(), target.inFeatures());
        Shape wantB = Shape.of(target.outFeatures(), target.rank());
        if (a.dtype() != DType.F32 || b.dtype() != DType.F32) {
            throw new IllegalArgumentException(target.path() + ": LoRA masters are F32, got " + a.dtype() + "/" + b.dtype());
        }
        if (!a.shape().equals(wantA) || !b.shape().equals(wantB)) {
            throw new IllegalArgumentException(target.path() + ": A " + a.shape() + " B " + b.shape()
                    + ", expected A " + wantA + " B " + wantB);
        }
    }
}
