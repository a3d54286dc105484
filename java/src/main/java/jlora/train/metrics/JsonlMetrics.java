package jlora.train.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.DoubleSupplier;
import jlora.UserError;
import jlora.io.AtomicFiles;

/**
 * metrics.jsonl: one JSON object per logged step, {"step":N,"time":unix-secs,"train/epoch":..,
 * "train/loss":..,...}, keys as in {@link MetricNames}. Each line goes to the file in one
 * unbuffered write, so after a crash every complete line is there; a torn last line is dropped
 * when the file is opened again. Non-finite values are written as the strings "NaN",
 * "Infinity", "-Infinity" (JSON has no such numbers). Text samples are lines with a "text"
 * object instead of scalars.
 */
public final class JsonlMetrics implements MetricsSink {
    public static final String FILE_NAME = "metrics.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final FileOutputStream out;
    private final DoubleSupplier clockSeconds;

    /** Appends to {@code runDir/metrics.jsonl}, creating it. */
    public static JsonlMetrics open(Path runDir) {
        return new JsonlMetrics(runDir.resolve(FILE_NAME), () -> System.currentTimeMillis() / 1000.0);
    }

    /** For a run resumed from the checkpoint at {@code resumeStep}: {@link #truncateAfter}, then append. */
    public static JsonlMetrics resume(Path runDir, long resumeStep) {
        truncateAfter(runDir, resumeStep);
        return open(runDir);
    }

    JsonlMetrics(Path file, DoubleSupplier clockSeconds) {
        this.file = file;
        this.clockSeconds = clockSeconds;
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            dropTornLastLine(file);
            this.out = new FileOutputStream(file.toFile(), true);
        } catch (IOException e) {
            throw new UserError("cannot open " + file + " for appending: " + e.getMessage()
                    + "; check that the run directory is writable");
        }
    }

    /**
     * Before resuming from the checkpoint at {@code resumeStep}: keeps only the lines with step
     * <= resumeStep (the steps after it will be logged again), rewriting the file atomically.
     * A missing file is fine (nothing was logged yet).
     */
    public static void truncateAfter(Path runDir, long resumeStep) {
        Path path = runDir.resolve(FILE_NAME);
        if (!Files.exists(path)) return;
        ByteArrayOutputStream kept = new ByteArrayOutputStream();
        try {
            for (String line : Files.readAllLines(path, StandardCharsets.UTF_8)) {
                JsonNode node = parseOrNull(line);
                if (node == null || !node.path("step").canConvertToLong()) continue; // torn line
                if (node.get("step").asLong() <= resumeStep) {
                    kept.writeBytes((line + "\n").getBytes(StandardCharsets.UTF_8));
                }
            }
        } catch (IOException e) {
            throw new UserError("cannot read " + path + ": " + e.getMessage());
        }
        AtomicFiles.writeBytes(path, kept.toByteArray());
    }

    @Override
    public void log(long step, Map<String, Double> scalars) {
        ObjectNode line = header(step);
        Double epoch = scalars.get(MetricNames.EPOCH);
        if (epoch != null) put(line, MetricNames.EPOCH, epoch);
        scalars.forEach((name, value) -> {
            if (!name.equals(MetricNames.EPOCH)) put(line, name, value);
        });
        write(line);
    }

    @Override
    public void text(long step, String tag, String text) {
        ObjectNode line = header(step);
        line.putObject("text").put(tag, text);
        write(line);
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException ignored) {
            // every line was written when it was logged; nothing is buffered here
        }
    }

    private ObjectNode header(long step) {
        ObjectNode line = JSON.createObjectNode();
        line.put("step", step);
        line.put("time", clockSeconds.getAsDouble());
        return line;
    }

    private static void put(ObjectNode line, String name, double value) {
        if (Double.isFinite(value)) line.put(name, value);
        else line.put(name, String.valueOf(value));
    }

    private void write(ObjectNode line) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            out.write(bytes); // one write per line: the OS sees whole lines, no Java buffer to lose
        } catch (IOException e) {
            throw new UserError("cannot append to " + file + ": " + e.getMessage()
                    + "; check free disk space");
        }
    }

    /** A crash mid-write can leave a last line without its newline; appending after it would glue two lines. */
    private static void dropTornLastLine(Path path) throws IOException {
        if (!Files.exists(path) || Files.size(path) == 0) return;
        byte[] bytes = Files.readAllBytes(path);
        if (bytes[bytes.length - 1] == '\n') return;
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') end--;
        AtomicFiles.writeBytes(path, Arrays.copyOf(bytes, end));
    }

    static JsonNode parseOrNull(String line) {
        if (line.isBlank()) return null;
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            return null;
        }
    }
}
