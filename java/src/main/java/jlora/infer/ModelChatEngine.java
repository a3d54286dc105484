package jlora.infer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import jlora.backend.Backend;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;

/**
 * A {@link ChatEngine} over a local model: the chat template renders the history with
 * {@code add_generation_prompt} and the request's tools, the tokenizer encodes it without
 * adding special tokens (as transformers' apply_chat_template does), the {@link Generator}
 * runs, and a {@link ToolCallParser} between the generator and {@code onText} keeps
 * {@code <tool_call>} blocks out of the visible stream. A request without sampling parameters
 * gets the model's {@link GenerationDefaults}. One generation at a time: the model
 * and its scratch memory are shared, so {@link #generate} is synchronized ({@link BatchingEngine}
 * runs several together over the same model).
 */
public final class ModelChatEngine implements ChatEngine, AutoCloseable {
    private final String modelId;
    private final DecoderModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final Set<Integer> eosIds;
    private final GenerationDefaults defaults;
    private final AutoCloseable resources;

    public ModelChatEngine(String modelId, DecoderModel model, Tokenizer tokenizer, ChatTemplate template,
                           Set<Integer> eosIds, GenerationDefaults defaults, AutoCloseable resources) {
        this.modelId = modelId;
        this.model = model;
        this.tokenizer = tokenizer;
        this.template = template;
        this.eosIds = Set.copyOf(eosIds);
        this.defaults = defaults;
        this.resources = resources;
    }

    /**
     * Loads a Hugging Face model directory, with a PEFT adapter applied unmerged when
     * {@code adapter} is not null. Tokenizer and chat template come from the adapter directory
     * when it carries them (a jlora run's final/ does), else from the model directory.
     */
    public static ModelChatEngine load(Path modelDir, Path adapter, Backend backend) {
        LoadOptions options = adapter == null ? LoadOptions.DEFAULT : LoadOptions.DEFAULT.withAdapter(adapter);
        Path tokDir = adapter != null && Files.isRegularFile(adapter.resolve("tokenizer.json")) ? adapter : modelDir;
        Tokenizer tokenizer = Tokenizer.load(tokDir);
        ChatTemplate template = ChatTemplate.load(tokDir);
        CausalLM lm = CausalLM.load(modelDir, backend, options);
        try {
            Set<Integer> eos = StopCriteria.eosIds(modelDir, lm.config().eosTokenIds(), tokenizer.specialTokens().eos());
            String id = adapter != null ? adapter.toAbsolutePath().normalize().getFileName().toString()
                    : modelDir.toAbsolutePath().normalize().getFileName().toString();
            return new ModelChatEngine(id, new CausalLmDecoder(lm), tokenizer, template, eos,
                    GenerationDefaults.load(modelDir), lm);
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
    }

    @Override
    public String modelId() {
        return modelId;
    }

    public Set<Integer> eosIds() {
        return eosIds;
    }

    /** The model's generation_config.json sampling settings, for fields a request leaves unset. */
    public GenerationDefaults generationDefaults() {
        return defaults;
    }

    @Override
    public int promptTokens(ChatRequest request) {
        return encode(request).length;
    }

    @Override
    public int contextLength() {
        return model.contextLength();
    }

    @Override
    public synchronized ChatResult generate(ChatRequest request, Consumer<String> onText, BooleanSupplier cancelled) {
        int[] prompt = encode(request);
        SamplingParams s = sampling(request);
        Turn turn = new Turn(onText);
        Generator.Output out = new Generator(model, tokenizer).generate(prompt, s, stopCriteria(s), turn::text, cancelled);
        return turn.result(out);
    }

    /** The request's sampling settings, or the model's defaults when it gave none. */
    SamplingParams sampling(ChatRequest request) {
        return request.sampling() != null ? request.sampling() : defaults.sampling(null, List.of());
    }

    StopCriteria stopCriteria(SamplingParams s) {
        return new StopCriteria(eosIds, s.stop(), s.maxNewTokens());
    }

    DecoderModel model() {
        return model;
    }

    Tokenizer tokenizer() {
        return tokenizer;
    }

    int[] encode(ChatRequest request) {
        String text = template.render(request.messages(), request.tools().isEmpty() ? null : request.tools(), true,
                request.templateExtras());
        return tokenizer.encode(text, false);
    }

    @Override
    public void close() {
        try {
            if (resources != null) resources.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing " + modelId, e);
        }
    }
}
