package jlora.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import jlora.UserError;
import jlora.infer.ChatEngine;
import jlora.infer.ChatResult;

/**
 * POST /v1/chat/completions and /v1/completions: validate, check the prompt length, take a
 * queue place, generate, answer as one JSON object or as an SSE stream.
 *
 * <p>Client disconnects: com.sun.net.httpserver does not read a connection while its exchange
 * is handled and gives no access to the socket, so a hang-up shows only as a failed write. A
 * streaming response writes a token (or a ping every second while queued) and cancels its
 * generation when that fails. A non-streaming response that is not ready within
 * {@link Heartbeat#afterMillis} writes JSON whitespace as a heartbeat through a
 * {@link HeartbeatResponse} and cancels the same way; every 4xx check happens before that, so
 * those keep their status.
 */
final class CompletionEndpoint {
    private static final long PING_MILLIS = 1000;

    private final ChatEngine engine;
    private final RequestQueue queue;
    private final RequestParser parser;
    private final ResponseShapes shapes;
    private final ObjectMapper json;
    private final ServeConfig config;
    private final Heartbeat heartbeat;
    private volatile boolean cancelAll;

    CompletionEndpoint(ChatEngine engine, RequestQueue queue, RequestParser parser, ResponseShapes shapes,
                       ObjectMapper json, ServeConfig config, Heartbeat heartbeat) {
        this.engine = engine;
        this.queue = queue;
        this.parser = parser;
        this.shapes = shapes;
        this.json = json;
        this.config = config;
        this.heartbeat = heartbeat;
    }

    /** Shutdown's last step: every running generation stops at its next token. */
    void cancelAll() {
        cancelAll = true;
    }

    void handle(HttpExchange ex, byte[] body, boolean text) {
        ParsedRequest req = text ? parser.completion(body) : parser.chat(body);
        // Admission first: a flood is refused before it costs a chat-template render each.
        try (RequestQueue.Ticket ticket = queue.admit()) {
            int promptTokens = engine.promptTokens(req.chat());
            if (promptTokens > config.maxPromptTokens()) {
                throw ApiError.invalid("the prompt is " + promptTokens + " tokens after the chat template; this server takes at most "
                        + config.maxPromptTokens() + ". Shorten the conversation", text ? "prompt" : "messages", "context_length_exceeded");
            }
            // The engine would refuse it too, but only once a slot is free: maybe after a heartbeat fixed the status at 200.
            if (promptTokens >= engine.contextLength()) {
                throw ApiError.invalid("the prompt is " + promptTokens + " tokens after the chat template; the model's context holds "
                        + engine.contextLength() + " (prompt and reply together). Shorten the conversation",
                        text ? "prompt" : "messages", "context_length_exceeded");
            }
            if (req.stream()) stream(ex, req, ticket);
            else whole(ex, req, ticket);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.shuttingDown();
        }
    }

    private void whole(HttpExchange ex, ParsedRequest req, RequestQueue.Ticket ticket) throws InterruptedException {
        HeartbeatResponse response = new HeartbeatResponse(ex, heartbeat);
        try {
            ChatResult r;
            try {
                r = ticket.generate(req.chat(), s -> { }, () -> response.clientGone() || cancelAll, () -> { });
            } catch (RuntimeException e) {
                // before any heartbeat: ChatServer answers with the error's own status, as for any request
                if (!response.stop()) throw e;
                response.send(200, bytes(ApiError.from(e).body()));
                return;
            }
            if (response.clientGone()) return; // nobody to answer; the generation stopped at its next token
            if (r == null || r.finishReason().equals("cancelled")) {
                // only shutdown cancels a generation whose client is still there: a cut-off reply is not an answer
                ApiError e = ApiError.shuttingDown();
                response.send(e.status, bytes(e.body()));
                return;
            }
            long created = System.currentTimeMillis() / 1000;
            Object out = req.textCompletion()
                    ? shapes.textCompletion(ResponseShapes.newId("cmpl-"), created, engine.modelId(), r.text(),
                            ResponseShapes.finishReason(r), r)
                    : shapes.chatCompletion(ResponseShapes.newId("chatcmpl-"), created, engine.modelId(), r);
            response.send(200, bytes(out));
        } finally {
            response.stop(); // however this ends (an interrupt, an Error), no heartbeat outlives the exchange
        }
    }

    private byte[] bytes(Object body) {
        try {
            return json.writeValueAsBytes(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void stream(HttpExchange ex, ParsedRequest req, RequestQueue.Ticket ticket) throws InterruptedException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.getResponseHeaders().set("X-Accel-Buffering", "no");
        try {
            ex.sendResponseHeaders(200, 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SseStream sse = new SseStream(ex.getResponseBody(), json);
        String id = ResponseShapes.newId(req.textCompletion() ? "cmpl-" : "chatcmpl-");
        long created = System.currentTimeMillis() / 1000;
        String model = engine.modelId();
        if (!req.textCompletion()) {
            sse.send(shapes.chatChunk(id, created, model, Map.of("role", "assistant", "content", ""), null));
        }
        Consumer<String> onText = s -> {
            if (s.isEmpty()) return;
            sse.send(req.textCompletion()
                    ? shapes.textCompletion(id, created, model, s, null, null)
                    : shapes.chatChunk(id, created, model, ResponseShapes.delta("content", s), null));
        };
        long[] lastPing = {System.currentTimeMillis()};
        Runnable whileQueued = () -> {
            long now = System.currentTimeMillis();
            if (now - lastPing[0] >= PING_MILLIS) {
                lastPing[0] = now;
                sse.ping();
            }
        };
        ChatResult r;
        try {
            r = ticket.generate(req.chat(), onText, () -> sse.broken() || cancelAll, whileQueued);
        } catch (UserError e) {
            // Headers are out: the error goes as an event, in the shape OpenAI streams use.
            sse.send(ApiError.invalid(e.getMessage(), null).body());
            return;
        } catch (RuntimeException e) {
            sse.send(ApiError.internal(e.toString()).body());
            return;
        }
        if (sse.broken()) return;
        if (r == null || r.finishReason().equals("cancelled")) {
            sse.send(ApiError.shuttingDown().body());
            return;
        }
        String finish = ResponseShapes.finishReason(r);
        if (req.textCompletion()) {
            sse.send(shapes.textCompletion(id, created, model, "", finish, null));
            if (req.includeUsage()) sse.send(shapes.usageChunk(id, created, model, "text_completion", r));
        } else {
            if (!r.toolCalls().isEmpty()) {
                sse.send(shapes.chatChunk(id, created, model,
                        ResponseShapes.delta("tool_calls", shapes.toolCalls(r.toolCalls(), true)), null));
            }
            sse.send(shapes.chatChunk(id, created, model, Map.of(), finish));
            if (req.includeUsage()) sse.send(shapes.usageChunk(id, created, model, "chat.completion.chunk", r));
        }
        sse.done();
    }
}
