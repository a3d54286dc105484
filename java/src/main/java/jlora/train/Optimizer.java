package jlora.train;

import java.util.List;

/**
 * Updates a fixed list of {@link Param}s from their gradients. The learning rate comes in with each
 * step (the {@link Schedule} times the base rate), so the optimizer holds no schedule. State lives
 * in a {@link StateStore}, freed by {@link #close()}.
 *
 * <p>{@link #saveState()} and {@link #loadState(OptimizerState)} carry everything a later step
 * depends on (moments, quantization scales, the step count), so save → load → continue produces the
 * same bits as an uninterrupted run.
 */
public interface Optimizer extends AutoCloseable {
    List<Param> params();

    /** One update of every parameter with learning rate {@code lr}; increments {@link #stepCount()} first. */
    void step(double lr);

    /** Number of completed steps (torch's {@code state["step"]}). */
    long stepCount();

    default void zeroGrad() {
        for (Param p : params()) p.grad().data().fill((byte) 0);
    }

    /**
     * The state as named tensors and scalars, ready for {@link OptimizerCheckpoint#write}. The
     * tensors are views of the live state: write them before the next {@link #step}.
     */
    OptimizerState saveState();

    /** Replaces the state with a copy of {@code state}; throws {@link jlora.UserError} if it does not fit these params. */
    void loadState(OptimizerState state);

    @Override
    void close();
}
