package jlora.eval;

import jlora.autograd.Tape;
import jlora.backend.Backend;
import jlora.backend.LossSum;
import jlora.data.TokenizedExample;
import jlora.nn.CausalLM;

/**
 * Eval loss through the training loss itself: {@link CausalLM#loss} on one example (position
 * ids 0..T-1, the example's labels, masked tokens not counted) on a tape that is closed without
 * a backward pass, so nothing is kept. The eval set's loss is then sum / count over all
 * examples: token-weighted, as the trainer's eval_loss is (DESIGN.md, Numerics).
 */
public final class CausalLmLoss implements TokenLoss {
    private final CausalLM model;
    private final Backend backend;

    public CausalLmLoss(CausalLM model, Backend backend) {
        this.model = model;
        this.backend = backend;
    }

    @Override
    public LossSum loss(TokenizedExample example) {
        int[] positions = new int[example.length()];
        for (int t = 0; t < positions.length; t++) positions[t] = t;
        try (Tape tape = new Tape(backend)) {
            return model.loss(example.ids(), positions, example.labels(), tape);
        }
    }
}
