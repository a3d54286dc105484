package jlora.serve;

import static jlora.serve.ChatServerTest.CLIENT;
import static jlora.serve.ChatServerTest.JSON;
import static jlora.serve.ChatServerTest.chat;
import static jlora.serve.ChatServerTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import jlora.backend.cpu.CpuBackend;
import jlora.infer.BatchingEngine;
import jlora.infer.CausalLmDecoder;
import jlora.infer.DecoderModel;
import jlora.infer.GenerationDefaults;
import jlora.infer.KvCache;
import jlora.infer.ModelChatEngine;
import jlora.model.TinyModel;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Non-streaming requests whose client hangs up, and what the heartbeats that detect it change.
 * Oracles: the engine's own accounting (decode rows counted by a wrapper around the model, its
 * cancelled counter) for the hang-up; the same request answered with heartbeats off (the
 * behaviour before they existed) for the reply bodies. Waits are bounded conditions; the
 * hang-up-to-cancel time is printed, not asserted.
 */
class ServeDisconnectTest {
    private static final long BOUND_MS = 10_000;
    /** Max tokens asked for; the tiny model's context (2048) holds them, and with no EOS only cancellation stops short. */
    private static final int MAX_TOKENS = 1900;

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + BOUND_MS;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("not within " + BOUND_MS + " ms: " + what);
            Thread.sleep(2);
        }
    }

    /** The tiny model's decoder, each decode step {@code stepMs} slower, counting the tokens it decodes. */
    record Counting(DecoderModel inner, int stepMs, AtomicLong decoded) implements DecoderModel {
        public int vocabSize() { return inner.vocabSize(); }
        public int contextLength() { return inner.contextLength(); }
        public KvCache newCache() { return inner.newCache(); }
        public float[] prefill(KvCache c, int[] ids) { return inner.prefill(c, ids); }

        public float[] decode(KvCache c, int t) {
            pause();
            decoded.incrementAndGet();
            return inner.decode(c, t);
        }

        public float[][] decodeBatch(KvCache[] c, int[] t) {
            pause();
            decoded.addAndGet(t.length);
            return inner.decodeBatch(c, t);
        }

        private void pause() {
            try {
                Thread.sleep(stepMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Writes a request on a raw socket and reads nothing back. */
    private static Socket send(ChatServer s, String path, String body) throws Exception {
        Socket sock = new Socket("127.0.0.1", s.port());
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = sock.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
        return sock;
    }

    /** The tiny model with no EOS ids (only max_tokens or cancellation ends a reply), 3 ms a decode step: max_tokens is 6 s or more away. */
    private static ModelChatEngine tiny(Path dir, CausalLM lm, AtomicLong decoded) {
        return new ModelChatEngine("tiny", new Counting(new CausalLmDecoder(lm), 3, decoded),
                Tokenizer.load(dir), ChatTemplate.load(dir), Set.of(), GenerationDefaults.load(dir), null);
    }

    private static final String[][] LONG_REQUESTS = {
            {"/v1/chat/completions", chat("끝까지 듣지 않을 질문", "\"temperature\": 0, \"max_tokens\": " + MAX_TOKENS)},
            {"/v1/completions", "{\"prompt\": \"옛날 옛적에\", \"temperature\": 0, \"max_tokens\": " + MAX_TOKENS + "}"}};

    /** Reads the status line and headers of a heartbeat response and the first heartbeat chunk ("1\r\n \r\n"). */
    private static void readPastHeaders(Socket sock) throws Exception {
        InputStream in = sock.getInputStream();
        StringBuilder seen = new StringBuilder();
        while (!seen.toString().endsWith("\r\n\r\n1\r\n \r\n")) {
            int c = in.read();
            if (c < 0) throw new AssertionError("connection closed after: " + seen);
            seen.append((char) c);
        }
        assertTrue(seen.toString().startsWith("HTTP/1.1 200"), seen.toString());
        assertTrue(seen.toString().toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked"), seen.toString());
    }

    /**
     * Sends a long non-streaming request, hangs up once decoding has begun, waits until
     * {@code stopped} says the engine let go of it, checks that far fewer tokens than asked were
     * decoded and that the next request gets the slot (one slot, no queue: a slot still held
     * would answer 429).
     */
    private static void hangUpMidReply(ChatServer s, String[] request, AtomicLong decoded, BooleanSupplier stopped,
                                       String engine, boolean afterHeartbeat) throws Exception {
        String what = engine + " " + request[0] + (afterHeartbeat ? " after a heartbeat" : "");
        long before = decoded.get();
        Socket sock = send(s, request[0], request[1]);
        await(() -> decoded.get() > before, what + ": decoding began");
        if (afterHeartbeat) readPastHeaders(sock);
        long hungUp = System.nanoTime();
        sock.close();
        await(stopped, what + ": the generation stopped (decoded " + (decoded.get() - before) + " of " + MAX_TOKENS + ")");
        double ms = (System.nanoTime() - hungUp) / 1e6;
        long atStop = decoded.get() - before;
        await(() -> s.inFlight() == 0, what + ": the hung-up request's place released");
        System.out.printf("ServeDisconnectTest: %s hang-up to stop %.0f ms, %d of %d tokens decoded%n", what, ms, atStop, MAX_TOKENS);
        assertTrue(atStop < MAX_TOKENS / 2, what + ": " + atStop + " of " + MAX_TOKENS + " tokens decoded before the stop");
        HttpResponse<String> next = post(s, "/v1/chat/completions", chat("다음 손님", "\"temperature\": 0, \"max_tokens\": 3"));
        assertEquals(200, next.statusCode(), what + ": the slot was not free for the next request: " + next.body());
        assertEquals(3, JSON.readTree(next.body()).get("usage").get("completion_tokens").asInt(), next.body());
        // the reply is written before the place is given back: wait, or the next hang-up request may meet a 429
        await(() -> s.inFlight() == 0, what + ": the next request's place released");
    }

    /**
     * The real tiny model, default heartbeat timing, both endpoints (one code path: each is
     * tried once), a client that leaves before the first heartbeat and one that leaves after
     * reading it. Behind a BatchingEngine
     * (--max-concurrent > 1) the engine must count the sequence cancelled: one that reached
     * max_tokens would count as finished. Behind the one-at-a-time ModelChatEngine (the default)
     * the request's place is given back only when generate returns, so a released place with
     * fewer tokens decoded than asked means the generation was cut short.
     */
    @Test
    void aHungUpNonStreamingRequestStopsGeneratingAndFreesItsSlot(@TempDir Path tmp) throws Exception {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        AtomicLong decoded = new AtomicLong();
        ServeConfig oneSlot = ServeConfig.defaults().withPort(0).withQueue(1, 0);
        try (CausalLM lm = CausalLM.load(dir, new CpuBackend(), LoadOptions.DEFAULT)) {
            try (ChatServer s = ChatServer.start(oneSlot, tiny(dir, lm, decoded))) {
                hangUpMidReply(s, LONG_REQUESTS[0], decoded, () -> s.inFlight() == 0, "ModelChatEngine", false);
            }
            try (BatchingEngine batch = new BatchingEngine(tiny(dir, lm, decoded), 1); ChatServer s = ChatServer.start(oneSlot, batch)) {
                hangUpMidReply(s, LONG_REQUESTS[1], decoded, () -> batch.cancelledCount() == 1, "BatchingEngine", false);
                assertEquals(1, batch.cancelledCount(), "the next request was cancelled too");
                // a client that read the status line and a heartbeat, then left
                hangUpMidReply(s, LONG_REQUESTS[0], decoded, () -> batch.cancelledCount() == 2, "BatchingEngine", true);
                assertEquals(2, batch.cancelledCount(), "the next request was cancelled too");
            }
        }
    }

    /**
     * A non-streaming request waiting for the only slot, whose client hangs up, gives its queue
     * place back (its heartbeats fail) and never reaches the engine.
     */
    @Test
    void aHungUpQueuedRequestLeavesTheQueue() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(0);
        engine.hold = new CountDownLatch(1);
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(1, 4), engine)) {
            CompletableFuture<HttpResponse<String>> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return post(s, "/v1/chat/completions", chat("먼저", ""));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await(() -> engine.started.get() == 1, "first request generating");
            Socket sock = send(s, "/v1/chat/completions", chat("대기 중", ""));
            await(() -> s.inFlight() == 2, "second request queued");
            sock.close();
            await(() -> s.inFlight() == 1, "queued request dropped after its client left");
            engine.hold.countDown();
            HttpResponse<String> r = running.get(BOUND_MS, TimeUnit.MILLISECONDS);
            assertEquals(ScriptedEngine.replyTo("먼저"),
                    JSON.readTree(r.body()).get("choices").get(0).get("message").get("content").asText(), r.body());
            assertEquals(1, engine.started.get(), "the abandoned request reached the engine");
        }
    }

    /** The parsed reply with the fields that differ between any two replies (id, created) removed. */
    private static JsonNode stable(String body) throws Exception {
        ObjectNode n = (ObjectNode) JSON.readTree(body);
        assertTrue(n.get("id").isTextual() && n.get("created").isNumber(), body);
        n.remove("id");
        n.remove("created");
        return n;
    }

    /**
     * Chat, tool-call and text-completion replies. Oracle: the server with heartbeats off, which
     * writes the reply once with a Content-Length as before heartbeats existed. With the default
     * timing a fast reply is that same response (status, Content-Length, no whitespace). With
     * heartbeats from the first millisecond the engine is held until the status line (sent with
     * the first heartbeat) has arrived; the body is then chunked, starts with the heartbeat
     * spaces, and parses to the same object.
     */
    @Test
    void repliesParseTheSameWithAndWithoutHeartbeats() throws Exception {
        String tools = "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\"}}}]";
        String[][] cases = {
                {"/v1/chat/completions", chat("서울의 봄", "\"temperature\": 0, \"seed\": 1")},
                {"/v1/chat/completions", chat("제주 날씨", tools)},
                {"/v1/completions", "{\"prompt\": \"부산의 바다\", \"max_tokens\": 8}"}};
        ScriptedEngine engine = new ScriptedEngine(0);
        ScriptedEngine held = new ScriptedEngine(0);
        try (ChatServer off = ChatServer.start(ServeConfig.defaults().withPort(0), engine, Heartbeat.OFF);
             ChatServer dflt = ChatServer.start(ServeConfig.defaults().withPort(0), engine, Heartbeat.DEFAULT);
             ChatServer early = ChatServer.start(ServeConfig.defaults().withPort(0), held, new Heartbeat(0, 5))) {
            for (String[] c : cases) {
                String what = c[0] + " " + c[1];
                HttpResponse<String> want = post(off, c[0], c[1]);
                assertEquals(200, want.statusCode(), want.body());
                assertTrue(want.headers().firstValue("Content-Length").isPresent(), what);
                assertFalse(Character.isWhitespace(want.body().charAt(0)), what);

                HttpResponse<String> fast = post(dflt, c[0], c[1]);
                assertEquals(200, fast.statusCode(), fast.body());
                assertEquals(String.valueOf(fast.body().getBytes(StandardCharsets.UTF_8).length),
                        fast.headers().firstValue("Content-Length").orElse("none"), what);
                assertEquals(stable(want.body()), stable(fast.body()), what);

                held.hold = new CountDownLatch(1);
                HttpResponse<InputStream> slow = open(early, c[0], c[1]).get(BOUND_MS, TimeUnit.MILLISECONDS);
                held.hold.countDown();
                String body = new String(slow.body().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(200, slow.statusCode(), body);
                assertTrue(slow.headers().firstValue("Content-Length").isEmpty(), what + ": " + slow.headers().map());
                assertEquals("application/json", slow.headers().firstValue("Content-Type").orElse(""), what);
                assertEquals(' ', body.charAt(0), what + ": no heartbeat was written");
                assertEquals(stable(want.body()), stable(body), what);
            }
        }
    }

    /**
     * A prompt the model's context cannot hold is refused with 400 before the request waits for
     * a slot, so before any heartbeat could fix the status at 200 (the engine would refuse it
     * too, but only once a slot came free). Heartbeats from the first millisecond, the only slot
     * held by another request: the refusal still comes at once, with its own status.
     */
    @Test
    void aPromptLongerThanTheModelContextIsRefusedBeforeAnyHeartbeat() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(0);
        engine.context = 40;
        engine.hold = new CountDownLatch(1);
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(1, 2), engine, new Heartbeat(0, 5))) {
            CompletableFuture<HttpResponse<InputStream>> first = open(s, "/v1/chat/completions", chat("먼저", ""));
            await(() -> engine.started.get() == 1, "first request holds the slot");
            int tokens = ChatServerTest.promptTokensOf("짧게 답하세요.", "가".repeat(40));
            for (String extra : new String[] {"", "\"stream\": true"}) {
                HttpResponse<String> r = post(s, "/v1/chat/completions", chat("가".repeat(40), extra));
                ChatServerTest.assertError(r, 400, "invalid_request_error", "messages");
                JsonNode e = JSON.readTree(r.body()).get("error");
                assertEquals("context_length_exceeded", e.get("code").asText(), r.body());
                assertTrue(e.get("message").asText().contains("the prompt is " + tokens + " tokens")
                        && e.get("message").asText().contains("context holds 40"), r.body());
            }
            engine.hold.countDown();
            assertEquals(200, first.get(BOUND_MS, TimeUnit.MILLISECONDS).statusCode());
        }
    }

    /** Sends without waiting for the body: the future completes when the status line arrives, i.e. at the first heartbeat. */
    private static CompletableFuture<HttpResponse<InputStream>> open(ChatServer s, String path, String body) {
        return CLIENT.sendAsync(HttpRequest.newBuilder(URI.create(s.url() + path))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    private static JsonNode lateError(HttpResponse<InputStream> r) throws Exception {
        assertEquals(200, r.statusCode(), "a heartbeat went out first, so the status is 200");
        String body = new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
        JsonNode e = JSON.readTree(body).get("error");
        assertTrue(e != null && e.get("message").isTextual() && e.has("param") && e.has("code"), body);
        return e;
    }

    /**
     * The trade-off: once a heartbeat is out the status is 200, so an engine failure or a
     * shutdown cut-off arrives as OpenAI's error object in the body (as a stream sends it).
     */
    @Test
    void failuresAfterTheFirstHeartbeatComeAsAnErrorBody() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(1);
        engine.hold = new CountDownLatch(1);
        ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(2, 2), engine, new Heartbeat(0, 20));
        try {
            HttpResponse<InputStream> bug = open(s, "/v1/chat/completions", chat(ScriptedEngine.BUG, "")).get(BOUND_MS, TimeUnit.MILLISECONDS);
            engine.hold.countDown();
            assertEquals("server_error", lateError(bug).get("type").asText());

            HttpResponse<InputStream> forever = open(s, "/v1/chat/completions", chat(ScriptedEngine.FOREVER, "")).get(BOUND_MS, TimeUnit.MILLISECONDS);
            s.shutdown(50);
            assertEquals("shutting_down", lateError(forever).get("code").asText());
        } finally {
            s.close();
        }
    }
}
