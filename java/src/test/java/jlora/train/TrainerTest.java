package jlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jlora.data.SampleData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tiny default exactly as `./jlora train` runs it (only the output directory differs): the
 * one end-to-end run of the default in the suite, about a minute on two cores. Oracles: the
 * run's own first logged losses (train must fall by at least 2 nats, measured 7.57 -> 3.57;
 * eval must fall below its step-0 value); the bundled sample data for the sample answer, which
 * must hold no U+FFFD (no broken UTF-8 from stray byte tokens) and at least one Hangul word of
 * two or more syllables that occurs in the samples' assistant answers (measured: "' 일정을
 * 추가했어요."), i.e. text learned from the data rather than noise. Also: the final adapter and
 * tokenizer files land in runs/NAME/final.
 */
class TrainerTest {
    private static final Pattern HANGUL_WORD = Pattern.compile("[\\uAC00-\\uD7A3]{2,}");

    @TempDir
    Path tmp;

    @Test
    void tinyDefaultLearnsTheSamples() throws IOException {
        TrainConfig c = TrainConfig.resolve("tiny", null, List.of("--output.dir", tmp.toString(), "--output.run_name", "tiny"));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        TrainRun.Outcome o = TrainRun.execute(c, tmp.resolve("tiny"), null, new PrintStream(buf, true, StandardCharsets.UTF_8),
                TrainerHooks.NONE, true);
        Trainer.Result r = o.stages().getFirst();
        String log = buf.toString(StandardCharsets.UTF_8);
        assertEquals((long) c.training().maxSteps(), r.steps(), log);
        assertTrue(Double.isFinite(r.firstLoss()) && Double.isFinite(r.lastLoss()), log);
        assertTrue(r.lastLoss() < r.firstLoss() - 2.0, "train loss " + r.firstLoss() + " -> " + r.lastLoss() + "\n" + log);
        assertTrue(r.lastEval() < r.firstEval(), "eval loss " + r.firstEval() + " -> " + r.lastEval() + "\n" + log);

        String answer = o.sample();
        assertFalse(answer.contains("\uFFFD"), "sample answer has U+FFFD (broken UTF-8): '" + answer + "'\n" + log);
        String answers = sampleAnswers();
        List<String> words = new ArrayList<>(), learned = new ArrayList<>();
        for (Matcher m = HANGUL_WORD.matcher(answer); m.find(); ) {
            words.add(m.group());
            if (answers.contains(m.group())) learned.add(m.group());
        }
        assertFalse(learned.isEmpty(), "sample answer '" + answer + "': no Hangul word of 2+ syllables from the samples'"
                + " answers (its words: " + words + ")\n" + log);

        Path fin = tmp.resolve("tiny/final");
        for (String f : List.of("adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "tokenizer_config.json")) {
            assertTrue(Files.isRegularFile(fin.resolve(f)), f + " missing in " + fin);
        }
        assertTrue(Files.isRegularFile(tmp.resolve("tiny").resolve(TrainConfig.RESOLVED_FILE)));
        assertFalse(TrainFixtures.lossLines(tmp.resolve("tiny")).isEmpty());
    }

    /** The assistant turns of the chat and tool samples and the KorQuAD answers, joined. */
    static String sampleAnswers() throws IOException {
        ObjectMapper json = new ObjectMapper();
        StringBuilder out = new StringBuilder();
        for (String name : SampleData.ALL) {
            Path file = SampleData.path(name);
            List<JsonNode> docs = new ArrayList<>();
            if (name.endsWith(".jsonl")) {
                for (String line : Files.readAllLines(file)) if (!line.isBlank()) docs.add(json.readTree(line));
            } else {
                docs.add(json.readTree(file.toFile()));
            }
            for (JsonNode d : docs) collect(d, out);
        }
        return out.toString();
    }

    private static void collect(JsonNode n, StringBuilder out) {
        if (n.isObject()) {
            if ("assistant".equals(n.path("role").asText()) && n.path("content").isTextual()) {
                out.append(n.get("content").asText()).append('\n');
            }
            for (JsonNode a : n.path("answers")) out.append(a.path("text").asText()).append('\n');
        }
        for (JsonNode child : n) collect(child, out);
    }
}
