package jlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import jlora.model.TinyModel;
import jlora.serve.ServeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `jlora serve` through picocli: bad arguments are one-line user errors, and with a real model
 * directory it refuses plainly (the model engine is not wired on this branch) instead of
 * serving anything else. The banner carries the URL and a runnable curl line.
 */
class ServeCommandTest {
    @Test
    void refusesUntilTheModelEngineIsWired(@TempDir Path tmp) {
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        InfoCommandTest.Run r = InfoCommandTest.run("serve", "--model", model.toString(), "--port", "0");
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().startsWith("jlora: ") && r.err().contains("model engine is not wired"), r.err());
        assertEquals("", r.out(), "nothing printed as if serving");
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
