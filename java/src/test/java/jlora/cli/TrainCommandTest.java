package jlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jlora.data.SampleData;
import jlora.model.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `jlora train` through picocli: each clear failure is exit code 1, one line on stderr naming
 * the cause, and no run dir content beyond what the check needed (no checkpoints, no adapter).
 */
class TrainCommandTest {
    @TempDir
    Path tmp;

    InfoCommandTest.Run train(String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--no-sample", "--output.dir", tmp.resolve("runs").toString(),
                "--output.run_name", "r", "--training.max_steps", "2", "--model.max_seq_length", "128",
                "--data", SampleData.path(SampleData.CHAT).toString()));
        args.addAll(Arrays.asList(extra));
        return InfoCommandTest.run(args.toArray(String[]::new));
    }

    static void assertOneLineFailure(InfoCommandTest.Run r, String expected) {
        assertEquals(1, r.exit(), r.out() + r.err());
        String err = r.err().strip();
        assertFalse(err.contains("\n"), "more than one line: " + err);
        assertTrue(err.contains(expected), "expected '" + expected + "' in: " + err);
    }

    @Test
    void tokenizerLargerThanTheModelVocabulary() throws IOException {
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        TinyModel.writeTo(model);
        Path cfg = model.resolve("config.json");
        Files.writeString(cfg, Files.readString(cfg).replaceAll("\"vocab_size\": \\d+", "\"vocab_size\": 200"));
        var r = train("--model", model.toString());
        assertOneLineFailure(r, "model/tokenizer mismatch");
        assertFalse(Files.exists(tmp.resolve("runs/r")), "nothing may be written before the checks pass");
    }

    @Test
    void maxSeqLengthBeyondThePositions() {
        assertOneLineFailure(train("--model.max_seq_length", "4096"), "max_position_embeddings 2048");
    }

    @Test
    void unwritableOutputDir() throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        var r = InfoCommandTest.run("train", "--no-sample", "--output.dir", file.toString(), "--output.run_name", "r",
                "--training.max_steps", "2");
        assertOneLineFailure(r, "not writable");
    }

    @Test
    void dataWithoutAValidRow() throws IOException {
        Path bad = Files.writeString(tmp.resolve("bad.jsonl"), "{\"messages\": []}\n{\"messages\": [{\"role\": \"user\"}]}\n");
        var r = InfoCommandTest.run("train", "--no-sample", "--output.dir", tmp.resolve("runs").toString(),
                "--output.run_name", "r", "--data", bad.toString());
        assertOneLineFailure(r, "no valid training example");
        assertFalse(Files.exists(tmp.resolve("runs/r/checkpoints")));
    }

    @Test
    void trainsAndWritesTheResolvedConfig() {
        var r = train("--training.eval_strategy", "no");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(Files.isRegularFile(tmp.resolve("runs/r/config.resolved.yaml")));
        assertTrue(Files.isRegularFile(tmp.resolve("runs/r/final/adapter_model.safetensors")));
    }
}
