package jlora.train;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import jlora.backend.cpu.CpuBackend;
import jlora.data.Conversation;
import jlora.data.Message;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;

/**
 * The sample answer a run prints at the end: greedy decoding from the base model with the
 * saved adapter. Deliberately minimal (the whole sequence is re-run for every new token, no KV
 * cache): it is a smoke test of the saved adapter on small models, not the generation engine.
 */
public final class SampleAnswer {
    /** A question in the style of the bundled chat samples. */
    public static final String PROMPT = "한국의 수도는 어디인가요?";

    private SampleAnswer() {}

    public static String generate(Path modelDir, Path adapterDir, Tokenizer tokenizer, ChatTemplate template,
                                  String question, int maxNewTokens) {
        String prompt = template.render(Conversation.of(Message.user(question)), true, Map.of());
        int[] ids = tokenizer.encode(prompt, false);
        try (CausalLM model = CausalLM.load(modelDir, new CpuBackend(), LoadOptions.DEFAULT.withAdapter(adapterDir))) {
            List<Integer> eos = model.config().eosTokenIds();
            int maxPos = model.config().maxPositionEmbeddings();
            int start = ids.length;
            for (int k = 0; k < maxNewTokens && ids.length < maxPos; k++) {
                int[] pos = new int[ids.length];
                for (int i = 0; i < pos.length; i++) pos[i] = i;
                float[] logits = model.forward(ids, pos);
                int best = 0;
                for (int v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
                if (eos.contains(best) || best == tokenizer.specialTokens().eos()) break;
                ids = Arrays.copyOf(ids, ids.length + 1);
                ids[ids.length - 1] = best;
            }
            return tokenizer.decode(Arrays.copyOfRange(ids, start, ids.length), true);
        }
    }
}
