package jlora.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test helper: everything a file yields, with its report. */
record Collected(List<Example> examples, ValidationReport report) {

    static Collected read(Path file, ReaderOptions options) {
        List<Example> out = new ArrayList<>();
        ValidationReport report = new ValidationReport();
        DataFile.read(file, options, ExampleCheck.NONE, report, out::add);
        return new Collected(out, report);
    }

    static Collected read(Path file) { return read(file, ReaderOptions.DEFAULTS); }

    static Path write(Path dir, String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    static Path writeBytes(Path dir, String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    Example only() {
        if (examples.size() != 1) throw new AssertionError("expected 1 example, got " + examples.size() + "\n" + report.summary());
        return examples.getFirst();
    }
}
