package jlora.train;

import java.lang.foreign.MemorySegment;
import jlora.UserError;
import jlora.tensor.Tensor;

/** Checked copies from a loaded {@link OptimizerState} into live state. */
final class StateCopy {
    private StateCopy() {}

    static void checkKind(OptimizerState state, String kind) {
        String found = state.scalar(OptimizerState.KIND);
        if (!found.equals(kind)) {
            throw new UserError("optimizer state was saved by '" + found + "' but this run uses '" + kind
                    + "'; resume with the same optimizer, or start without resuming its state");
        }
    }

    static long step(OptimizerState state) {
        String s = state.scalar(OptimizerState.STEP);
        try {
            long step = Long.parseLong(s);
            if (step < 0) throw new NumberFormatException();
            return step;
        } catch (NumberFormatException e) {
            throw new UserError("optimizer state has step '" + s + "', not a non-negative integer; the file is damaged");
        }
    }

    static void copyInto(OptimizerState state, String name, Tensor target) {
        Tensor t = state.tensors().get(name);
        if (t == null) {
            throw new UserError("optimizer state has no tensor '" + name
                    + "'; the trainable parameters differ from the run that saved it (LoRA targets, r?)");
        }
        if (t.dtype() != target.dtype() || !t.shape().equals(target.shape())) {
            throw new UserError("optimizer tensor '" + name + "' is " + t.dtype() + t.shape()
                    + " but this run needs " + target.dtype() + target.shape() + "; resume with the same LoRA settings and optimizer options (min_8bit_size)");
        }
        MemorySegment.copy(t.data(), 0, target.data(), 0, target.byteSize());
    }
}
