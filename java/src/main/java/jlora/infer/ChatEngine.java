package jlora.infer;

import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A model that answers chats: chat template, tokenizer, generation loop and tool-call parsing
 * behind one call. `jlora chat` and `jlora serve` talk only to this.
 */
public interface ChatEngine {
    /** The id clients see (OpenAI "model"). */
    String modelId();

    /**
     * Generates one assistant turn. {@code onText} receives the visible text as it is produced,
     * in complete UTF-8 characters only; {@code cancelled} is polled between tokens and stops
     * generation early (finish reason "cancelled"). Blocks until done.
     */
    ChatResult generate(ChatRequest request, Consumer<String> onText, BooleanSupplier cancelled);

    /** Prompt length in tokens after the chat template, for limits checked before queueing. */
    int promptTokens(ChatRequest request);

    /** Tokens the model's context holds, prompt and reply together; a prompt must be shorter. */
    default int contextLength() {
        return Integer.MAX_VALUE;
    }
}
