package jlora.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import jlora.data.Message;
import jlora.infer.ChatEngine;
import jlora.infer.ChatRequest;
import jlora.infer.ChatResult;

/**
 * A test double: answers each request with the result scripted for the last user message
 * (a fixed reply for anything unscripted), and records what it was asked.
 */
public final class ScriptedEngine implements ChatEngine {
    private final String id;
    private final Map<String, ChatResult> answers;
    private final ChatResult otherwise;
    public final List<ChatRequest> requests = new ArrayList<>();

    public ScriptedEngine(String id, Map<String, ChatResult> answers, ChatResult otherwise) {
        this.id = id;
        this.answers = Map.copyOf(answers);
        this.otherwise = otherwise;
    }

    public static ChatResult text(String text, int tokens) {
        return new ChatResult(text, List.of(), "stop", 10, tokens);
    }

    @Override
    public String modelId() {
        return id;
    }

    @Override
    public synchronized ChatResult generate(ChatRequest request, Consumer<String> onText, BooleanSupplier cancelled) {
        requests.add(request);
        String last = request.messages().reversed().stream().filter(m -> m.role().equals("user"))
                .map(Message::content).findFirst().orElse("");
        ChatResult r = answers.getOrDefault(last, otherwise);
        onText.accept(r.text());
        return r;
    }

    @Override
    public int promptTokens(ChatRequest request) {
        return 10;
    }
}
