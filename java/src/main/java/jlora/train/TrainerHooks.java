package jlora.train;

import java.util.Map;
import jlora.tensor.Tensor;

/** Points where tests reach into a run: fault injection and a simulated crash. */
public interface TrainerHooks {
    TrainerHooks NONE = new TrainerHooks() {};

    /**
     * After the gradients of {@code step} (0-based) are accumulated, before the guard and the
     * update; {@code values} are the live trainable tensors, by PEFT name as the gradients.
     */
    default void afterBackward(long step, Map<String, Tensor> values, Map<String, Tensor> gradients) {}

    /** After checkpoint {@code step} is on disk; true ends the run there as if the process died. */
    default boolean stopAfterCheckpoint(long step) {
        return false;
    }
}
