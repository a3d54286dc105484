package jlora.nn;

import jlora.tensor.Tensor;

/**
 * What every layer of one forward pass shares: the token positions (RoPE), the document each
 * token belongs to (packed rows), the RoPE frequencies for this sequence length, and whether
 * LoRA dropout is on and for which optimizer step its masks are drawn.
 *
 * @param positions I32 {@code [T]}, restarting at 0 at every packed document
 * @param segmentIds I32 {@code [T]}, see {@link jlora.backend.Backend#segmentIdsFromPositions}
 * @param invFreq RoPE inverse frequencies, {@code headDim / 2}
 * @param attentionScaling RoPE cos/sin multiplier (YaRN), 1 otherwise
 * @param longestDocument tokens in the longest packed document (checked against sliding windows)
 * @param training dropout on (LoRA path only, as PEFT in train mode)
 * @param step optimizer step, folded into every dropout seed so each step draws fresh masks
 */
public record Pass(Tensor positions, Tensor segmentIds, float[] invFreq, float attentionScaling, int longestDocument,
                   boolean training, long step) {
}
