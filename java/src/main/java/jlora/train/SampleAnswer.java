package jlora.train;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import jlora.backend.cpu.CpuBackend;
import jlora.data.Message;
import jlora.infer.CausalLmDecoder;
import jlora.infer.ChatRequest;
import jlora.infer.GenerationDefaults;
import jlora.infer.ModelChatEngine;
import jlora.infer.SamplingParams;
import jlora.infer.StopCriteria;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;

/**
 * The sample answer a run prints at the end: greedy decoding (the generation engine of `jlora
 * chat`, with its KV cache) from the base model with the saved adapter applied unmerged, using
 * the run's own tokenizer and chat template, so it exercises exactly what was saved.
 */
public final class SampleAnswer {
    /** A question in the style of the bundled chat samples. */
    public static final String PROMPT = "한국의 수도는 어디인가요?";

    private SampleAnswer() {}

    public static String generate(Path modelDir, Path adapterDir, Tokenizer tokenizer, ChatTemplate template,
                                  String question, int maxNewTokens) {
        try (CausalLM model = CausalLM.load(modelDir, new CpuBackend(), LoadOptions.DEFAULT.withAdapter(adapterDir))) {
            Set<Integer> eos = StopCriteria.eosIds(modelDir, model.config().eosTokenIds(), tokenizer.specialTokens().eos());
            ModelChatEngine engine = new ModelChatEngine("sample", new CausalLmDecoder(model), tokenizer, template, eos,
                    GenerationDefaults.load(modelDir), () -> { });
            SamplingParams greedy = new SamplingParams(0, 1, 0, 0, 1, null, maxNewTokens, List.of());
            return engine.generate(new ChatRequest(List.of(Message.user(question)), List.of(), greedy, null),
                    text -> { }, () -> false).text();
        }
    }
}
