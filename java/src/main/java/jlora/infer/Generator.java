package jlora.infer;

import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import jlora.UserError;
import jlora.tokenizer.Tokenizer;

/**
 * The generation loop: prefill the prompt into a fresh {@link KvCache}, then sample and decode
 * one token at a time. Text streams out as the tokenizer's {@link StreamDecoder} completes
 * characters (special tokens skipped), after {@link StopStrings} has held back anything that
 * might still become a stop string, so what {@code onText} receives concatenates to exactly
 * {@link Output#text()}. Cancellation is polled before every model call.
 */
public final class Generator {
    private final DecoderModel model;
    private final Tokenizer tokenizer;

    public Generator(DecoderModel model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /**
     * @param tokens the generated ids, the stopping EOS included (it counts as a completion token)
     * @param finishReason "stop" (EOS or stop string), "length" (max_new_tokens or the context is
     *     full) or "cancelled"
     */
    public record Output(int[] tokens, String text, String finishReason, int promptTokens) {}

    /** A prompt must be non-empty and leave room in the context for at least one new token. */
    static void checkPrompt(int[] prompt, DecoderModel model) {
        if (prompt.length == 0) throw new IllegalArgumentException("empty prompt");
        if (prompt.length >= model.contextLength()) {
            throw new UserError("the prompt has " + prompt.length + " tokens but the model's context holds "
                    + model.contextLength() + "; shorten the conversation (/reset in chat)");
        }
    }

    public Output generate(int[] prompt, SamplingParams sampling, StopCriteria stop, Consumer<String> onText,
                           BooleanSupplier cancelled) {
        checkPrompt(prompt, model);
        if (cancelled.getAsBoolean()) return new Output(new int[0], "", "cancelled", prompt.length);
        Sequence seq = new Sequence(model, tokenizer, prompt, sampling, stop, onText);
        float[] logits = model.prefill(seq.cache(), prompt);
        while (seq.accept(logits)) {
            if (cancelled.getAsBoolean()) {
                seq.cancel();
                break;
            }
            logits = model.decode(seq.cache(), seq.lastToken());
        }
        return seq.finish();
    }
}
