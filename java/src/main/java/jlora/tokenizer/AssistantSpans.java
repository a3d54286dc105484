package jlora.tokenizer;

import jlora.UserError;
import jlora.data.Conversation;
import jlora.data.Message;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds which characters of a rendered conversation belong to its assistant turns (what
 * TRL's assistant_only_loss trains: the turn's content and its end-of-turn token), by
 * rendering prefixes of the conversation and comparing them with the full render. No role
 * header or end token is searched for by its text.
 *
 * <p>For assistant message {@code i}:
 * <ul>
 *   <li>{@code before} = render(messages[0, i), add_generation_prompt=True): the prompt a model
 *       sees when it is asked to produce turn i;</li>
 *   <li>{@code through} = render(messages[0, i]): the conversation up to and including turn i.</li>
 * </ul>
 * <b>Assumption (prefix stability):</b> {@code before} is a prefix of {@code through}, and
 * {@code through} is a prefix of the full render, i.e. later messages never change how
 * earlier ones render. Then turn i is {@code [len(before), len(through))} of the full text,
 * minus the whitespace after its last visible character (the separator before the next turn,
 * e.g. the "\n" after {@code <|im_end|>}, which a model never generates because it stops at
 * the end token).
 *
 * <p><b>When a template breaks the assumption</b>, the turn gets no span and its index is
 * reported in {@link Result#unstableTurns()}. Qwen3 is the common case: a turn before the last
 * user query loses its {@code <think>} block once a later query exists, so the text that turn
 * has in the full render is not what the model produced after its generation prompt; training
 * on it would teach a format the model never emits. The last assistant turn is always stable
 * for such templates (nothing follows it), so at worst this degrades to "train the last
 * assistant turn only", and the caller can count and report the dropped turns.
 */
public final class AssistantSpans {
    private AssistantSpans() {}

    /**
     * @param text          the full render (add_generation_prompt=False)
     * @param spans         one span per stable assistant turn, in order
     * @param turns         the message index each span belongs to
     * @param unstableTurns assistant message indices that broke prefix stability (no span)
     */
    public record Result(String text, List<CharSpan> spans, List<Integer> turns, List<Integer> unstableTurns) {
        public boolean prefixStable() { return unstableTurns.isEmpty(); }
    }

    static Result find(ChatTemplate template, Conversation conversation, Map<String, Object> extra) {
        List<Message> messages = conversation.messages();
        String full = template.render(conversation, false, extra);
        List<CharSpan> spans = new ArrayList<>();
        List<Integer> turns = new ArrayList<>();
        List<Integer> unstable = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).role().equals("assistant")) continue;
            String before = renderPrefixOrEmpty(template, conversation, i, extra);
            String through = template.render(conversation.prefix(i + 1), false, extra);
            if (!through.startsWith(before) || !full.startsWith(through)) {
                unstable.add(i);
                continue;
            }
            int start = before.length();
            int end = through.length();
            while (end > start && Character.isWhitespace(full.charAt(end - 1))) end--;
            if (end > start) {
                spans.add(new CharSpan(start, end));
                turns.add(i);
            }
        }
        return new Result(full, List.copyOf(spans), List.copyOf(turns), List.copyOf(unstable));
    }

    /** The generation prompt for turn i; an assistant-first conversation starts from "". */
    private static String renderPrefixOrEmpty(ChatTemplate template, Conversation c, int i, Map<String, Object> extra) {
        if (i > 0) return template.render(c.prefix(i), true, extra);
        try {
            return template.render(c.prefix(0), true, extra);
        } catch (UserError e) {
            return "";  // many templates index messages[0]; nothing precedes the first turn anyway
        }
    }
}
