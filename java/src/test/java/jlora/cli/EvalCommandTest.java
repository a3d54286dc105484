package jlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import jlora.eval.EvalReport;
import jlora.eval.ScriptedEngine;
import jlora.infer.ChatEngine;
import jlora.model.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * `jlora eval` on the bundled sample with the tiny model (real eval loss) and scripted engines
 * in place of generation: the files it writes are the ones it names, the reports parse back,
 * the counts add up to the examples taken (round-robin over the files), the printed table is
 * summary.txt, and the PNG decodes. Without an engine the command fails with one line.
 */
class EvalCommandTest {
    @Test
    void comparesTunedAndBase(@TempDir Path tmp) throws Exception {
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        Path out = tmp.resolve("out");
        List<String> made = new ArrayList<>();
        EvalCommand cmd = new EvalCommand((dir, adapter) -> {
            made.add(dir + "|" + adapter);
            String id = made.size() == 1 ? "tuned" : "base";
            return (ChatEngine) new ScriptedEngine(id, Map.of(), ScriptedEngine.text(made.size() == 1 ? "세종" : "모름", 2));
        });
        PrintStream old = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = new CommandLine(cmd).execute("--model", model.toString(), "--base", model.toString(),
                    "--max-samples", "6", "--max-seq-length", "512", "--out", out.toString(), "--compare-base");
        } finally {
            System.setOut(old);
        }
        String text = printed.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, text);
        assertEquals(List.of(model + "|null", model + "|null"), made);
        for (String f : List.of("eval_report.json", "base_report.json", "compare.png", "summary.txt")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f + " missing; output:\n" + text);
        }
        EvalReport tuned = EvalReport.parse(Files.readString(out.resolve("eval_report.json")));
        EvalReport base = EvalReport.parse(Files.readString(out.resolve("base_report.json")));
        assertEquals("tuned", tuned.model());
        assertEquals("base", base.model());
        assertEquals(6L, tuned.counts().get("examples"));
        assertEquals(Map.of("qa", 2L, "tool", 2L, "chat", 2L),
                Map.of("qa", tuned.counts().get("qa"), "tool", tuned.counts().get("tool"), "chat", tuned.counts().get("chat")),
                "round-robin over chat, tools, QA");
        assertEquals(6L, tuned.counts().get("loss_examples") + tuned.counts().get("loss_skipped"));
        assertTrue(tuned.counts().get("loss_examples") > 0);
        // Same weights, same loss; the CPU backend's threaded sums may differ in the last bits between runs.
        assertEquals(tuned.metric("eval_loss"), base.metric("eval_loss"), 1e-6, "same weights, same loss");
        assertEquals(0.0, tuned.metric("json_validity_rate"), "a text answer is no tool call");
        String summary = Files.readString(out.resolve("summary.txt"));
        assertTrue(text.contains(summary), "printed table is summary.txt");
        assertEquals(EvalReport.compare(base, tuned), summary);
        assertNotNull(ImageIO.read(out.resolve("compare.png").toFile()), "compare.png does not decode");
    }

    @Test
    void runsOnTheRealEngineWithALossThatMatchesItsPerplexity(@TempDir Path tmp) throws Exception {
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        Path out = tmp.resolve("out");
        InfoCommandTest.Run run = InfoCommandTest.run("eval", "--model", model.toString(), "--out", out.toString(),
                "--max-samples", "3", "--max-new-tokens", "3", "--warmup", "0");
        assertEquals(0, run.exit(), run.err());
        var report = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("eval_report.json").toFile());
        double loss = report.at("/metrics/eval_loss").asDouble();
        // A random tiny model: loss near ln(vocab) and perplexity exactly exp(loss).
        assertTrue(loss > 0 && loss < 2 * Math.log(TinyModel.spec().vocabSize()), report.toString());
        assertEquals(Math.exp(loss), report.at("/metrics/perplexity").asDouble(), 1e-9 * Math.exp(loss));
        assertEquals(3, report.at("/counts/examples").asInt(), report.toString());
        assertTrue(report.at("/counts/completion_tokens").asInt() >= 3, report.toString());
    }

    @Test
    void compareBaseNeedsSomethingToCompare(@TempDir Path tmp) {
        InfoCommandTest.Run run = InfoCommandTest.run("eval", "--model", tmp.toString(), "--compare-base");
        assertEquals(1, run.exit(), run.err());
        assertTrue(run.err().contains("--compare-base needs --adapter"), run.err());
    }
}
