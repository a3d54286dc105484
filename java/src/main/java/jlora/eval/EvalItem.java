package jlora.eval;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import jlora.data.Example;
import jlora.data.Message;
import jlora.data.ToolCall;

/**
 * What one evaluation example asks of the model, decided from the conversation's shape, since
 * KorQuAD rows, tool rows and chats all arrive as messages (and prepare's eval.jsonl writes
 * them all that way):
 *
 * <ul>
 * <li>{@link Tool}: an assistant turn that makes tool calls; the prompt is every message
 *     before the first such turn and the reference is its calls.
 * <li>{@link Qa}: one question and one answer (system turns aside, no tools) from a QA source:
 *     KorQuAD rows as the reader makes them; the reference is the answer text. A single-turn
 *     chat row has the same shape, so the source decides: by default ({@link #QA_SOURCE}) a
 *     source whose name mentions "qa" or "korquad", as the reader names KorQuAD rows after
 *     their file (qa_korquad_ko.json, KorQuAD_v1.0_dev.json) and prepare keeps that name.
 * <li>{@link Chat}: anything else, scored by loss only.
 * </ul>
 * Every chat example also counts in the eval loss, whatever its kind.
 */
public sealed interface EvalItem {
    Example example();

    record Qa(Example example, List<Message> prompt, List<String> answers) implements EvalItem {}

    record Tool(Example example, List<Message> prompt, List<Map<String, Object>> tools, List<ToolCall> expected)
            implements EvalItem {}

    record Chat(Example example) implements EvalItem {}

    /** The default test for a QA source name. */
    Predicate<String> QA_SOURCE = s -> s != null && (s.toLowerCase(Locale.ROOT).contains("qa")
            || s.toLowerCase(Locale.ROOT).contains("korquad"));

    static EvalItem of(Example e, Predicate<String> qaSource) {
        if (!e.isChat()) return new Chat(e);
        List<Message> msgs = e.conversation().messages();
        for (int i = 0; i < msgs.size(); i++) {
            Message m = msgs.get(i);
            if (m.role().equals("assistant") && !m.toolCalls().isEmpty()) {
                return new Tool(e, msgs.subList(0, i), e.conversation().tools(), m.toolCalls());
            }
        }
        List<Message> turns = msgs.stream().filter(m -> !m.role().equals("system")).toList();
        if (qaSource.test(e.source()) && e.conversation().tools().isEmpty() && turns.size() == 2 && turns.get(0).role().equals("user")
                && turns.get(1).role().equals("assistant") && turns.get(1).content() != null
                && !turns.get(1).content().isBlank()) {
            return new Qa(e, msgs.subList(0, msgs.size() - 1), List.of(turns.get(1).content()));
        }
        return new Chat(e);
    }
}
