package jlora.infer;

import java.util.List;
import jlora.data.ToolCall;

/**
 * What came back: the visible text (tool-call blocks removed), the parsed tool calls, why it
 * stopped ("stop", "length", "tool_calls", "cancelled" — the OpenAI finish_reason values plus
 * cancelled), and the token counts for usage. {@code malformedToolCalls} holds the raw
 * {@code <tool_call>} blocks that did not parse; they stay in {@code text} verbatim.
 */
public record ChatResult(String text, List<ToolCall> toolCalls, String finishReason, int promptTokens,
                         int completionTokens, List<String> malformedToolCalls) {
    public ChatResult {
        toolCalls = List.copyOf(toolCalls);
        malformedToolCalls = malformedToolCalls == null ? List.of() : List.copyOf(malformedToolCalls);
    }

    /** The original five-field form: no malformed blocks. */
    public ChatResult(String text, List<ToolCall> toolCalls, String finishReason, int promptTokens, int completionTokens) {
        this(text, toolCalls, finishReason, promptTokens, completionTokens, List.of());
    }
}
