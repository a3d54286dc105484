package jlora.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jlora.data.SampleData;

/**
 * Small, fast variants of the tiny recipe for the trainer tests: the bundled chat samples only,
 * 128-token sequences, two rows per micro-batch, a run dir under a temp dir.
 */
final class TrainFixtures {
    private TrainFixtures() {}

    /** The tiny recipe with the fast settings, then {@code extra} overrides. */
    static List<String> args(Path tmp, String runName, String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "--data", chatSamples(tmp).toString(),
                "--model.max_seq_length", "128",
                "--training.micro_batch_size", "2",
                "--training.gradient_accumulation_steps", "2",
                "--training.logging_steps", "1",
                "--training.eval_steps", "4",
                "--training.save_strategy", "no",
                "--output.dir", tmp.toString(),
                "--output.run_name", runName,
                "--output.plots", "false"));
        a.addAll(Arrays.asList(extra));
        return a;
    }

    /**
     * The bundled chat samples as a plain file: run from the jar (the GPU machine's bundle) the
     * resource is a zip-file-system path whose string names no file, so it is copied out first.
     */
    private static Path chatSamples(Path tmp) {
        Path p = SampleData.path(SampleData.CHAT);
        if (p.getFileSystem() == java.nio.file.FileSystems.getDefault()) return p;
        try {
            Path copy = tmp.resolve(SampleData.CHAT);
            if (!java.nio.file.Files.exists(copy)) java.nio.file.Files.copy(p, copy);
            return copy;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static TrainConfig config(Path tmp, String runName, String... extra) {
        return TrainConfig.resolve("tiny", null, args(tmp, runName, extra));
    }

    /** The train/loss values of metrics.jsonl, in file order, as exact doubles. */
    static List<String> lossLines(Path runDir) {
        try {
            return Files.readAllLines(runDir.resolve("metrics.jsonl")).stream()
                    .filter(l -> l.contains("\"train/loss\"") || l.contains("\"eval/loss\""))
                    .map(l -> l.replaceAll("\"time\":[^,]*,", "").replaceAll(",\"train/tokens_per_s\":[^,}]*", ""))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] adapterBytes(Path adapterDir) {
        try {
            return Files.readAllBytes(adapterDir.resolve("adapter_model.safetensors"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
