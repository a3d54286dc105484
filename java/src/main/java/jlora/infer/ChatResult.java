package jlora.infer;

import java.util.List;
import jlora.data.ToolCall;

/**
 * What came back: the visible text (tool-call blocks removed), the parsed tool calls, why it
 * stopped ("stop", "length", "tool_calls", "cancelled" — the OpenAI finish_reason values plus
 * cancelled), and the token counts for usage.
 */
public record ChatResult(String text, List<ToolCall> toolCalls, String finishReason, int promptTokens,
                         int completionTokens) {
    public ChatResult {
        toolCalls = List.copyOf(toolCalls);
    }
}
