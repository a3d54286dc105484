package jlora.infer;

import java.util.Arrays;
import java.util.BitSet;
import java.util.function.Consumer;
import jlora.tokenizer.StreamDecoder;
import jlora.tokenizer.Tokenizer;

/**
 * One sequence's generation state between model calls: its cache, sampler, stop matcher and
 * text stream. {@link #accept} takes the logits of the latest model call, samples a token and
 * streams its text; the caller then decodes {@link #lastToken()} (alone, or batched with other
 * sequences) and calls {@link #accept} again, until it returns false. {@link Generator} drives
 * one; {@link BatchingEngine} drives many in lockstep.
 */
final class Sequence {
    private final int[] prompt;
    private final int contextLength;
    private final StopCriteria stop;
    private final Sampler sampler;
    private final StreamDecoder decoder;
    private final StopStrings stops;
    private final Consumer<String> onText;
    private final StringBuilder text = new StringBuilder();
    private final BitSet seen;
    private final KvCache cache;
    private int[] out;
    private int n;
    private String reason = "length";

    Sequence(DecoderModel model, Tokenizer tokenizer, int[] prompt, SamplingParams sampling, StopCriteria stop,
             Consumer<String> onText) {
        this.prompt = prompt;
        this.contextLength = model.contextLength();
        this.stop = stop;
        this.sampler = new Sampler(sampling);
        this.decoder = tokenizer.streamDecoder(true);
        this.stops = stop.newMatcher();
        this.onText = onText;
        this.seen = new BitSet(model.vocabSize());
        for (int id : prompt) seen.set(id);
        this.out = new int[Math.min(stop.maxNewTokens(), 1024)];
        this.cache = model.newCache();
    }

    KvCache cache() {
        return cache;
    }

    int[] prompt() {
        return prompt;
    }

    int lastToken() {
        return out[n - 1];
    }

    /**
     * Samples the next token from {@code logits} and streams its text. Returns true when the
     * sequence goes on (the caller decodes {@link #lastToken()} next), false when it stopped:
     * EOS, a stop string, max_new_tokens, or a full context.
     */
    boolean accept(float[] logits) {
        int next = sampler.next(logits, seen);
        if (n == out.length) out = Arrays.copyOf(out, out.length * 2);
        out[n++] = next;
        seen.set(next);
        if (stop.isEos(next)) {
            reason = "stop";
            return false;
        }
        emit(stops.push(decoder.push(next)));
        if (stops.stopped()) {
            reason = "stop";
            return false;
        }
        return n < stop.maxNewTokens() && cache.length() + 1 < contextLength;
    }

    /** Ends the sequence early (finish reason "cancelled"). */
    void cancel() {
        reason = "cancelled";
    }

    /** Flushes held-back text and returns the result. */
    Generator.Output finish() {
        if (!stops.stopped()) emit(stops.push(decoder.flush()) + stops.flush());
        return new Generator.Output(Arrays.copyOf(out, n), text.toString(), reason, prompt.length);
    }

    private void emit(String s) {
        if (s.isEmpty()) return;
        text.append(s);
        onText.accept(s);
    }
}
