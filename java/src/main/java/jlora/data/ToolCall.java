package jlora.data;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import jlora.UserError;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One function call an assistant turn makes. Serialises to the OpenAI / TRL shape
 * {@code {"id": ..., "type": "function", "function": {"name": ..., "arguments": {...}}}};
 * reads that shape, the flat {@code {"name", "arguments"}} shape some datasets use, and
 * arguments given as a JSON string (OpenAI's wire form) as well as an object (TRL's form).
 */
public record ToolCall(String id, String name, Map<String, Object> arguments) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public ToolCall {
        Objects.requireNonNull(name, "name");
        arguments = arguments == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(arguments));
    }

    @JsonCreator
    static ToolCall fromJson(@JsonProperty("id") String id,
                             @JsonProperty("type") String type,
                             @JsonProperty("function") Map<String, Object> function,
                             @JsonProperty("name") String name,
                             @JsonProperty("arguments") Object arguments) {
        if (type != null && !type.equals("function")) {
            throw new UserError("tool_calls[].type is \"" + type + "\"; only \"function\" calls are supported");
        }
        if (function != null) {
            name = (String) function.get("name");
            arguments = function.get("arguments");
        }
        if (name == null || name.isEmpty()) {
            throw new UserError("tool_calls[] entry has no function name: give {\"function\": {\"name\": ..., \"arguments\": {...}}}");
        }
        return new ToolCall(id, name, parseArguments(name, arguments));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parseArguments(String name, Object arguments) {
        if (arguments == null) return Map.of();
        if (arguments instanceof Map<?, ?> m) return (Map<String, Object>) m;
        if (arguments instanceof String s) {
            if (s.isBlank()) return Map.of();
            try {
                return JSON.readValue(s, new TypeReference<LinkedHashMap<String, Object>>() {});
            } catch (JsonProcessingException e) {
                throw new UserError("tool call \"" + name + "\": arguments is not a JSON object ("
                        + e.getOriginalMessage() + "); write it as an object or a string holding one");
            }
        }
        throw new UserError("tool call \"" + name + "\": arguments must be a JSON object, got " + arguments);
    }

    /** The OpenAI / TRL message shape; chat templates read {@code tool_call.function.name}. */
    @JsonValue
    public Map<String, Object> toJson() {
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", name);
        function.put("arguments", arguments);
        Map<String, Object> out = new LinkedHashMap<>();
        if (id != null) out.put("id", id);
        out.put("type", "function");
        out.put("function", function);
        return out;
    }
}
