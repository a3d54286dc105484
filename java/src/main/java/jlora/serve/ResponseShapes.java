package jlora.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import jlora.data.ToolCall;
import jlora.infer.ChatResult;

/**
 * The OpenAI response objects: chat.completion, chat.completion.chunk, text_completion and
 * their usage block. Tool-call arguments go out as a JSON string, as OpenAI sends them.
 */
final class ResponseShapes {
    private final ObjectMapper json;

    ResponseShapes(ObjectMapper json) {
        this.json = json;
    }

    static String newId(String prefix) {
        return prefix + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }

    /** OpenAI finish reasons; "cancelled" only reaches a client if it stayed to read it. */
    static String finishReason(ChatResult r) {
        if (!r.toolCalls().isEmpty()) return "tool_calls";
        return r.finishReason().equals("cancelled") ? "stop" : r.finishReason();
    }

    Map<String, Object> chatCompletion(String id, long created, String model, ChatResult r) {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("role", "assistant");
        message.put("content", r.toolCalls().isEmpty() || !r.text().isEmpty() ? r.text() : null);
        if (!r.toolCalls().isEmpty()) message.put("tool_calls", toolCalls(r.toolCalls(), false));
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("message", message);
        choice.put("logprobs", null);
        choice.put("finish_reason", finishReason(r));
        Map<String, Object> out = head(id, "chat.completion", created, model);
        out.put("choices", List.of(choice));
        out.put("usage", usage(r));
        return out;
    }

    Map<String, Object> chatChunk(String id, long created, String model, Map<String, Object> delta, String finishReason) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("delta", delta);
        choice.put("logprobs", null);
        choice.put("finish_reason", finishReason);
        Map<String, Object> out = head(id, "chat.completion.chunk", created, model);
        out.put("choices", List.of(choice));
        return out;
    }

    /** The chunk OpenAI sends last when stream_options.include_usage is set: no choices, only usage. */
    Map<String, Object> usageChunk(String id, long created, String model, String object, ChatResult r) {
        Map<String, Object> out = head(id, object, created, model);
        out.put("choices", List.of());
        out.put("usage", usage(r));
        return out;
    }

    Map<String, Object> textCompletion(String id, long created, String model, String text, String finishReason, ChatResult usage) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("text", text);
        choice.put("index", 0);
        choice.put("logprobs", null);
        choice.put("finish_reason", finishReason);
        Map<String, Object> out = head(id, "text_completion", created, model);
        out.put("choices", List.of(choice));
        if (usage != null) out.put("usage", usage(usage));
        return out;
    }

    static Map<String, Object> delta(String key, Object value) {
        Map<String, Object> d = new HashMap<>();
        d.put(key, value);
        return d;
    }

    /** With {@code indexed}, the streaming form: each call carries its position in the list. */
    List<Map<String, Object>> toolCalls(List<ToolCall> calls, boolean indexed) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            ToolCall c = calls.get(i);
            Map<String, Object> fn = new LinkedHashMap<>();
            fn.put("name", c.name());
            fn.put("arguments", argumentsString(c));
            Map<String, Object> call = new LinkedHashMap<>();
            if (indexed) call.put("index", i);
            call.put("id", c.id() != null ? c.id() : newId("call_"));
            call.put("type", "function");
            call.put("function", fn);
            out.add(call);
        }
        return out;
    }

    private String argumentsString(ToolCall c) {
        try {
            return json.writeValueAsString(c.arguments());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("tool call arguments of " + c.name() + " do not serialise", e);
        }
    }

    static Map<String, Object> usage(ChatResult r) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("prompt_tokens", r.promptTokens());
        u.put("completion_tokens", r.completionTokens());
        u.put("total_tokens", r.promptTokens() + r.completionTokens());
        return u;
    }

    private static Map<String, Object> head(String id, String object, long created, String model) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", id);
        out.put("object", object);
        out.put("created", created);
        out.put("model", model);
        out.put("system_fingerprint", null);
        return out;
    }
}
