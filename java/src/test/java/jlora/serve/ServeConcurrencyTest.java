package jlora.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static jlora.serve.ChatServerTest.JSON;
import static jlora.serve.ChatServerTest.assertError;
import static jlora.serve.ChatServerTest.chat;
import static jlora.serve.ChatServerTest.events;
import static jlora.serve.ChatServerTest.get;
import static jlora.serve.ChatServerTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Queueing, shutdown, disconnects and many streams at once. Waits are bounded conditions
 * (a latch or a polled state with a generous deadline), never timings asserted.
 */
class ServeConcurrencyTest {
    private static final long BOUND_MS = 10_000;

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + BOUND_MS;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("not within " + BOUND_MS + " ms: " + what);
            Thread.sleep(5);
        }
    }

    private static CompletableFuture<HttpResponse<String>> async(ChatServer s, String body) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return post(s, "/v1/chat/completions", body);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void fullQueueAnswers429ThenDrains() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(0);
        engine.hold = new CountDownLatch(1);
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(1, 1), engine)) {
            var running = async(s, chat("첫째", ""));
            await(() -> engine.started.get() == 1, "first request generating");
            var queued = async(s, chat("둘째", ""));
            await(() -> s.inFlight() == 2, "second request queued");
            HttpResponse<String> refused = post(s, "/v1/chat/completions", chat("셋째", ""));
            assertError(refused, 429, "rate_limit_exceeded", null);
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
            engine.hold.countDown();
            assertEquals(ScriptedEngine.replyTo("첫째"), content(running.get(BOUND_MS, TimeUnit.MILLISECONDS)));
            assertEquals(ScriptedEngine.replyTo("둘째"), content(queued.get(BOUND_MS, TimeUnit.MILLISECONDS)));
            await(() -> s.inFlight() == 0, "places released");
            assertEquals(200, post(s, "/v1/chat/completions", chat("넷째", "")).statusCode());
        }
    }

    private static String content(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("choices").get(0).get("message").get("content").asText();
    }

    @Test
    void shuttingDownAnswers503AndFinishesAdmitted() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(0);
        engine.hold = new CountDownLatch(1);
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0), engine)) {
            var admitted = async(s, chat("마지막", ""));
            await(() -> engine.started.get() == 1, "request generating");
            s.beginShutdown();
            assertError(post(s, "/v1/chat/completions", chat("늦음", "")), 503, "server_error", null);
            assertEquals(503, get(s, "/health").statusCode());
            engine.hold.countDown();
            assertEquals(ScriptedEngine.replyTo("마지막"), content(admitted.get(BOUND_MS, TimeUnit.MILLISECONDS)));
        }
    }

    @Test
    void shutdownCutsOffRunningGenerationsWith503() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(1);
        // heartbeats off: the 503 status is the point here (with a heartbeat out first the error goes in a 200 body)
        ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(2, 2), engine, Heartbeat.OFF);
        var whole = async(s, chat(ScriptedEngine.FOREVER, ""));
        var streamed = async(s, chat(ScriptedEngine.FOREVER, "\"stream\": true"));
        await(() -> engine.started.get() == 2, "both generating");
        s.shutdown(50);
        HttpResponse<String> w = whole.get(BOUND_MS, TimeUnit.MILLISECONDS);
        assertError(w, 503, "server_error", null);
        List<String> ev = events(streamed.get(BOUND_MS, TimeUnit.MILLISECONDS).body());
        assertEquals("shutting_down", JSON.readTree(ev.getLast()).get("error").get("code").asText(),
                "a cut-off stream ends with an error event, not [DONE]");
    }

    /** Sends a streaming request on a raw socket, reads until the first token, and hangs up. */
    private static Socket streamAndRead(ChatServer s, String user) throws Exception {
        Socket sock = new Socket("127.0.0.1", s.port());
        byte[] body = chat(user, "\"stream\": true").getBytes(StandardCharsets.UTF_8);
        OutputStream out = sock.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        return sock;
    }

    private static void readUntil(Socket sock, String marker) throws Exception {
        InputStream in = sock.getInputStream();
        StringBuilder seen = new StringBuilder();
        byte[] buf = new byte[4096];
        while (!seen.toString().contains(marker)) {
            int n = in.read(buf);
            if (n < 0) throw new AssertionError("stream ended before " + marker + ": " + seen);
            seen.append(new String(buf, 0, n, StandardCharsets.UTF_8));
        }
    }

    @Test
    void clientDisconnectCancelsGeneration() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(2);
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(1, 4), engine)) {
            Socket sock = streamAndRead(s, ScriptedEngine.FOREVER);
            readUntil(sock, "가");
            sock.close();
            assertTrue(engine.cancelSeen.await(BOUND_MS, TimeUnit.MILLISECONDS),
                    "engine never saw cancellation after the client hung up");
            await(() -> s.inFlight() == 0, "the cancelled request's place released");
        }
    }

    @Test
    void clientLeavingTheQueueFreesItsPlace() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(0);
        engine.hold = new CountDownLatch(1);
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(1, 4), engine)) {
            var running = async(s, chat("먼저", ""));
            await(() -> engine.started.get() == 1, "first request generating");
            Socket sock = streamAndRead(s, "대기 중");
            readUntil(sock, "\"role\":\"assistant\"");
            await(() -> s.inFlight() == 2, "second request queued");
            sock.close();
            // the queued stream pings once a second; the failed ping gives its place back
            await(() -> s.inFlight() == 1, "queued request dropped after its client left");
            engine.hold.countDown();
            assertEquals(ScriptedEngine.replyTo("먼저"), content(running.get(BOUND_MS, TimeUnit.MILLISECONDS)));
            assertEquals(1, engine.started.get(), "the abandoned request never reached the engine");
        }
    }

    @Test
    void sixteenStreamsEachGetTheirOwnReply() throws Exception {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int clients = 16;
        ScriptedEngine engine = new ScriptedEngine(1);
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(4, clients), engine);
             ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            List<String> asks = new ArrayList<>();
            for (int i = 0; i < clients; i++) asks.add("손님 " + i + " 번호 " + Long.toHexString(rnd.nextLong()));
            CountDownLatch go = new CountDownLatch(1);
            List<Future<List<JsonNode>>> results = new ArrayList<>();
            for (String ask : asks) {
                results.add(pool.submit(() -> {
                    go.await();
                    HttpResponse<String> r = post(s, "/v1/chat/completions", chat(ask, "\"stream\": true"));
                    assertEquals(200, r.statusCode(), r.body());
                    List<String> ev = events(r.body());
                    assertEquals("[DONE]", ev.getLast(), "seed " + seed);
                    List<JsonNode> chunks = new ArrayList<>();
                    for (String e : ev.subList(0, ev.size() - 1)) chunks.add(JSON.readTree(e));
                    return chunks;
                }));
            }
            go.countDown();
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < clients; i++) {
                List<JsonNode> chunks = results.get(i).get(60, TimeUnit.SECONDS);
                String id = chunks.getFirst().get("id").asText();
                StringBuilder text = new StringBuilder();
                for (JsonNode c : chunks) {
                    assertEquals(id, c.get("id").asText(), "client " + i + " got a chunk of another response (seed " + seed + ")");
                    JsonNode content = c.get("choices").get(0).get("delta").get("content");
                    if (content != null) text.append(content.asText());
                }
                assertEquals(ScriptedEngine.replyTo(asks.get(i)), text.toString(), "client " + i + " (seed " + seed + ")");
                assertTrue(ids.add(id), "two responses share id " + id);
            }
        }
    }
}
