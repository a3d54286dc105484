package jlora.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import jlora.UserError;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a JSON message list into {@link Message}s, checking what TRL and the chat templates
 * rely on: a known role, non-empty content (an assistant turn may instead carry tool calls),
 * well-formed tool calls whose names are among the row's tools. ShareGPT's
 * {@code {"from": "human"|"gpt"|..., "value": ...}} turns are read too.
 */
final class MessageParser {
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");
    private static final Map<String, String> SHAREGPT_ROLES = Map.of(
            "human", "user", "gpt", "assistant", "system", "system", "observation", "tool", "function_response", "tool");

    private MessageParser() {}

    /** The row's {@code tools}: a list of function specs, or a JSON string holding one (some datasets store it so). */
    static List<Map<String, Object>> tools(JsonNode node) throws Rejected {
        if (node == null || node.isNull()) return List.of();
        if (node.isTextual()) {
            if (node.asText().isBlank()) return List.of();
            try {
                node = JsonLinesReader.JSON.readTree(node.asText());
            } catch (JsonProcessingException e) {
                throw new Rejected(Problem.Kind.INVALID_TOOL_CALL, "\"tools\" is a string but not valid JSON: " + e.getOriginalMessage());
            }
        }
        if (!node.isArray()) throw new Rejected(Problem.Kind.INVALID_TOOL_CALL, "\"tools\" must be a list of function specs");
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode t : node) {
            if (!t.isObject() || toolName(t) == null) {
                throw new Rejected(Problem.Kind.INVALID_TOOL_CALL, "\"tools\" entry without a function name: " + t
                        + "; write {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": {...}}}");
            }
            out.add(JsonLinesReader.JSON.convertValue(t, new TypeReference<LinkedHashMap<String, Object>>() {}));
        }
        return out;
    }

    static Set<String> toolNames(List<Map<String, Object>> tools) {
        Set<String> names = new HashSet<>();
        for (Map<String, Object> t : tools) names.add(toolName(JsonLinesReader.JSON.valueToTree(t)));
        return names;
    }

    private static String toolName(JsonNode t) {
        JsonNode n = t.path("function").path("name");
        if (n.isMissingNode()) n = t.path("name");
        return n.isTextual() && !n.asText().isEmpty() ? n.asText() : null;
    }

    /** @param field the field name, for messages ("messages", "prompt") */
    static List<Message> parse(JsonNode list, String field, Set<String> toolNames) throws Rejected {
        if (list == null || list.isNull()) throw new Rejected(Problem.Kind.MISSING_FIELD, "no \"" + field + "\" field");
        if (!list.isArray()) throw new Rejected(Problem.Kind.MISSING_FIELD, "\"" + field + "\" must be a list of {role, content} messages");
        if (list.isEmpty()) throw new Rejected(Problem.Kind.EMPTY_CONTENT, "\"" + field + "\" is an empty list");
        List<Message> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) out.add(message(list.get(i), field + "[" + i + "]", toolNames));
        return out;
    }

    private static Message message(JsonNode m, String where, Set<String> toolNames) throws Rejected {
        if (!m.isObject()) throw new Rejected(Problem.Kind.MISSING_FIELD, where + " is not a {role, content} object");
        String role;
        JsonNode contentNode;
        if (m.has("role")) {
            role = m.get("role").asText();
            contentNode = m.get("content");
        } else if (m.has("from")) {
            role = SHAREGPT_ROLES.getOrDefault(m.get("from").asText(), m.get("from").asText());
            contentNode = m.get("value");
        } else {
            throw new Rejected(Problem.Kind.MISSING_FIELD, where + " has no \"role\"");
        }
        if (!ROLES.contains(role)) {
            throw new Rejected(Problem.Kind.UNKNOWN_ROLE, where + ".role is \"" + role + "\"; use system, user, assistant or tool");
        }
        List<ToolCall> calls = toolCalls(m.get("tool_calls"), where, toolNames);
        if (!calls.isEmpty() && !role.equals("assistant")) {
            throw new Rejected(Problem.Kind.INVALID_TOOL_CALL, where + ": only assistant turns make tool calls, this one is " + role);
        }
        String content = Fields.text(contentNode);
        if ((content == null || content.isBlank()) && calls.isEmpty()) {
            throw new Rejected(Problem.Kind.EMPTY_CONTENT, where + " (" + role + ") has empty content");
        }
        String reasoning = Fields.text(m.has("reasoning_content") ? m.get("reasoning_content") : m.get("thinking"));
        return new Message(role, content, calls, reasoning, Fields.text(m.get("tool_call_id")), Fields.text(m.get("name")));
    }

    @SuppressWarnings("unchecked")
    private static List<ToolCall> toolCalls(JsonNode node, String where, Set<String> toolNames) throws Rejected {
        if (node == null || node.isNull()) return List.of();
        if (!node.isArray()) throw new Rejected(Problem.Kind.INVALID_TOOL_CALL, where + ".tool_calls must be a list");
        List<ToolCall> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode c = node.get(i);
            String at = where + ".tool_calls[" + i + "]";
            if (!c.isObject()) throw new Rejected(Problem.Kind.INVALID_TOOL_CALL, at + " is not an object");
            ToolCall call;
            try {
                Object args = c.has("function") ? null : JsonLinesReader.JSON.treeToValue(c.get("arguments"), Object.class);
                Map<String, Object> function = c.has("function")
                        ? JsonLinesReader.JSON.convertValue(c.get("function"), Map.class) : null;
                call = ToolCall.fromJson(Fields.text(c.get("id")), Fields.text(c.get("type")), function, Fields.text(c.get("name")), args);
            } catch (UserError | JsonProcessingException | IllegalArgumentException e) {
                throw new Rejected(Problem.Kind.INVALID_TOOL_CALL, at + ": " + e.getMessage());
            }
            if (!toolNames.isEmpty() && !toolNames.contains(call.name())) {
                throw new Rejected(Problem.Kind.UNKNOWN_TOOL, at + " calls \"" + call.name() + "\", which is not in this row's tools "
                        + toolNames.stream().sorted().toList());
            }
            out.add(call);
        }
        return out;
    }
}
