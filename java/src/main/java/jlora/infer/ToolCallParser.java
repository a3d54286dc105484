package jlora.infer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jlora.data.ToolCall;

/**
 * Splits generated text into visible content and Hermes-style tool calls, the form Qwen2.5 /
 * Qwen3 chat templates teach: {@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>}.
 * Text outside blocks is content. A block whose body is not a JSON object with a string
 * "name" stays in the content, verbatim, and is listed in {@link #malformed()}. A block left
 * open at the end is parsed the same way (a model may stop on EOS before closing it), as
 * vLLM's hermes parser does.
 *
 * <p>Streaming: {@link #push} returns only text that can no longer turn into a tag, so a
 * partial {@code <tool_c} is held back until the next chunk decides it.
 */
public final class ToolCallParser {
    static final String OPEN = "<tool_call>";
    static final String CLOSE = "</tool_call>";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final StringBuilder buffer = new StringBuilder();
    private final List<ToolCall> calls = new ArrayList<>();
    private final List<String> malformed = new ArrayList<>();
    private boolean inside;

    /** What a whole text holds. */
    public record Result(String content, List<ToolCall> calls, List<String> malformed) {}

    public static Result parse(String text) {
        ToolCallParser p = new ToolCallParser();
        String content = p.push(text) + p.finish();
        return new Result(content, p.calls(), p.malformed());
    }

    /** Adds a chunk of generated text; returns the visible text it completes. */
    public String push(String chunk) {
        buffer.append(chunk);
        StringBuilder out = new StringBuilder();
        while (true) {
            if (!inside) {
                int at = buffer.indexOf(OPEN);
                if (at < 0) {
                    int keep = partialSuffix(buffer, OPEN);
                    out.append(buffer, 0, buffer.length() - keep);
                    buffer.delete(0, buffer.length() - keep);
                    return out.toString();
                }
                out.append(buffer, 0, at);
                buffer.delete(0, at + OPEN.length());
                inside = true;
            } else {
                int at = buffer.indexOf(CLOSE);
                if (at < 0) return out.toString();
                String body = buffer.substring(0, at);
                buffer.delete(0, at + CLOSE.length());
                inside = false;
                out.append(block(body, true));
            }
        }
    }

    /** Ends the stream: releases held text and settles a block left open. */
    public String finish() {
        String rest = buffer.toString();
        buffer.setLength(0);
        if (!inside) return rest;
        inside = false;
        return block(rest, false);
    }

    public List<ToolCall> calls() {
        return List.copyOf(calls);
    }

    /** Raw text of blocks that did not parse, in order (they are also in the content). */
    public List<String> malformed() {
        return List.copyOf(malformed);
    }

    /** Records the call and returns "", or returns the block verbatim when it does not parse. */
    private String block(String body, boolean closed) {
        ToolCall call = toolCall(body.strip(), calls.size());
        if (call != null) {
            calls.add(call);
            return "";
        }
        String raw = OPEN + body + (closed ? CLOSE : "");
        malformed.add(raw);
        return raw;
    }

    @SuppressWarnings("unchecked")
    private static ToolCall toolCall(String json, int index) {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            return null;
        }
        if (node == null || !node.isObject() || !node.path("name").isTextual() || node.get("name").asText().isEmpty()) {
            return null;
        }
        JsonNode args = node.get("arguments");
        if (args == null) args = node.get("parameters"); // some fine-tunes write Llama 3's key
        Map<String, Object> map;
        if (args == null || args.isNull()) {
            map = Map.of();
        } else if (args.isObject()) {
            map = JSON.convertValue(args, LinkedHashMap.class);
        } else if (args.isTextual()) {
            try {
                JsonNode inner = JSON.readTree(args.asText());
                if (inner == null || !inner.isObject()) return null;
                map = JSON.convertValue(inner, LinkedHashMap.class);
            } catch (JsonProcessingException e) {
                return null;
            }
        } else {
            return null;
        }
        return new ToolCall("call_" + index, node.get("name").asText(), map);
    }

    /** Length of the longest suffix of {@code s} that is a proper prefix of {@code tag}. */
    static int partialSuffix(CharSequence s, String tag) {
        for (int k = Math.min(tag.length() - 1, s.length()); k > 0; k--) {
            boolean match = true;
            for (int i = 0; i < k && match; i++) match = s.charAt(s.length() - k + i) == tag.charAt(i);
            if (match) return k;
        }
        return 0;
    }
}
