package jlora.data;

import jlora.UserError;
import jlora.tokenizer.AssistantSpans;
import jlora.tokenizer.CharSpan;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Encoding;
import jlora.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Example → {@link TokenizedExample}: render, tokenize with offsets, label, enforce the length.
 *
 * <p><b>Chat examples</b> are rendered with the model's chat template and tokenized with
 * {@code add_special_tokens=False}, as transformers' {@code apply_chat_template(tokenize=True)}
 * and TRL do: the template writes BOS itself where the model wants one (Llama 3's
 * {@code bos_token + ...}), so the post-processor must not add a second. Trained spans come from
 * {@link ChatTemplate#assistantSpans} (content + end-of-turn token of each assistant turn) and
 * are mapped to tokens by {@link LabelMasker}'s overlap rule.
 *
 * <p><b>Plain-text examples</b> ({@code text}, string {@code prompt}/{@code completion}) are
 * tokenized with {@code add_special_tokens=True} and get EOS appended when it is not already
 * last, as TRL's SFTTrainer does for language-modelling rows (its {@code add_eos}); loss on the
 * characters from {@code promptLength} on (TRL's completion_only_loss) plus that EOS, or on every
 * token with {@link TokenizeOptions.LossOn#ALL}.
 *
 * <p><b>Too long</b> (more than max_seq_length tokens): {@code DROP} rejects the example;
 * {@code TRUNCATE_LEFT} keeps the head (the tokens of the rendered system message, or a leading
 * BOS) and the last {@code max - head} tokens. The first kept token after the cut lost its real
 * predecessor, so its label is dropped too. An example whose head alone does not fit, or that
 * keeps no trained token, is rejected.
 *
 * <p>Not thread-safe (it keeps the last result for {@link #take}); one per reading thread.
 */
public final class ExampleTokenizer {
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final TokenizeOptions options;
    private final TokenizationReport report = new TokenizationReport();
    private Example lastExample;
    private Outcome lastOutcome;

    /**
     * The tokenized example, or the reason it is rejected and the kind it counts under (then
     * {@code example} is null; {@code fullLength} is 0 when the template failed).
     */
    public record Outcome(TokenizedExample example, int fullLength, String rejection, Problem.Kind kind) {}

    public ExampleTokenizer(Tokenizer tokenizer, ChatTemplate template, TokenizeOptions options) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.options = options;
    }

    public TokenizeOptions options() { return options; }

    public TokenizationReport report() { return report; }

    /**
     * The check a reader runs before it accepts an example: too long (TOO_LONG) or the chat
     * template raised an error for it (TEMPLATE_ERROR); either way reading goes on.
     */
    public ExampleCheck check() {
        return new ExampleCheck() {
            @Override
            public String check(Example e) {
                return outcome(e).rejection();
            }

            @Override
            public Problem.Kind kind(Example e, String reason) {
                return outcome(e).kind();
            }
        };
    }

    /** The example the check accepted (computed once), or null if it was rejected. */
    public TokenizedExample take(Example e) {
        return outcome(e).example();
    }

    /** Tokenizes once per example object: the check and the consumer that follows share the result. */
    public Outcome outcome(Example e) {
        if (e != lastExample) {
            lastOutcome = tokenize(e);
            lastExample = e;
            report.add(lastOutcome);
        }
        return lastOutcome;
    }

    private Outcome tokenize(Example e) {
        int[] ids;
        int[] labels;
        int head;
        int dropped = 0;
        if (e.isChat()) {
            AssistantSpans.Result r;
            try {
                r = template.assistantSpans(e.conversation(), options.templateContext());
            } catch (UserError err) {
                return new Outcome(null, 0, err.getMessage(), Problem.Kind.TEMPLATE_ERROR);
            }
            Encoding enc = tokenizer.encodeWithOffsets(r.text(), false);
            ids = enc.ids();
            dropped = r.unstableTurns().size();
            List<CharSpan> spans = r.spans();
            labels = switch (options.lossOn()) {
                case ALL -> LabelMasker.all(ids);
                case ASSISTANT -> LabelMasker.labels(enc, spans);
                case LAST_ASSISTANT -> LabelMasker.labels(enc, spans.isEmpty() ? spans : spans.subList(spans.size() - 1, spans.size()));
            };
            head = systemHead(e, r.text(), enc);
        } else {
            Encoding enc = withEos(tokenizer.encodeWithOffsets(e.text(), true), e.text().length());
            ids = enc.ids();
            labels = options.lossOn() == TokenizeOptions.LossOn.ALL ? LabelMasker.all(ids)
                    : completionLabels(enc, e.promptLength());
            head = leadingBos(enc);
        }
        int full = ids.length;
        int max = options.maxSeqLength();
        if (full > max) {
            if (options.truncation() == TokenizeOptions.Truncation.DROP) {
                return rejected(full, full + " tokens > max_seq_length " + max
                        + "; raise max_seq_length or use truncation truncate_left");
            }
            if (head >= max) {
                return rejected(full, "its system prompt alone is " + head + " tokens, max_seq_length is " + max
                        + "; shorten the system prompt or raise max_seq_length");
            }
            int tail = full - (max - head);
            int[] keptIds = new int[max];
            int[] keptLabels = new int[max];
            System.arraycopy(ids, 0, keptIds, 0, head);
            System.arraycopy(labels, 0, keptLabels, 0, head);
            System.arraycopy(ids, tail, keptIds, head, max - head);
            System.arraycopy(labels, tail, keptLabels, head, max - head);
            keptLabels[0] = TokenizedExample.IGNORE;
            keptLabels[head] = TokenizedExample.IGNORE;
            ids = keptIds;
            labels = keptLabels;
            if (Arrays.stream(labels).allMatch(l -> l == TokenizedExample.IGNORE)) {
                return rejected(full, full + " tokens > max_seq_length " + max + " and truncating from the left leaves no trained token");
            }
        }
        return new Outcome(new TokenizedExample(ids, labels, e.source(), e.location(), full, dropped), full, null, null);
    }

    private static Outcome rejected(int full, String why) {
        return new Outcome(null, full, why, Problem.Kind.TOO_LONG);
    }

    /** Tokens of the rendered system message (the template's render of messages[0] alone), else a leading BOS. */
    private int systemHead(Example e, String text, Encoding enc) {
        var messages = e.conversation().messages();
        if (!messages.isEmpty() && messages.getFirst().role().equals("system")) {
            String sys = template.render(e.conversation().prefix(1), false, options.templateContext());
            if (text.startsWith(sys) && !sys.isEmpty()) {
                int n = 0;
                while (n < enc.size() && enc.starts()[n] < sys.length()) n++;
                return n;
            }
        }
        return leadingBos(enc);
    }

    private int leadingBos(Encoding enc) {
        int bos = tokenizer.specialTokens().bos();
        return enc.size() > 0 && bos >= 0 && enc.ids()[0] == bos ? 1 : 0;
    }

    private Encoding withEos(Encoding enc, int textLength) {
        int eos = tokenizer.specialTokens().eos();
        int n = enc.size();
        if (eos < 0 || (n > 0 && enc.ids()[n - 1] == eos)) return enc;
        int[] ids = Arrays.copyOf(enc.ids(), n + 1);
        int[] starts = Arrays.copyOf(enc.starts(), n + 1);
        int[] ends = Arrays.copyOf(enc.ends(), n + 1);
        ids[n] = eos;
        starts[n] = textLength;
        ends[n] = textLength;
        return new Encoding(ids, starts, ends);
    }

    /** Tokens overlapping [promptLength, end) of the text, and EOS (empty range at the end) when a completion exists. */
    private static int[] completionLabels(Encoding enc, int promptLength) {
        int textEnd = 0;
        for (int t = 0; t < enc.size(); t++) textEnd = Math.max(textEnd, enc.ends()[t]);
        int[] labels = LabelMasker.labels(enc, promptLength < textEnd ? List.of(new CharSpan(promptLength, textEnd)) : List.of());
        int last = enc.size() - 1;
        if (last > 0 && promptLength < textEnd && enc.starts()[last] == enc.ends()[last]) labels[last] = enc.ids()[last];
        return labels;
    }
}
