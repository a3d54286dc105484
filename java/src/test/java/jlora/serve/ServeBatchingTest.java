package jlora.serve;

import static jlora.serve.ChatServerTest.JSON;
import static jlora.serve.ChatServerTest.chat;
import static jlora.serve.ChatServerTest.events;
import static jlora.serve.ChatServerTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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
 * Eight streaming clients at once against the real tiny model behind a {@link BatchingEngine}
 * (--max-concurrent 8: all eight decoded in one batch). Oracle: each request sent alone, one
 * after another, to a server over the one-at-a-time {@link ModelChatEngine}. Each client must
 * receive exactly its own reply, the same text and finish reason (greedy, so token-identical
 * up to the near-tie caveat of BatchDecodeTest).
 */
class ServeBatchingTest {
    static final String[] USERS = {"안녕하세요", "오늘 날씨 어때요?", "hi there", "1 2 3 4 5", "김치찌개 레시피",
            "한국어로 긴 문장을 하나 써 주세요, 조금 길게.", "?", "Tell me a story about a cat"};

    record Reply(String text, String finish) {}

    static Reply stream(ChatServer s, String user) throws Exception {
        HttpResponse<String> r = post(s, "/v1/chat/completions", chat(user, "\"stream\": true, \"temperature\": 0, \"max_tokens\": 20"));
        assertEquals(200, r.statusCode(), r.body());
        List<String> ev = events(r.body());
        assertEquals("[DONE]", ev.getLast(), r.body());
        StringBuilder text = new StringBuilder();
        String id = null, finish = null;
        for (String e : ev.subList(0, ev.size() - 1)) {
            JsonNode c = JSON.readTree(e);
            if (id == null) id = c.get("id").asText();
            assertEquals(id, c.get("id").asText(), "a chunk of another response in " + user);
            JsonNode choice = c.get("choices").get(0);
            JsonNode content = choice.get("delta").get("content");
            if (content != null && !content.isNull()) text.append(content.asText());
            if (choice.hasNonNull("finish_reason")) finish = choice.get("finish_reason").asText();
        }
        return new Reply(text.toString(), finish);
    }

    /**
     * A streaming client that hangs up mid-reply leaves the batch (the engine counts it as
     * cancelled, the server's place is freed) while the two clients batched with it still get
     * their solo replies. Each decode step sleeps 2 ms so the 2000-token reply is still running
     * when the client goes.
     */
    @Test
    void aDisconnectedClientLeavesTheBatchAndTheOthersAreUndisturbed(@TempDir Path tmp) throws Exception {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        String[] users = {"첫 번째 질문", "second question"};
        List<Reply> want = new ArrayList<>();
        // No EOS ids in either engine: every reply runs to its max_tokens.
        try (ModelChatEngine solo = noEos(dir, 0)) {
            ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0), solo);
            try {
                for (String u : users) want.add(stream(s, u));
            } finally {
                s.shutdown(1000);
            }
        }
        try (BatchingEngine batch = new BatchingEngine(noEos(dir, 2), 3)) {
            ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(3, 3), batch);
            ExecutorService pool = Executors.newFixedThreadPool(users.length);
            try (Socket sock = new Socket("127.0.0.1", s.port())) {
                byte[] body = chat("이 답은 끝까지 듣지 않습니다", "\"stream\": true, \"temperature\": 0, \"max_tokens\": 2000")
                        .getBytes(StandardCharsets.UTF_8);
                OutputStream out = sock.getOutputStream();
                out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                InputStream in = sock.getInputStream();
                StringBuilder seen = new StringBuilder();
                byte[] buf = new byte[4096];
                while (!seen.toString().contains("\"content\"")) { // the first text delta
                    int n = in.read(buf);
                    if (n < 0) throw new AssertionError("stream ended early: " + seen);
                    seen.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                }
                List<Future<Reply>> got = new ArrayList<>();
                for (String u : users) got.add(pool.submit(() -> stream(s, u)));
                sock.close();
                for (int i = 0; i < users.length; i++) {
                    assertEquals(want.get(i), got.get(i).get(120, TimeUnit.SECONDS), "client " + i + " (" + users[i] + ")");
                }
                long deadline = System.currentTimeMillis() + 30_000;
                while (batch.cancelledCount() < 1 || s.inFlight() > 0) {
                    if (System.currentTimeMillis() > deadline) {
                        throw new AssertionError("the hung-up stream never left: cancelled " + batch.cancelledCount()
                                + ", in flight " + s.inFlight());
                    }
                    Thread.sleep(10);
                }
                assertEquals(1, batch.cancelledCount());
            } finally {
                pool.shutdownNow();
                s.shutdown(1000);
            }
        }
    }

    /** The tiny model with no EOS ids, each decode step delayed by {@code stepMs}. */
    static ModelChatEngine noEos(Path dir, int stepMs) {
        CausalLM lm = CausalLM.load(dir, new CpuBackend(), LoadOptions.DEFAULT);
        DecoderModel model = new Slow(new CausalLmDecoder(lm), stepMs);
        return new ModelChatEngine("tiny", model, Tokenizer.load(dir), ChatTemplate.load(dir), Set.of(),
                GenerationDefaults.load(dir), lm);
    }

    record Slow(DecoderModel inner, int stepMs) implements DecoderModel {
        public int vocabSize() { return inner.vocabSize(); }
        public int contextLength() { return inner.contextLength(); }
        public KvCache newCache() { return inner.newCache(); }
        public float[] prefill(KvCache c, int[] ids) { return inner.prefill(c, ids); }

        public float[] decode(KvCache c, int t) {
            pause();
            return inner.decode(c, t);
        }

        public float[][] decodeBatch(KvCache[] c, int[] t) {
            pause();
            return inner.decodeBatch(c, t);
        }

        private void pause() {
            if (stepMs == 0) return;
            try {
                Thread.sleep(stepMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    void eightConcurrentStreamsEachGetTheirSoloReply(@TempDir Path tmp) throws Exception {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        List<Reply> want = new ArrayList<>();
        try (ModelChatEngine solo = ModelChatEngine.load(dir, null, new CpuBackend())) {
            ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0), solo);
            try {
                for (String u : USERS) want.add(stream(s, u));
            } finally {
                s.shutdown(1000);
            }
        }
        try (BatchingEngine batch = new BatchingEngine(ModelChatEngine.load(dir, null, new CpuBackend()), 8)) {
            ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(8, 8), batch);
            ExecutorService pool = Executors.newFixedThreadPool(USERS.length);
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Reply>> got = new ArrayList<>();
                for (String u : USERS) got.add(pool.submit(() -> {
                    go.await();
                    return stream(s, u);
                }));
                go.countDown();
                for (int i = 0; i < USERS.length; i++) {
                    Reply r = got.get(i).get(120, TimeUnit.SECONDS);
                    assertEquals(want.get(i), r, "client " + i + " (" + USERS[i] + ")");
                    assertTrue(r.finish() != null, "client " + i + " got no finish_reason");
                }
            } finally {
                pool.shutdownNow();
                s.shutdown(1000);
            }
        }
    }
}
