package jlora.train;

import java.util.Map;
import jlora.tensor.Tensor;

/** Points where tests reach into a run: fault injection and a simulated crash. */
public interface TrainerHooks {
    TrainerHooks NONE = new TrainerHooks() {};

    /** After the gradients of {@code step} are accumulated, before the guard and the update. */
    default void afterBackward(long step, Map<String, Tensor> gradients) {}

    /** After checkpoint {@code step} is on disk; true ends the run there as if the process died. */
    default boolean stopAfterCheckpoint(long step) {
        return false;
    }
}
