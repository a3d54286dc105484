package jlora.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import jlora.UserError;
import jlora.infer.ChatEngine;

/**
 * An OpenAI-compatible HTTP server over one {@link ChatEngine}, on the JDK's built-in
 * HttpServer. Each exchange runs on its own virtual thread: a request spends most of its life
 * blocked (reading the body, waiting in the queue, writing tokens to a slow client), which costs
 * a virtual thread almost nothing; how many requests may exist at all is bounded by the
 * {@link RequestQueue}, not by a thread pool, so a full server answers 429 instead of letting
 * connections pile up unseen in an executor's queue.
 *
 * <p>Routes are matched exactly; nothing in a request names a file: the page at {@code /} is
 * one classpath resource read at start.
 */
public final class ChatServer implements AutoCloseable {
    static {
        // Each SSE event is a small write; with Nagle's algorithm on, the next one waits for the
        // client's delayed ACK (about 40 ms on Linux). The JDK server reads this once, at first use.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private final ServeConfig config;
    private final ChatEngine engine;
    private final ObjectMapper json;
    private final RequestQueue queue;
    private final CompletionEndpoint completions;
    private final byte[] page;
    private final byte[] apiKeyHash;
    private final long started = System.currentTimeMillis() / 1000;
    private final HttpServer http;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    /** Exchanges being handled, counted until their last byte is written, so shutdown lets the final answer out. */
    private final java.util.concurrent.atomic.AtomicInteger active = new java.util.concurrent.atomic.AtomicInteger();

    private ChatServer(ServeConfig config, ChatEngine engine, Heartbeat heartbeat) throws IOException {
        this.config = config;
        this.engine = engine;
        this.json = RequestParser.mapper(config.maxBodyBytes());
        this.queue = new RequestQueue(engine, config.maxConcurrent(), config.queueDepth());
        this.completions = new CompletionEndpoint(engine, queue, new RequestParser(json, config),
                new ResponseShapes(json), json, config, heartbeat);
        this.page = resource("index.html");
        this.apiKeyHash = config.apiKey() == null ? null : sha256(config.apiKey());
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 64);
        http.createContext("/", this::handle);
        http.setExecutor(threads);
    }

    /** Binds and starts serving; port 0 picks a free one (see {@link #port()}). */
    public static ChatServer start(ServeConfig config, ChatEngine engine) throws IOException {
        return start(config, engine, Heartbeat.DEFAULT);
    }

    /** With other heartbeat timing for non-streaming replies (tests: none, or from the first millisecond). */
    static ChatServer start(ServeConfig config, ChatEngine engine, Heartbeat heartbeat) throws IOException {
        ChatServer s = new ChatServer(config, engine, heartbeat);
        s.http.start();
        return s;
    }

    public int port() {
        return http.getAddress().getPort();
    }

    public String url() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + host + ":" + port();
    }

    /**
     * Stops taking requests (new ones get 503), lets those admitted finish for up to
     * {@code graceMillis}, then cancels what is left and closes the listener.
     */
    public void shutdown(long graceMillis) {
        queue.close();
        long deadline = System.currentTimeMillis() + graceMillis;
        while (active.get() > 0 && System.currentTimeMillis() < deadline) sleep(20);
        completions.cancelAll();
        long hard = System.currentTimeMillis() + 2000;
        while (active.get() > 0 && System.currentTimeMillis() < hard) sleep(20);
        http.stop(0);
        threads.shutdownNow();
    }

    /** Requests admitted and not finished: generating or waiting for a slot. */
    int inFlight() {
        return queue.inFlight();
    }

    /** Refuse new work without waiting (tests use it to see the 503 path). */
    void beginShutdown() {
        queue.close();
    }

    @Override
    public void close() {
        shutdown(0);
    }

    private void handle(HttpExchange ex) {
        active.incrementAndGet();
        try (ex) {
            try {
                route(ex);
            } catch (ApiError e) {
                sendError(ex, e);
            } catch (UncheckedIOException e) {
                // the client went away mid-response: nothing left to tell it
            } catch (UserError e) {
                // the engine refused this conversation (e.g. the chat template raised): the client can fix it
                sendError(ex, ApiError.invalid(e.getMessage(), null));
            } catch (RuntimeException e) {
                sendError(ex, ApiError.internal(e.toString()));
            }
        } finally {
            active.decrementAndGet();
        }
    }

    private void route(HttpExchange ex) {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        switch (path) {
            case "/" -> {
                allow(ex, "GET", path);
                Map<String, List<String>> h = Map.of(
                        "Content-Security-Policy", List.of("default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                + "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'"),
                        "X-Content-Type-Options", List.of("nosniff"),
                        "Referrer-Policy", List.of("no-referrer"));
                ex.getResponseHeaders().putAll(h);
                send(ex, 200, "text/html; charset=utf-8", page);
            }
            case "/health" -> {
                allow(ex, "GET", path);
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("status", queue.closed() ? "shutting_down" : "ok");
                body.put("model", engine.modelId());
                body.put("in_flight", queue.inFlight());
                sendJson(ex, queue.closed() ? 503 : 200, body);
            }
            case "/v1/models" -> {
                allow(ex, "GET", path);
                authorize(ex);
                sendJson(ex, 200, Map.of("object", "list", "data", List.of(modelObject())));
            }
            case "/v1/chat/completions" -> {
                allow(ex, "POST", path);
                authorize(ex);
                completions.handle(ex, readBody(ex), false);
            }
            case "/v1/completions" -> {
                allow(ex, "POST", path);
                authorize(ex);
                completions.handle(ex, readBody(ex), true);
            }
            default -> {
                if (path.startsWith("/v1/models/")) {
                    allow(ex, "GET", path);
                    authorize(ex);
                    String id = path.substring("/v1/models/".length());
                    if (!id.equals(engine.modelId())) {
                        throw new ApiError(404, "invalid_request_error", "model '" + id + "' does not exist; this server serves '"
                                + engine.modelId() + "'", "model", "model_not_found");
                    }
                    sendJson(ex, 200, modelObject());
                    return;
                }
                throw ApiError.notFound(path);
            }
        }
    }

    private Map<String, Object> modelObject() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", engine.modelId());
        m.put("object", "model");
        m.put("created", started);
        m.put("owned_by", "jlora");
        return m;
    }

    private static void allow(HttpExchange ex, String method, String path) {
        if (!ex.getRequestMethod().equals(method)) {
            ex.getResponseHeaders().set("Allow", method);
            throw ApiError.methodNotAllowed(ex.getRequestMethod(), path, method);
        }
    }

    /** Bearer key check; both sides hashed first so the comparison takes the same time for any key length. */
    private void authorize(HttpExchange ex) {
        if (apiKeyHash == null) return;
        String h = ex.getRequestHeaders().getFirst("Authorization");
        String given = h != null && h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).trim() : "";
        if (!MessageDigest.isEqual(apiKeyHash, sha256(given))) {
            ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            throw ApiError.unauthorized();
        }
    }

    private byte[] readBody(HttpExchange ex) {
        int limit = config.maxBodyBytes();
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            try {
                if (Long.parseLong(declared.trim()) > limit) throw ApiError.tooLarge(limit);
            } catch (NumberFormatException e) {
                throw ApiError.invalid("Content-Length is not a number", null);
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] body = in.readNBytes(limit + 1);
            if (body.length > limit) throw ApiError.tooLarge(limit);
            return body;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void sendJson(HttpExchange ex, int status, Object body) {
        try {
            send(ex, status, "application/json", json.writeValueAsBytes(body));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void sendError(HttpExchange ex, ApiError e) {
        if (e.status == 429) ex.getResponseHeaders().set("Retry-After", "1");
        try {
            sendJson(ex, e.status, e.body());
        } catch (RuntimeException ignored) {
            // headers already sent (a stream failed half-way) or the client is gone
        }
    }

    static void send(HttpExchange ex, int status, String contentType, byte[] body) {
        try {
            ex.getResponseHeaders().set("Content-Type", contentType);
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ChatServer.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("classpath resource jlora/serve/" + name + " is missing from the build");
            return in.readAllBytes();
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
