package jlora.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every endpoint against the OpenAI API reference shapes (chat.completion, chat.completion.chunk
 * SSE ending in [DONE], text_completion, model list, error objects), with the deterministic
 * {@link ScriptedEngine}: its {@link ScriptedEngine#replyTo} is the expected text, its
 * code-point count the expected completion_tokens, its promptTokens the expected prompt_tokens.
 */
class ChatServerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient CLIENT = HttpClient.newHttpClient();
    static ScriptedEngine engine;
    static ChatServer server;

    @BeforeAll
    static void start() throws Exception {
        engine = new ScriptedEngine(0);
        // Heartbeats off: these tests pin each reply's own status, which a heartbeat would fix at 200
        // if a slow machine stalled a reply past its start (ServeDisconnectTest covers heartbeats).
        server = ChatServer.start(ServeConfig.defaults().withPort(0).withLimits(4096, 8, 64, 200), engine, Heartbeat.OFF);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<String> post(ChatServer s, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (headers.length > 0) b.headers(headers);
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    static HttpResponse<String> get(ChatServer s, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url() + path)).GET();
        if (headers.length > 0) b.headers(headers);
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    static String chat(String user, String extra) {
        return "{\"messages\": [{\"role\": \"system\", \"content\": \"짧게 답하세요.\"}, {\"role\": \"user\", \"content\": "
                + quote(user) + "}]" + (extra.isEmpty() ? "" : ", " + extra) + "}";
    }

    static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The JSON of each "data:" event, in order; "[DONE]" kept as text. */
    static List<String> events(String sse) {
        List<String> out = new ArrayList<>();
        for (String frame : sse.split("\n\n")) {
            for (String line : frame.split("\n")) if (line.startsWith("data: ")) out.add(line.substring(6));
        }
        return out;
    }

    static int promptTokensOf(String system, String user) {
        return 4 + system.codePointCount(0, system.length()) + 4 + user.codePointCount(0, user.length());
    }

    static void assertError(HttpResponse<String> r, int status, String type, String param) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertTrue(e != null && e.get("message").isTextual() && !e.get("message").asText().isEmpty(), r.body());
        assertEquals(type, e.get("type").asText(), r.body());
        assertTrue(e.has("param") && e.has("code"), "error object lacks param/code: " + r.body());
        if (param != null) assertEquals(param, e.get("param").asText(), r.body());
    }

    @Test
    void healthModelsAndPage() throws Exception {
        HttpResponse<String> h = get(server, "/health");
        assertEquals(200, h.statusCode());
        assertEquals("ok", JSON.readTree(h.body()).get("status").asText());

        JsonNode models = JSON.readTree(get(server, "/v1/models").body());
        assertEquals("list", models.get("object").asText());
        assertEquals(engine.modelId(), models.get("data").get(0).get("id").asText());
        assertEquals("model", models.get("data").get(0).get("object").asText());
        assertEquals(200, get(server, "/v1/models/" + engine.modelId()).statusCode());
        assertError(get(server, "/v1/models/gpt-4"), 404, "invalid_request_error", "model");

        HttpResponse<String> page = get(server, "/");
        assertEquals(200, page.statusCode());
        assertEquals("text/html; charset=utf-8", page.headers().firstValue("Content-Type").orElse(""));
        assertTrue(page.body().contains("<html lang=\"ko\">") && page.body().contains("메시지를 입력하세요"),
                "page is not the UTF-8 chat page");
        assertFalse(page.body().contains("https://"), "page loads nothing from outside");
    }

    @Test
    void chatCompletionWhole() throws Exception {
        String user = "서울의 날씨는?";
        HttpResponse<String> r = post(server, "/v1/chat/completions", chat(user, "\"temperature\": 0, \"seed\": 7"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = JSON.readTree(r.body());
        assertEquals("chat.completion", j.get("object").asText());
        assertTrue(j.get("id").asText().startsWith("chatcmpl-"));
        assertEquals(engine.modelId(), j.get("model").asText());
        JsonNode choice = j.get("choices").get(0);
        assertEquals("assistant", choice.get("message").get("role").asText());
        assertEquals(ScriptedEngine.replyTo(user), choice.get("message").get("content").asText());
        assertEquals("stop", choice.get("finish_reason").asText());
        int completion = ScriptedEngine.replyTo(user).codePointCount(0, ScriptedEngine.replyTo(user).length());
        int prompt = promptTokensOf("짧게 답하세요.", user);
        assertEquals(prompt, j.get("usage").get("prompt_tokens").asInt());
        assertEquals(completion, j.get("usage").get("completion_tokens").asInt());
        assertEquals(prompt + completion, j.get("usage").get("total_tokens").asInt());
    }

    @Test
    void chatCompletionStream() throws Exception {
        String user = "부산 여행 추천";
        HttpResponse<String> r = post(server, "/v1/chat/completions",
                chat(user, "\"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> ev = events(r.body());
        assertEquals("[DONE]", ev.getLast(), "stream must end with [DONE]");
        List<JsonNode> chunks = new ArrayList<>();
        for (String e : ev.subList(0, ev.size() - 1)) chunks.add(JSON.readTree(e));
        String id = chunks.getFirst().get("id").asText();
        for (JsonNode c : chunks) {
            assertEquals("chat.completion.chunk", c.get("object").asText());
            assertEquals(id, c.get("id").asText(), "every chunk carries the same id");
        }
        assertEquals("assistant", chunks.getFirst().get("choices").get(0).get("delta").get("role").asText());
        StringBuilder text = new StringBuilder();
        int contentChunks = 0;
        for (JsonNode c : chunks.subList(1, chunks.size() - 2)) {
            JsonNode choice = c.get("choices").get(0);
            assertTrue(choice.get("finish_reason").isNull());
            text.append(choice.get("delta").get("content").asText());
            contentChunks++;
        }
        String expected = ScriptedEngine.replyTo(user);
        assertEquals(expected, text.toString());
        assertEquals(expected.codePointCount(0, expected.length()), contentChunks, "one chunk per token");
        JsonNode last = chunks.get(chunks.size() - 2).get("choices").get(0);
        assertEquals("stop", last.get("finish_reason").asText());
        assertTrue(last.get("delta").isEmpty());
        JsonNode usage = chunks.getLast();
        assertTrue(usage.get("choices").isEmpty(), "usage chunk has no choices");
        assertEquals(contentChunks, usage.get("usage").get("completion_tokens").asInt());

        // without include_usage: no usage chunk, the finish chunk comes right before [DONE]
        List<String> plain = events(post(server, "/v1/chat/completions", chat(user, "\"stream\": true")).body());
        assertEquals("stop", JSON.readTree(plain.get(plain.size() - 2)).get("choices").get(0).get("finish_reason").asText());
    }

    static final String TOOLS = "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
            + "\"description\": \"날씨 조회\", \"parameters\": {\"type\": \"object\", \"properties\": {\"query\": {\"type\": \"string\"}}}}}]";

    @Test
    void toolCalls() throws Exception {
        String user = "내일 서울 날씨";
        JsonNode j = JSON.readTree(post(server, "/v1/chat/completions", chat(user, TOOLS)).body());
        JsonNode choice = j.get("choices").get(0);
        assertEquals("tool_calls", choice.get("finish_reason").asText());
        assertTrue(choice.get("message").get("content").isNull(), "content is null when only tools are called");
        JsonNode call = choice.get("message").get("tool_calls").get(0);
        assertTrue(call.get("id").asText().startsWith("call_"));
        assertEquals("function", call.get("type").asText());
        assertEquals("get_weather", call.get("function").get("name").asText());
        assertTrue(call.get("function").get("arguments").isTextual(), "arguments is a JSON string");
        assertEquals(Map.of("query", user), JSON.readValue(call.get("function").get("arguments").asText(), Map.class));

        List<String> ev = events(post(server, "/v1/chat/completions", chat(user, TOOLS + ", \"stream\": true")).body());
        JsonNode delta = JSON.readTree(ev.get(ev.size() - 3)).get("choices").get(0).get("delta");
        assertEquals(0, delta.get("tool_calls").get(0).get("index").asInt());
        assertEquals("get_weather", delta.get("tool_calls").get(0).get("function").get("name").asText());
        assertEquals("tool_calls", JSON.readTree(ev.get(ev.size() - 2)).get("choices").get(0).get("finish_reason").asText());

        // tool_choice "none" hides the tools: a text answer
        JsonNode none = JSON.readTree(post(server, "/v1/chat/completions", chat(user, TOOLS + ", \"tool_choice\": \"none\"")).body());
        assertEquals(ScriptedEngine.replyTo(user), none.get("choices").get(0).get("message").get("content").asText());
        // a named choice must name an offered tool
        assertError(post(server, "/v1/chat/completions", chat(user, TOOLS
                + ", \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"nope\"}}")), 400, "invalid_request_error", "tool_choice");
        // an assistant turn with tool_calls and a tool answer are accepted back as history
        String history = "{\"messages\": [{\"role\": \"user\", \"content\": \"날씨\"}, {\"role\": \"assistant\", \"content\": null, "
                + "\"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                + "\"arguments\": \"{\\\"query\\\": \\\"서울\\\"}\"}}]}, {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"맑음\"}]}";
        assertEquals(200, post(server, "/v1/chat/completions", history).statusCode());
    }

    @Test
    void maxTokensAndStop() throws Exception {
        String user = "질문";
        String expected = ScriptedEngine.replyTo(user);
        JsonNode j = JSON.readTree(post(server, "/v1/chat/completions", chat(user, "\"max_completion_tokens\": 5")).body());
        assertEquals("length", j.get("choices").get(0).get("finish_reason").asText());
        assertEquals(expected.substring(0, expected.offsetByCodePoints(0, 5)), j.get("choices").get(0).get("message").get("content").asText());
        JsonNode s = JSON.readTree(post(server, "/v1/chat/completions", chat(user, "\"stop\": [\"답\", \"zz\"]")).body());
        assertEquals(expected.substring(0, expected.indexOf("답")), s.get("choices").get(0).get("message").get("content").asText());
        JsonNode s1 = JSON.readTree(post(server, "/v1/chat/completions", chat(user, "\"stop\": \"!\"")).body());
        assertEquals("안녕하세요", s1.get("choices").get(0).get("message").get("content").asText());
    }

    @Test
    void textCompletions() throws Exception {
        String prompt = "옛날 옛적에";
        JsonNode j = JSON.readTree(post(server, "/v1/completions", "{\"prompt\": " + quote(prompt) + ", \"max_tokens\": 40}").body());
        assertEquals("text_completion", j.get("object").asText());
        assertEquals(ScriptedEngine.replyTo(prompt), j.get("choices").get(0).get("text").asText());
        assertEquals(4 + prompt.length(), j.get("usage").get("prompt_tokens").asInt());

        List<String> ev = events(post(server, "/v1/completions", "{\"prompt\": " + quote(prompt) + ", \"stream\": true}").body());
        assertEquals("[DONE]", ev.getLast());
        StringBuilder text = new StringBuilder();
        for (String e : ev.subList(0, ev.size() - 1)) text.append(JSON.readTree(e).get("choices").get(0).get("text").asText());
        assertEquals(ScriptedEngine.replyTo(prompt), text.toString());
        assertError(post(server, "/v1/completions", "{\"prompt\": 5}"), 400, "invalid_request_error", "prompt");
    }

    @Test
    void requestErrors() throws Exception {
        String p = "/v1/chat/completions";
        assertError(post(server, p, "{\"messages\": ["), 400, "invalid_request_error", null);
        assertError(post(server, p, "[1]"), 400, "invalid_request_error", null);
        assertError(post(server, p, "{}"), 400, "invalid_request_error", "messages");
        assertError(post(server, p, "{\"messages\": [{\"role\": \"king\", \"content\": \"x\"}]}"), 400, "invalid_request_error", "messages[0].role");
        assertError(post(server, p, chat("x", "\"temperature\": 3")), 400, "invalid_request_error", "temperature");
        assertError(post(server, p, chat("x", "\"top_p\": 0")), 400, "invalid_request_error", "top_p");
        assertError(post(server, p, chat("x", "\"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]")), 400, "invalid_request_error", "stop");
        assertError(post(server, p, chat("x", "\"n\": 2")), 400, "invalid_request_error", "n");
        assertError(post(server, p, chat("x", "\"seed\": 1.5")), 400, "invalid_request_error", "seed");
        assertError(post(server, p, chat("x", "\"stream\": \"yes\"")), 400, "invalid_request_error", "stream");
        assertError(post(server, p, chat("x", "\"response_format\": {\"type\": \"json_object\"}")), 400, "invalid_request_error", "response_format");
        assertError(post(server, p, chat("x", "\"logprobs\": true")), 400, "invalid_request_error", "logprobs");
        assertEquals(200, post(server, p, chat("x", "\"response_format\": {\"type\": \"text\"}, \"user\": \"u1\", \"model\": \"any\"")).statusCode(),
                "unknown and harmless fields are ignored, as OpenAI-compatible servers do");
        assertEquals(200, post(server, p, "{\"messages\": [{\"role\": \"developer\", \"content\": \"규칙\"}, {\"role\": \"user\", "
                + "\"content\": [{\"type\": \"text\", \"text\": \"부분\"}]}]}").statusCode(), "developer role and content parts");
        // limits of this server: max_tokens 64, 8 messages, 200 prompt tokens, 4096 body bytes
        assertError(post(server, p, chat("x", "\"max_tokens\": 65")), 400, "invalid_request_error", "max_tokens");
        String nine = "{\"messages\": [" + String.join(",", java.util.Collections.nCopies(9, "{\"role\":\"user\",\"content\":\"a\"}")) + "]}";
        assertError(post(server, p, nine), 400, "invalid_request_error", "messages");
        HttpResponse<String> longPrompt = post(server, p, chat("가".repeat(300), ""));
        assertError(longPrompt, 400, "invalid_request_error", "messages");
        assertEquals("context_length_exceeded", JSON.readTree(longPrompt.body()).get("error").get("code").asText());
        assertError(post(server, p, chat("a".repeat(5000), "")), 413, "invalid_request_error", null);
        String deep = "{\"messages\": " + "[".repeat(100) + "]".repeat(100) + "}";
        assertError(post(server, p, deep), 400, "invalid_request_error", null);
        // routing
        assertError(get(server, p), 405, "invalid_request_error", null);
        assertEquals("POST", get(server, p).headers().firstValue("Allow").orElse(""));
        assertError(post(server, "/v1/models", "{}"), 405, "invalid_request_error", null);
        assertError(get(server, "/v1/embeddings"), 404, "invalid_request_error", null);
        assertError(get(server, "/../../etc/passwd"), 404, "invalid_request_error", null);
        assertError(get(server, "/index.html"), 404, "invalid_request_error", null);
    }

    @Test
    void engineFailures() throws Exception {
        String p = "/v1/chat/completions";
        assertError(post(server, p, chat(ScriptedEngine.BUG, "")), 500, "server_error", null);
        assertError(post(server, p, chat(ScriptedEngine.REFUSE, "")), 400, "invalid_request_error", null);
        // streaming: headers are already 200, so the error arrives as an event and no [DONE] follows
        List<String> ev = events(post(server, p, chat(ScriptedEngine.BUG, "\"stream\": true")).body());
        assertEquals("server_error", JSON.readTree(ev.getLast()).get("error").get("type").asText());
        // a chunked body (no Content-Length) over the limit is cut off at the limit
        byte[] big = chat("a".repeat(5000), "").getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> chunked = CLIENT.send(HttpRequest.newBuilder(java.net.URI.create(server.url() + p))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertError(chunked, 413, "invalid_request_error", null);
    }

    @Test
    void apiKey() throws Exception {
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withApiKey("sk-test-key1"), new ScriptedEngine(0))) {
            String body = chat("안녕", "");
            assertError(post(s, "/v1/chat/completions", body), 401, "invalid_request_error", null);
            assertEquals("Bearer", post(s, "/v1/chat/completions", body).headers().firstValue("WWW-Authenticate").orElse(""));
            assertError(post(s, "/v1/chat/completions", body, "Authorization", "Bearer sk-test-key"), 401, "invalid_request_error", null);
            assertError(get(s, "/v1/models", "Authorization", "Basic c2stdGVzdC1rZXkx"), 401, "invalid_request_error", null);
            assertEquals(200, post(s, "/v1/chat/completions", body, "Authorization", "Bearer sk-test-key1").statusCode());
            assertEquals(200, get(s, "/v1/models", "Authorization", "bearer sk-test-key1").statusCode());
            assertEquals(200, get(s, "/health").statusCode(), "health needs no key");
            assertEquals(200, get(s, "/").statusCode(), "the page needs no key (it asks for one)");
        }
    }

    @Test
    void bindsLoopbackByDefault() throws Exception {
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0), new ScriptedEngine(0))) {
            assertTrue(s.url().startsWith("http://127.0.0.1:"), s.url());
        }
        assertNull(ServeConfig.defaults().apiKey());
    }
}
