package jlora.infer;

import java.util.function.Consumer;

/**
 * One assistant turn's text path after the generator: a {@link ToolCallParser} keeps
 * {@code <tool_call>} blocks out of what {@code onText} sees, and {@link #result} assembles the
 * {@link ChatResult} (finish reason "tool_calls" when a stopped turn made calls).
 */
final class Turn {
    private final ToolCallParser tools = new ToolCallParser();
    private final StringBuilder visible = new StringBuilder();
    private final Consumer<String> onText;

    Turn(Consumer<String> onText) {
        this.onText = onText;
    }

    void text(String chunk) {
        show(tools.push(chunk));
    }

    ChatResult result(Generator.Output out) {
        show(tools.finish());
        String reason = out.finishReason().equals("stop") && !tools.calls().isEmpty() ? "tool_calls" : out.finishReason();
        return new ChatResult(visible.toString(), tools.calls(), reason, out.promptTokens(), out.tokens().length,
                tools.malformed());
    }

    private void show(String s) {
        if (s.isEmpty()) return;
        visible.append(s);
        onText.accept(s);
    }
}
