package jlora.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import jlora.data.Message;
import jlora.data.ToolCall;
import jlora.infer.ChatEngine;
import jlora.infer.ChatRequest;
import jlora.infer.ChatResult;
import jlora.infer.SamplingParams;

/**
 * The conversation state of `jlora chat`: the system prompt and the turns so far, each reply
 * streamed to {@code out} as it is generated and then kept in the history (with its tool
 * calls) so the next turn sees it. Reads lines until /exit or end of input. {@link #interrupt}
 * (Ctrl-C in the terminal) stops the reply being generated; the part shown stays in the history.
 */
final class ChatSession {
    private final ChatEngine engine;
    private final SamplingParams sampling;
    private final PrintStream out;
    private final List<Message> history = new ArrayList<>();
    private final AtomicBoolean interrupted = new AtomicBoolean();
    private final AtomicBoolean generating = new AtomicBoolean();
    private String system;

    ChatSession(ChatEngine engine, SamplingParams sampling, String system, PrintStream out) {
        this.engine = engine;
        this.sampling = sampling;
        this.system = system;
        this.out = out;
    }

    /** Stops the reply in progress; returns false when none is (the caller may then exit). */
    boolean interrupt() {
        if (!generating.get()) return false;
        interrupted.set(true);
        return true;
    }

    List<Message> history() {
        return List.copyOf(history);
    }

    void loop(BufferedReader in) {
        while (true) {
            out.print("> ");
            out.flush();
            String line;
            try {
                line = in.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (line == null || line.strip().equals("/exit")) {
                if (line == null) out.println();
                return;
            }
            String cmd = line.strip();
            if (cmd.isEmpty()) continue;
            if (cmd.equals("/reset")) {
                history.clear();
                out.println("(history cleared)");
            } else if (cmd.equals("/system") || cmd.startsWith("/system ")) {
                String text = cmd.substring("/system".length()).strip();
                system = text.isEmpty() ? null : text;
                out.println(system == null ? "(system prompt removed)" : "(system prompt set)");
            } else if (cmd.startsWith("/")) {
                out.println("(unknown command " + cmd.split("\\s")[0] + "; use /reset, /system TEXT or /exit)");
            } else {
                turn(line);
            }
        }
    }

    /** One user message and the streamed reply. */
    ChatResult turn(String userText) {
        history.add(Message.user(userText));
        List<Message> messages = new ArrayList<>();
        if (system != null) messages.add(Message.system(system));
        messages.addAll(history);
        AtomicBoolean any = new AtomicBoolean();
        interrupted.set(false);
        generating.set(true);
        ChatResult r;
        try {
            r = engine.generate(new ChatRequest(messages, List.of(), sampling, null), text -> {
                any.set(true);
                out.print(text);
                out.flush();
            }, interrupted::get);
        } finally {
            generating.set(false);
        }
        for (ToolCall c : r.toolCalls()) out.print((any.getAndSet(true) ? "\n" : "") + "[tool call] " + c.name() + " " + c.arguments());
        out.println();
        if (r.finishReason().equals("cancelled")) out.println("(stopped)");
        if (r.finishReason().equals("length")) out.println("(reply cut at " + r.completionTokens()
                + " tokens: --max-new-tokens or the model's context length was reached)");
        history.add(Message.assistant(r.text(), r.toolCalls()));
        return r;
    }
}
