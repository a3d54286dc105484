package jlora.data;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;
import java.util.Map;

/**
 * A training or evaluation example as every reader produces it: the messages, the tools
 * offered in this example (JSON-schema function specs as TRL and OpenAI write them:
 * {@code {"type": "function", "function": {"name", "description", "parameters"}}}), and the
 * file:line it came from (kept for reports and per-source weighting).
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record Conversation(
        @JsonProperty("messages") List<Message> messages,
        @JsonProperty("tools") List<Map<String, Object>> tools,
        @JsonProperty("source") String source) {

    public Conversation {
        messages = messages == null ? List.of() : List.copyOf(messages);
        tools = tools == null ? List.of() : List.copyOf(tools);
    }

    public static Conversation of(Message... messages) {
        return new Conversation(List.of(messages), List.of(), null);
    }

    public Conversation withTools(List<Map<String, Object>> tools) {
        return new Conversation(messages, tools, source);
    }

    /** The first {@code n} messages, same tools and source: what prefix rendering needs. */
    public Conversation prefix(int n) {
        return new Conversation(messages.subList(0, n), tools, source);
    }
}
