package jlora.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jlora.data.Message;

import static jlora.serve.ChatServerTest.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The web chat page in headless Chromium (tools/oracle/webchat_check.mjs, playwright-core):
 * at phone width it sends two turns, and the page must show the scripted engine's reply growing
 * chunk by chunk, send the whole history (system, user, assistant, user) on the second turn,
 * not overflow horizontally, and stop an endless reply on Stop (the engine sees the cancel).
 * Screenshot: java/target/serve-webchat.png. Skips without /usr/bin/chromium (apt-get install
 * -y chromium) or the npm packages.
 */
class ServeWebChatTest {
    @Test
    void chatPageStreamsMultiTurnAndStops() throws Exception {
        Path oracle = NodeOracle.dir("playwright-core");
        String chromium = System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium");
        assumeTrue(Files.isExecutable(Path.of(chromium)), chromium + " not installed: apt-get install -y chromium to run the web page test");
        ScriptedEngine engine = new ScriptedEngine(15);
        Path shot = Path.of("target/serve-webchat.png").toAbsolutePath();
        Files.createDirectories(shot.getParent());
        String first = "안녕하세요, 서울 맛집을 알려 주세요";
        String second = "그럼 부산은요?";
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0), engine)) {
            JsonNode out = JSON.readTree(NodeOracle.run(oracle, "webchat_check.mjs", s.url() + "/", shot.toString(),
                    first, second, ScriptedEngine.FOREVER));
            assertEquals(List.of(), JSON.convertValue(out.get("errors"), List.class), "page errors");
            assertEquals(engine.modelId(), out.get("model").asText());
            assertEquals("ko", out.get("lang").asText());
            assertEquals(ScriptedEngine.replyTo(first), out.get("first").get("reply").asText());
            assertEquals(ScriptedEngine.replyTo(second), out.get("second").get("reply").asText());
            assertTrue(out.get("first").get("partials").asInt() >= 3,
                    "reply did not appear progressively: " + out.get("first").get("partials") + " distinct states seen");
            assertTrue(out.get("overflow").asInt() <= 0, "page is wider than a 390 px phone by " + out.get("overflow") + " px");
            assertTrue(out.get("stopped").asText().endsWith("[stopped]"), out.get("stopped").asText());
            assertTrue(out.get("sendEnabled").asBoolean(), "Send stays disabled after Stop");
            assertTrue(engine.cancelSeen.await(10, TimeUnit.SECONDS), "Stop did not cancel the generation");
            assertTrue(Files.size(shot) > 10_000, "screenshot missing or empty: " + shot);
        }
        // the second turn carried the whole conversation (the endless one came after it, so look at its history)
        List<Message> history = engine.last.messages();
        assertEquals(List.of("system", "user", "assistant", "user", "assistant", "user"),
                history.stream().map(Message::role).toList());
        assertEquals("친절하게 답하세요.", history.get(0).content());
        assertEquals(ScriptedEngine.replyTo(first), history.get(2).content());
    }
}
