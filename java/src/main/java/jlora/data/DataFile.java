package jlora.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import jlora.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * One data file read end to end: layout reader, column mapping, record-format detection,
 * conversion and validation. Valid examples go to the consumer in file order; every problem is
 * counted in the report and reading goes on.
 */
public final class DataFile {
    private DataFile() {}

    public static void read(Path file, ReaderOptions options, ExampleCheck check, ValidationReport report, Consumer<Example> out) {
        if (!Files.isRegularFile(file)) throw new UserError(file + ": no such data file; check the path");
        FileFormat format = options.fileFormat() != null ? options.fileFormat() : FileFormat.fromExtension(file);
        String where = file.toString();
        String fileName = file.getFileName().toString();
        RecordConverter converter = new RecordConverter(options, fileName.replaceFirst("\\.[^.]+$", ""));
        Sink sink = new Sink(options, converter, where, check, report, out);
        try {
            format.reader(options).read(file, sink);
        } catch (NoSuchFileException e) {
            throw new UserError(file + ": no such data file; check the path", e);
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (sink.shape == null && sink.records > 0) {
            throw new UserError(file + ": no record had a recognisable format (" + sink.records + " records); "
                    + "expected messages, prompt+completion, instruction/input+output, text or KorQuAD fields, "
                    + "or give a column mapping");
        }
    }

    /** Counts the examples a file yields, without reporting: the first pass of a weighted mix. */
    static long count(Path file, ReaderOptions options) {
        long[] n = {0};
        read(file, options, ExampleCheck.NONE, new ValidationReport(0), e -> n[0]++);
        return n[0];
    }

    private static final class Sink implements RecordSink {
        private final ReaderOptions options;
        private final RecordConverter converter;
        private final String file;
        private final ExampleCheck check;
        private final ValidationReport report;
        private final Consumer<Example> out;
        RecordShape shape;
        long records;

        Sink(ReaderOptions options, RecordConverter converter, String file, ExampleCheck check, ValidationReport report, Consumer<Example> out) {
            this.options = options;
            this.converter = converter;
            this.file = file;
            this.check = check;
            this.report = report;
            this.out = out;
            this.shape = options.shape();
        }

        @Override
        public void record(ObjectNode fields, long line) {
            records++;
            RecordConverter.prepare(fields, options);
            if (shape == null) {
                shape = RecordShape.detect(fields);
                if (shape == null) {
                    report.rejected(new Problem(Problem.Kind.MISSING_FIELD, file, line, 0, "cannot tell the record format from the keys "
                            + fieldNames(fields) + "; expected messages, prompt+completion, instruction/input+output, text or context+question"));
                    return;
                }
            }
            Example e;
            try {
                e = converter.convert(fields, shape, file, line);
            } catch (Rejected r) {
                report.rejected(new Problem(r.kind, file, line, 0, r.getMessage()));
                return;
            }
            String why = check.check(e);
            if (why != null) {
                report.rejected(new Problem(check.kind(e, why), file, line, 0, why));
                return;
            }
            report.accepted(e);
            out.accept(e);
        }

        @Override
        public void malformed(Problem.Kind kind, long line, int column, String reason) {
            report.rejected(new Problem(kind, file, line, column, reason));
        }

        private static java.util.List<String> fieldNames(ObjectNode n) {
            java.util.List<String> names = new java.util.ArrayList<>();
            n.fieldNames().forEachRemaining(names::add);
            return names;
        }
    }
}
