package jlora.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.UncheckedIOException;
import java.util.List;

/**
 * Examples as JSON Lines the readers read back to equal examples: chat examples in the
 * messages format ({@code {"messages", "tools", "source"}}, TRL's conversational layout), plain
 * ones as {@code {"prompt", "completion", "source"}} when they have a prompt, else
 * {@code {"text", "source"}}.
 */
public final class ExampleJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ExampleJson() {}

    public static ObjectNode toJson(Example e) {
        ObjectNode n;
        if (e.isChat()) {
            n = JSON.valueToTree(e.conversation());
        } else {
            n = JSON.createObjectNode();
            if (e.promptLength() > 0) {
                n.put("prompt", e.text().substring(0, e.promptLength()));
                n.put("completion", e.text().substring(e.promptLength()));
            } else {
                n.put("text", e.text());
            }
        }
        if (e.source() != null) n.put("source", e.source());
        return n;
    }

    /** One line per example, each ending in "\n". */
    public static String toJsonLines(List<Example> examples) {
        StringBuilder sb = new StringBuilder();
        try {
            for (Example e : examples) sb.append(JSON.writeValueAsString(toJson(e))).append('\n');
        } catch (JsonProcessingException err) {
            throw new UncheckedIOException(err);
        }
        return sb.toString();
    }
}
