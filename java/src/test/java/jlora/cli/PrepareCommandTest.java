package jlora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jlora.data.DataFile;
import jlora.data.ExampleTokenizer;
import jlora.data.LengthStats;
import jlora.data.ReaderOptions;
import jlora.data.TokenizeOptions;
import jlora.data.TokenizedExample;
import jlora.data.ValidationReport;
import jlora.model.TinyModel;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `jlora prepare` end to end on the bundled sample set with the tiny model. The oracle for
 * stats.json is a recount: the written split files are read back with the ordinary readers
 * and re-tokenized, and their statistics must equal what the command saved (exact; doubles to
 * 1e-9). The counts must add up with validation.json; the PNG must decode.
 */
class PrepareCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void preparesTheBundledSampleAndItsStatsMatchARecount(@TempDir Path tmp) throws Exception {
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        Path out = tmp.resolve("out");
        int max = 160; // the tiny BPE tokenizer: some bundled samples are longer, most are not
        InfoCommandTest.Run run = InfoCommandTest.run("prepare", "--model", model.toString(), "--out", out.toString(),
                "--max-seq-length", String.valueOf(max), "--seed", "7");
        assertEquals(0, run.exit(), run.err() + run.out());
        for (String f : PrepareCommand.OUTPUTS) assertTrue(Files.isRegularFile(out.resolve(f)), f + " missing; output:\n" + run.out());

        JsonNode stats = JSON.readTree(out.resolve("stats.json").toFile());
        JsonNode validation = JSON.readTree(out.resolve("validation.json").toFile());
        Tokenizer tok = Tokenizer.load(model);
        ChatTemplate template = ChatTemplate.load(model);
        long written = 0;
        for (String split : List.of("train", "eval", "test")) {
            var again = new ExampleTokenizer(tok, template, TokenizeOptions.defaults(max));
            List<Integer> lengths = new ArrayList<>();
            long[] trained = {0};
            ValidationReport report = new ValidationReport();
            DataFile.read(out.resolve(split + ".jsonl"), ReaderOptions.DEFAULTS, again.check(), report, e -> {
                TokenizedExample t = again.take(e);
                lengths.add(t.length());
                trained[0] += t.trainedTokens();
            });
            assertTrue(report.clean(), split + ".jsonl does not read back cleanly: " + report.summary());
            LengthStats s = LengthStats.of(lengths.stream().mapToInt(Integer::intValue).toArray(), max);
            JsonNode saved = stats.path("splits").path(split);
            assertEquals(s.count(), saved.path("count").asInt(), split);
            assertEquals(s.min(), saved.path("min").asInt(), split);
            assertEquals(s.max(), saved.path("max").asInt(), split);
            assertEquals(s.mean(), saved.path("mean").asDouble(), 1e-9, split);
            assertEquals(s.median(), saved.path("median").asDouble(), 1e-9, split);
            assertEquals(s.p95(), saved.path("p95").asDouble(), 1e-9, split);
            assertEquals(0, saved.path("over_max_seq_length").asInt(), split + ": dropped examples must not be written");
            assertEquals(trained[0], saved.path("trained_tokens").asLong(), split);
            written += s.count();
        }
        long tooLong = validation.path("problems").path("too_long").path("count").asLong();
        JsonNode all = stats.path("all");
        assertEquals(written + tooLong, all.path("count").asLong(), "every valid row is written or counted too long");
        assertEquals(tooLong, all.path("over_max_seq_length").asLong(), "over max = dropped, with truncation drop");
        assertTrue(tooLong > 0 && written > 0, "max " + max + " should drop some examples and keep others: " + run.out());
        assertEquals(validation.path("valid").asLong(), written, "validation.json valid rows = rows written");
        long splitTotal = written;
        assertEquals(Math.round(0.1 * splitTotal), stats.path("splits").path("eval").path("count").asLong());

        BufferedImage png = ImageIO.read(out.resolve("lengths.png").toFile());
        assertNotNull(png, "lengths.png does not decode");
        assertTrue(png.getWidth() > 100 && png.getHeight() > 100, png.getWidth() + "x" + png.getHeight());
    }

    @Test
    void refusesANonEmptyOutWithoutForceAndIsDeterministicForASeed(@TempDir Path tmp) throws Exception {
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        String tools = jlora.data.SampleData.path(jlora.data.SampleData.TOOLS).toString();
        String[] args = {"prepare", "--data", tools, "--model", model.toString(), "--out", out.toString(), "--seed", "3", "--max-seq-length", "4096"};
        InfoCommandTest.Run refused = InfoCommandTest.run(args);
        assertEquals(1, refused.exit(), refused.err());
        assertTrue(refused.err().contains("--force"), refused.err());
        assertEquals(List.of(out.resolve("keep.txt")), Files.list(out).toList(), "nothing written without --force");

        String[] forced = java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of("--force")).toArray(String[]::new);
        assertEquals(0, InfoCommandTest.run(forced).exit());
        byte[] first = Files.readAllBytes(out.resolve("train.jsonl"));
        assertEquals(0, InfoCommandTest.run(forced).exit());
        assertArrayEquals(first, Files.readAllBytes(out.resolve("train.jsonl")), "same seed, same train split");
    }

    @Test
    void weightsAndDataFilesFilterPickAndScaleRows(@TempDir Path tmp) throws Exception {
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        Path dir = tmp.resolve("data");
        Files.createDirectories(dir.resolve("sub"));
        String row = "{\"messages\": [{\"role\": \"user\", \"content\": \"질문 %d\"}, "
                + "{\"role\": \"assistant\", \"content\": \"답 %d\"}]}\n";
        StringBuilder four = new StringBuilder();
        for (int i = 0; i < 4; i++) four.append(row.formatted(i, i));
        Files.writeString(dir.resolve("a.jsonl"), four);
        Files.writeString(dir.resolve("sub/b.jsonl"), row.formatted(9, 9).repeat(3));
        Files.writeString(dir.resolve("notes.txt"), "not data");
        Path out = tmp.resolve("out");
        // Only a.jsonl matches the top-level glob. The 4 distinct rows are split first; weight 2.5
        // then applies to the training split only: floor(2.5)*n + round(0.5*n) rows for its n.
        InfoCommandTest.Run r = InfoCommandTest.run("prepare", "--data", dir + ":2.5", "--data-files", "*.jsonl",
                "--model", model.toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        var stats = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("stats.json").toFile());
        assertEquals(4, stats.at("/all/count").asInt(), stats.toString());
        int held = stats.at("/splits/eval/count").asInt() + stats.at("/splits/test/count").asInt();
        assertEquals(jlora.data.DataMix.expectedCount(4 - held, 2.5), stats.at("/splits/train/count").asInt(), stats.toString());
        java.util.Set<String> train = new java.util.HashSet<>(Files.readAllLines(out.resolve("train.jsonl")));
        for (String split : List.of("eval.jsonl", "test.jsonl")) {
            for (String line : Files.readAllLines(out.resolve(split))) {
                assertFalse(train.contains(line), "an up-sampled row leaked into " + split + ": " + line);
            }
        }
        Path out2 = tmp.resolve("out2");
        InfoCommandTest.Run all = InfoCommandTest.run("prepare", "--data", dir.resolve("a.jsonl").toString(), "--data",
                dir.resolve("sub/b.jsonl") + ":0", "--model", model.toString(), "--out", out2.toString());
        assertEquals(0, all.exit(), all.err());
        var stats2 = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out2.resolve("stats.json").toFile());
        int kept = 0;
        for (String split : List.of("train", "eval", "test")) kept += stats2.at("/splits/" + split + "/count").asInt();
        assertEquals(4, kept, "weight 0 drops b.jsonl's rows from the splits: " + stats2);
    }
}
