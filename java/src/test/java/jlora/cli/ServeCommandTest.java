package jlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import jlora.data.Message;
import jlora.infer.ChatEngine;
import jlora.infer.ChatRequest;
import jlora.infer.ChatResult;
import jlora.infer.SamplingParams;
import jlora.model.TinyModel;
import jlora.serve.ChatServer;
import jlora.serve.ServeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `jlora serve` through picocli: bad arguments are one-line user errors; the engine the command
 * opens is the real model (ModelChatEngine on the CPU), checked by serving the tiny model and
 * comparing the HTTP answer with the same engine called directly. The banner carries the URL
 * and a runnable curl line.
 */
class ServeCommandTest {
    @Test
    void servesTheRealModelAndAnswersAsTheEngineDoes(@TempDir Path tmp) throws Exception {
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        ChatEngine engine = ServeCommand.openEngine(model, null);
        ChatServer server = ChatServer.start(ServeConfig.defaults().withPort(0), engine);
        try {
            String body = """
                    {"model": "x", "messages": [{"role": "user", "content": "안녕하세요, 오늘 날씨 어때요?"}],
                     "temperature": 0, "max_tokens": 8}""";
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create(server.url() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            assertEquals(200, r.statusCode(), r.body());
            JsonNode json = new ObjectMapper().readTree(r.body());
            // Independent path: the same engine called directly, greedy, same limit.
            ChatResult direct = engine.generate(new ChatRequest(
                    List.of(Message.user("안녕하세요, 오늘 날씨 어때요?")), List.of(),
                    new SamplingParams(0, 1, 0, 0, 1, null, 8, List.of()), null), t -> { }, () -> false);
            assertEquals(direct.text(), json.at("/choices/0/message/content").asText(), r.body());
            assertEquals(direct.completionTokens(), json.at("/usage/completion_tokens").asInt(), r.body());
            assertEquals(direct.promptTokens(), json.at("/usage/prompt_tokens").asInt(), r.body());
            assertTrue(direct.completionTokens() >= 1 && direct.completionTokens() <= 8, r.body());
        } finally {
            server.shutdown(1000);
        }
    }

    @Test
    void argumentErrorsNameTheOption(@TempDir Path tmp) {
        InfoCommandTest.Run missing = InfoCommandTest.run("serve", "--model", tmp.resolve("nope").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("--model") && missing.err().contains("no such directory"), missing.err());
        InfoCommandTest.Run noConfig = InfoCommandTest.run("serve", "--model", tmp.toString());
        assertTrue(noConfig.err().contains("no config.json"), noConfig.err());
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        InfoCommandTest.Run badQueue = InfoCommandTest.run("serve", "--model", model.toString(), "--max-concurrent", "0");
        assertTrue(badQueue.err().contains("--max-concurrent"), badQueue.err());
        InfoCommandTest.Run noAdapter = InfoCommandTest.run("serve", "--model", model.toString(), "--adapter", tmp.resolve("a").toString());
        assertTrue(noAdapter.err().contains("--adapter"), noAdapter.err());
        var cl = Main.commandLine();
        java.io.StringWriter help = new java.io.StringWriter();
        cl.setOut(new java.io.PrintWriter(help, true));
        assertEquals(0, cl.execute("serve", "--help"));
        assertTrue(help.toString().contains("127.0.0.1") && help.toString().contains("8000"), help.toString());
    }

    @Test
    void bannerShowsUrlAndCurl() {
        ServeConfig c = ServeConfig.defaults().withApiKey("k");
        List<String> lines = ServeCommand.banner("http://127.0.0.1:8000", "qwen-tuned", c);
        assertTrue(lines.get(0).contains("http://127.0.0.1:8000"), lines.get(0));
        String curl = lines.stream().filter(l -> l.contains("curl ")).findFirst().orElseThrow();
        assertTrue(curl.contains("http://127.0.0.1:8000/v1/chat/completions") && curl.contains("Authorization: Bearer"), curl);
    }
}
