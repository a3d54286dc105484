package jlora.infer;

import java.util.Arrays;
import java.util.BitSet;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import jlora.UserError;
import jlora.tokenizer.StreamDecoder;
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

    public Output generate(int[] prompt, SamplingParams sampling, StopCriteria stop, Consumer<String> onText,
                           BooleanSupplier cancelled) {
        if (prompt.length == 0) throw new IllegalArgumentException("empty prompt");
        if (prompt.length >= model.contextLength()) {
            throw new UserError("the prompt has " + prompt.length + " tokens but the model's context holds "
                    + model.contextLength() + "; shorten the conversation (/reset in chat)");
        }
        Sampler sampler = new Sampler(sampling);
        StreamDecoder decoder = tokenizer.streamDecoder(true);
        StopStrings stops = stop.newMatcher();
        StringBuilder text = new StringBuilder();
        BitSet seen = new BitSet(model.vocabSize());
        for (int id : prompt) seen.set(id);
        int[] out = new int[Math.min(stop.maxNewTokens(), 1024)];
        int n = 0;
        String reason = "length";
        KvCache cache = model.newCache();
        if (cancelled.getAsBoolean()) return new Output(new int[0], "", "cancelled", prompt.length);
        float[] logits = model.prefill(cache, prompt);
        while (true) {
            int next = sampler.next(logits, seen);
            if (n == out.length) out = Arrays.copyOf(out, out.length * 2);
            out[n++] = next;
            seen.set(next);
            if (stop.isEos(next)) {
                reason = "stop";
                break;
            }
            emit(stops.push(decoder.push(next)), text, onText);
            if (stops.stopped()) {
                reason = "stop";
                break;
            }
            if (n >= stop.maxNewTokens() || cache.length() + 1 >= model.contextLength()) break;
            if (cancelled.getAsBoolean()) {
                reason = "cancelled";
                break;
            }
            logits = model.decode(cache, next);
        }
        if (!stops.stopped()) emit(stops.push(decoder.flush()) + stops.flush(), text, onText);
        return new Output(Arrays.copyOf(out, n), text.toString(), reason, prompt.length);
    }

    private static void emit(String s, StringBuilder text, Consumer<String> onText) {
        if (s.isEmpty()) return;
        text.append(s);
        onText.accept(s);
    }
}
