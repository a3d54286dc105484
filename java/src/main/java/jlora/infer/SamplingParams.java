package jlora.infer;

import java.util.List;

/**
 * How to pick each next token and when to stop; the OpenAI request fields map one to one.
 * temperature 0 means greedy. topK 0 and topP 1 and minP 0 switch those filters off;
 * repetitionPenalty 1 is none (the CTRL / transformers definition: divide positive logits of
 * seen tokens, multiply negative ones). A null seed draws one.
 */
public record SamplingParams(double temperature, double topP, int topK, double minP, double repetitionPenalty,
                             Long seed, int maxNewTokens, List<String> stop) {
    public static final SamplingParams GREEDY = new SamplingParams(0, 1, 0, 0, 1, null, 256, List.of());

    public SamplingParams {
        stop = List.copyOf(stop);
    }
}
