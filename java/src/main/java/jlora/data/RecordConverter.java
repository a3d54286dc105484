package jlora.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One record of a known {@link RecordShape} to an {@link Example}, or a {@link Rejected}
 * naming the first problem found. The conversions follow TRL's dataset formats: string
 * prompt-completion and text rows stay plain text; message rows become conversations.
 */
final class RecordConverter {
    private final ReaderOptions options;
    private final String fileName;

    RecordConverter(ReaderOptions options, String fileName) {
        this.options = options;
        this.fileName = fileName;
    }

    /** Column renames and fixed defaults from the options, applied before detection. */
    static void prepare(ObjectNode rec, ReaderOptions options) {
        for (Map.Entry<String, String> m : options.columns().entrySet()) {
            JsonNode v = rec.get(m.getValue());
            if (v != null && !m.getKey().equals(m.getValue())) {
                rec.remove(m.getValue());
                rec.set(m.getKey(), v);
            }
        }
        for (Map.Entry<String, String> d : options.defaults().entrySet()) {
            if (Fields.blank(Fields.text(rec.get(d.getKey())))) rec.put(d.getKey(), d.getValue());
        }
    }

    Example convert(ObjectNode rec, RecordShape shape, String file, long line) throws Rejected {
        String source = options.source() != null ? options.source()
                : !Fields.blank(Fields.text(rec.get("source"))) ? Fields.text(rec.get("source")) : fileName;
        return switch (shape) {
            case MESSAGES -> messages(rec, source, file, line);
            case PROMPT_COMPLETION -> promptCompletion(rec, source, file, line);
            case INSTRUCTION -> instruction(rec, source, file, line);
            case TEXT -> {
                String text = required(rec, "text");
                yield Example.plain(text, 0, source, file, line);
            }
            case KORQUAD -> korquad(rec, source, file, line);
        };
    }

    private Example messages(ObjectNode rec, String source, String file, long line) throws Rejected {
        List<Map<String, Object>> tools = MessageParser.tools(rec.get("tools"));
        String field = rec.has("messages") ? "messages" : "conversations";
        List<Message> msgs = MessageParser.parse(rec.get(field), field, MessageParser.toolNames(tools));
        return chat(msgs, tools, source, file, line);
    }

    private Example promptCompletion(ObjectNode rec, String source, String file, long line) throws Rejected {
        JsonNode p = rec.get("prompt"), c = rec.get("completion");
        if (p != null && p.isTextual() && c != null && c.isTextual()) {
            if (c.asText().isBlank()) throw new Rejected(Problem.Kind.EMPTY_CONTENT, "\"completion\" is empty");
            if (p.asText().isEmpty()) throw new Rejected(Problem.Kind.EMPTY_CONTENT, "\"prompt\" is empty");
            // TRL standard prompt-completion: no chat template, loss on the completion only.
            return Example.plain(p.asText() + c.asText(), p.asText().length(), source, file, line);
        }
        if (p != null && p.isArray() && c != null && c.isArray()) {
            List<Map<String, Object>> tools = MessageParser.tools(rec.get("tools"));
            Set<String> names = MessageParser.toolNames(tools);
            List<Message> msgs = new ArrayList<>(MessageParser.parse(p, "prompt", names));
            msgs.addAll(MessageParser.parse(c, "completion", names));
            return chat(msgs, tools, source, file, line);
        }
        if (p == null || c == null) throw new Rejected(Problem.Kind.MISSING_FIELD, "no \"" + (p == null ? "prompt" : "completion") + "\" field");
        throw new Rejected(Problem.Kind.MISSING_FIELD, "\"prompt\" and \"completion\" must both be strings or both be message lists");
    }

    private Example instruction(ObjectNode rec, String source, String file, long line) throws Rejected {
        String instruction = Fields.text(rec.get("instruction"));
        String input = Fields.text(rec.get("input"));
        if (instruction == null && input == null) throw new Rejected(Problem.Kind.MISSING_FIELD, "no \"instruction\" or \"input\" field");
        String output = required(rec, "output");
        // Alpaca joins instruction and input with a blank line; either may be absent.
        String user = Fields.blank(instruction) ? input : Fields.blank(input) ? instruction : instruction + "\n\n" + input;
        if (Fields.blank(user)) throw new Rejected(Problem.Kind.EMPTY_CONTENT, "\"instruction\" and \"input\" are both empty");
        List<Message> msgs = new ArrayList<>();
        String system = Fields.text(rec.get("system"));
        if (!Fields.blank(system)) msgs.add(Message.system(system));
        msgs.add(Message.user(user));
        String reasoning = Fields.text(rec.has("reasoning_content") ? rec.get("reasoning_content") : rec.get("reasoning"));
        Message answer = Message.assistant(output);
        msgs.add(Fields.blank(reasoning) ? answer : answer.withReasoning(reasoning));
        return chat(msgs, List.of(), source, file, line);
    }

    private Example korquad(ObjectNode rec, String source, String file, long line) throws Rejected {
        String id = Fields.text(rec.get("id"));
        String at = id == null ? "" : "question " + id + ": ";
        String context = Fields.text(rec.get("context"));
        String question = Fields.text(rec.get("question"));
        if (context == null || question == null) throw new Rejected(Problem.Kind.MISSING_FIELD, at + "no \"" + (context == null ? "context" : "question") + "\"");
        if (context.isBlank() || question.isBlank()) throw new Rejected(Problem.Kind.EMPTY_CONTENT, at + "empty " + (context.isBlank() ? "context" : "question"));
        JsonNode answers = rec.get("answers");
        if (answers == null || !answers.isArray() || answers.isEmpty()) throw new Rejected(Problem.Kind.MISSING_FIELD, at + "no \"answers\"");
        String answer = Fields.text(answers.get(0).get("text"));
        if (answer == null) throw new Rejected(Problem.Kind.MISSING_FIELD, at + "answers[0] has no \"text\"");
        if (answer.isBlank()) throw new Rejected(Problem.Kind.EMPTY_CONTENT, at + "answers[0].text is empty");
        List<Message> msgs = new ArrayList<>();
        msgs.add(Message.user(fill(options.questionPrompt(), context, question)));
        msgs.add(Message.assistant(answer));
        return chat(msgs, List.of(), source, file, line);
    }

    /** One pass over the template so a context that itself contains "{question}" is left alone. */
    static String fill(String template, String context, String question) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < template.length(); ) {
            if (template.startsWith("{context}", i)) { sb.append(context); i += 9; }
            else if (template.startsWith("{question}", i)) { sb.append(question); i += 10; }
            else sb.append(template.charAt(i++));
        }
        return sb.toString();
    }

    private Example chat(List<Message> msgs, List<Map<String, Object>> tools, String source, String file, long line) throws Rejected {
        if (msgs.stream().noneMatch(m -> m.role().equals("assistant"))) {
            throw new Rejected(Problem.Kind.NO_ASSISTANT_TURN, "no assistant turn, so nothing to train on");
        }
        if (options.systemPrompt() != null && !msgs.getFirst().role().equals("system")) {
            msgs = new ArrayList<>(msgs);
            msgs.addFirst(Message.system(options.systemPrompt()));
        }
        return Example.chat(new Conversation(msgs, tools, source), file, line);
    }

    private static String required(ObjectNode rec, String field) throws Rejected {
        String v = Fields.text(rec.get(field));
        if (v == null) throw new Rejected(Problem.Kind.MISSING_FIELD, "no \"" + field + "\" field");
        if (v.isBlank()) throw new Rejected(Problem.Kind.EMPTY_CONTENT, "\"" + field + "\" is empty");
        return v;
    }
}
