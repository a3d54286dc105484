package jlora.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

import static jlora.serve.ChatServerTest.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real client: the official `openai` npm package (tools/oracle/openai_client.mjs) talks to
 * the server — model list, a whole chat, a stream with usage, a tool call whole and streamed
 * (through the client's own delta accumulator), a 400 and a 401 mapped to its error classes.
 * Expected values come from the scripted engine. Skips without node or the package. Run with
 * the default heartbeat timing (these replies are ready before it starts: plain JSON with a
 * Content-Length) and with heartbeats from the first millisecond, every 2 ms, while the whole
 * chat reply takes about 150 ms (5 ms a token: a chunked body led by spaces, which the client
 * must parse).
 */
class ServeOpenAiClientTest {
    @ParameterizedTest(name = "heartbeats from the start: {0}")
    @ValueSource(booleans = {false, true})
    void officialClientTalksToTheServer(boolean early) throws Exception {
        Path oracle = NodeOracle.dir("openai");
        ScriptedEngine engine = new ScriptedEngine(early ? 5 : 1);
        String key = "sk-jlora-" + Long.toHexString(System.nanoTime());
        Heartbeat heartbeat = early ? new Heartbeat(0, 2) : Heartbeat.DEFAULT;
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withApiKey(key), engine, heartbeat)) {
            JsonNode out = JSON.readTree(NodeOracle.run(oracle, "openai_client.mjs", s.url() + "/v1", key));
            assertEquals(engine.modelId(), out.get("models").get(0).asText());

            JsonNode whole = out.get("whole");
            assertEquals(ScriptedEngine.replyTo("서울의 봄"), whole.get("content").asText());
            assertEquals("stop", whole.get("finish").asText());
            assertEquals(ChatServerTest.promptTokensOf("짧게 답하세요.", "서울의 봄"), whole.get("usage").get("prompt_tokens").asInt());

            JsonNode stream = out.get("stream");
            String expected = ScriptedEngine.replyTo("부산의 바다");
            assertEquals(expected, stream.get("content").asText());
            assertEquals("assistant", stream.get("role").asText());
            assertEquals("stop", stream.get("finish").asText());
            int tokens = expected.codePointCount(0, expected.length());
            assertEquals(tokens, stream.get("usage").get("completion_tokens").asInt());
            // role chunk + one per token + finish chunk + usage chunk
            assertEquals(tokens + 3, stream.get("chunks").asInt());

            JsonNode tool = out.get("tool");
            assertEquals("function", tool.get("type").asText());
            assertEquals("get_weather", tool.get("name").asText());
            assertTrue(tool.get("id").asText().startsWith("call_"));
            assertEquals(Map.of("query", "제주 날씨"), JSON.convertValue(tool.get("arguments"), Map.class));
            assertEquals("tool_calls", tool.get("finish").asText());

            JsonNode st = out.get("streamTool");
            assertEquals("get_weather", st.get("name").asText());
            assertEquals(Map.of("query", "광주 날씨"), JSON.convertValue(st.get("arguments"), Map.class));
            assertEquals("tool_calls", st.get("finish").asText());

            JsonNode bad = out.get("badRequest");
            assertEquals("BadRequestError", bad.get("class").asText(), bad.toString());
            assertEquals(400, bad.get("status").asInt());
            assertEquals("messages", bad.get("param").asText());
            JsonNode wrong = out.get("wrongKey");
            assertEquals("AuthenticationError", wrong.get("class").asText(), wrong.toString());
            assertEquals(401, wrong.get("status").asInt());
        }
    }
}
