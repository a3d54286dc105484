package jlora.data;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CSV (RFC 4180) and TSV: the first row is the header; fields may be quoted with {@code "},
 * a doubled quote inside is one quote, and quoted fields may hold delimiters and line breaks.
 * Rows end at CRLF, LF or CR. A leading BOM (Excel's "CSV UTF-8") is dropped. Each row becomes
 * a record keyed by header name; its line is the physical line the row starts on. Parsing is
 * lenient where RFC 4180 is silent (a quote inside an unquoted field is kept as text).
 */
final class CsvReader implements DatasetReader {
    private final char delimiter;

    CsvReader(char delimiter) { this.delimiter = delimiter; }

    @Override
    public void read(Path file, RecordSink sink) throws IOException {
        try (Reader in = TextFiles.open(file)) {
            Rows rows = new Rows(in, delimiter);
            List<String> header = null;
            List<String> row;
            while ((row = rows.next()) != null) {
                if (rows.unterminated) {
                    sink.malformed(Problem.Kind.MALFORMED_ROW, rows.rowLine, 0,
                            "a quoted field is never closed (a \" is missing); the rest of the file is skipped");
                    return;
                }
                if (row.size() == 1 && row.getFirst().isEmpty()) continue;   // blank line
                if (header == null) {
                    header = row.stream().map(String::strip).toList();   // "원문 " and "원문" are one column to a person
                    continue;
                }
                if (row.size() > header.size()) {
                    sink.malformed(Problem.Kind.MALFORMED_ROW, rows.rowLine, 0, "row has " + row.size()
                            + " fields but the header has " + header.size() + "; quote fields that contain \"" + printable(delimiter) + "\"");
                    continue;
                }
                ObjectNode rec = JsonLinesReader.JSON.createObjectNode();
                for (int i = 0; i < row.size(); i++) {
                    if (!header.get(i).isEmpty()) rec.put(header.get(i), row.get(i));
                }
                sink.record(rec, rows.rowLine);
            }
        }
    }

    private static String printable(char c) { return c == '\t' ? "\\t" : String.valueOf(c); }

    /** The RFC 4180 state machine, one row per call. */
    private static final class Rows {
        private final Reader in;
        private final char delimiter;
        private long line = 1;
        private int pending = -2;          // one char of look-ahead; -2 = none
        long rowLine;
        boolean unterminated;

        Rows(Reader in, char delimiter) { this.in = in; this.delimiter = delimiter; }

        private int read() throws IOException {
            if (pending != -2) { int c = pending; pending = -2; return c; }
            return in.read();
        }

        List<String> next() throws IOException {
            int c = read();
            if (c == -1) return null;
            rowLine = line;
            List<String> fields = new ArrayList<>();
            StringBuilder field = new StringBuilder();
            boolean quoted = false;        // inside a quoted section
            while (true) {
                if (c == -1) {
                    unterminated = quoted;
                    fields.add(field.toString());
                    return fields;
                }
                if (quoted) {
                    if (c == '"') {
                        int d = read();
                        if (d == '"') field.append('"');
                        else { quoted = false; pending = d; }
                    } else {
                        if (c == '\n' || (c == '\r' && peekNot('\n'))) line++;
                        field.append((char) c);
                    }
                } else if (c == '"' && field.isEmpty()) {
                    quoted = true;
                } else if (c == delimiter) {
                    fields.add(field.toString());
                    field.setLength(0);
                } else if (c == '\r' || c == '\n') {
                    if (c == '\r') {
                        int d = read();
                        if (d != '\n') pending = d;
                    }
                    line++;
                    fields.add(field.toString());
                    return fields;
                } else {
                    field.append((char) c);
                }
                c = read();
            }
        }

        private boolean peekNot(int expected) throws IOException {
            int d = read();
            pending = d;
            return d != expected;
        }
    }
}
