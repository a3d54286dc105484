package jlora.serve;

import static jlora.serve.ChatServerTest.JSON;
import static jlora.serve.ChatServerTest.chat;
import static jlora.serve.ChatServerTest.events;
import static jlora.serve.ChatServerTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
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
import jlora.infer.ModelChatEngine;
import jlora.model.TinyModel;
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
