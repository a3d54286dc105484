package jlora.data;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One turn of a conversation in the OpenAI / Hugging Face messages format: {@code role} is
 * system, user, assistant or tool (readers validate it); {@code reasoning_content} is the
 * thinking text Qwen3-style templates render inside {@code <think>}; {@code tool_call_id}
 * and {@code name} identify the call a tool message answers. Content given as OpenAI's list of
 * text parts reads as their concatenation.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record Message(
        @JsonProperty("role") String role,
        @JsonProperty("content") @JsonInclude(JsonInclude.Include.ALWAYS)
        @JsonDeserialize(using = ContentDeserializer.class) String content,
        @JsonProperty("tool_calls") List<ToolCall> toolCalls,
        @JsonProperty("reasoning_content") String reasoningContent,
        @JsonProperty("tool_call_id") String toolCallId,
        @JsonProperty("name") String name) {

    public Message {
        Objects.requireNonNull(role, "role");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public static Message system(String content) { return new Message("system", content, null, null, null, null); }
    public static Message user(String content) { return new Message("user", content, null, null, null, null); }
    public static Message assistant(String content) { return new Message("assistant", content, null, null, null, null); }
    public static Message assistant(String content, List<ToolCall> calls) { return new Message("assistant", content, calls, null, null, null); }
    public static Message tool(String content, String toolCallId, String name) { return new Message("tool", content, null, null, toolCallId, name); }

    public Message withReasoning(String reasoning) {
        return new Message(role, content, toolCalls, reasoning, toolCallId, name);
    }

    /**
     * The dict a chat template sees. Absent fields are left out (so {@code is defined} tests
     * behave as in Python); a null content becomes "" because real templates apply string
     * operations ({@code in}, {@code .split}) to every content.
     */
    public Map<String, Object> toTemplateMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content == null ? "" : content);
        if (!toolCalls.isEmpty()) m.put("tool_calls", toolCalls.stream().map(ToolCall::toJson).toList());
        if (reasoningContent != null) m.put("reasoning_content", reasoningContent);
        if (toolCallId != null) m.put("tool_call_id", toolCallId);
        if (name != null) m.put("name", name);
        return m;
    }
}
