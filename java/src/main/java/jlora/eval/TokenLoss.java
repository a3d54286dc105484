package jlora.eval;

import jlora.backend.LossSum;
import jlora.data.TokenizedExample;

/** The summed next-token loss of one tokenized example and how many tokens it counts. */
@FunctionalInterface
public interface TokenLoss {
    LossSum loss(TokenizedExample example);
}
