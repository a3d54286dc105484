package jlora.train;

import java.util.Objects;
import jlora.tensor.DType;
import jlora.tensor.Tensor;

/**
 * One trainable parameter as the optimizer sees it: an fp32 master value and its fp32 gradient of
 * the same shape, both contiguous host tensors. {@code name} is the key its optimizer state is
 * saved under (use the PEFT tensor name, so a checkpoint's optimizer file lines up with its adapter).
 * Updates run on the common fork-join pool, so the tensors must live in a shared (or global / auto)
 * arena, not a confined one.
 *
 * <p>{@code decay} says whether weight decay applies: the Hugging Face Trainer exempts biases and
 * norm weights ({@code get_decay_parameter_names}); LoRA A and B matrices decay.
 *
 * <p>{@code lrScale} multiplies the scheduled learning rate for this parameter (a parameter group
 * with its own base lr under the same schedule, as Unsloth's embedding_learning_rate is); 1 for most.
 */
public record Param(String name, Tensor value, Tensor grad, boolean decay, double lrScale) {
    public Param(String name, Tensor value, Tensor grad) {
        this(name, value, grad, true);
    }

    public Param(String name, Tensor value, Tensor grad, boolean decay) {
        this(name, value, grad, decay, 1.0);
    }

    public Param {
        Objects.requireNonNull(name);
        if (!(lrScale > 0) || Double.isInfinite(lrScale)) throw new IllegalArgumentException(name + ": lrScale " + lrScale);
        if (value.dtype() != DType.F32 || grad.dtype() != DType.F32) {
            throw new IllegalArgumentException(name + ": optimizer parameters and gradients are F32, got "
                    + value.dtype() + " and " + grad.dtype());
        }
        if (!value.shape().equals(grad.shape())) {
            throw new IllegalArgumentException(name + ": gradient shape " + grad.shape()
                    + " differs from the parameter's " + value.shape());
        }
    }

    public long numel() {
        return value.numel();
    }
}
