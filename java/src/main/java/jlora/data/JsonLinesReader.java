package jlora.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Path;

/**
 * JSON Lines: one object per line, read one line at a time so a multi-GB file streams. A bad
 * line is reported with its line and column and the next line is read; blank lines are skipped;
 * CRLF and a leading BOM are accepted.
 */
final class JsonLinesReader implements DatasetReader {
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    @Override
    public void read(Path file, RecordSink sink) throws IOException {
        try (BufferedReader in = TextFiles.open(file)) {
            String line;
            long n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (line.isBlank()) continue;
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    var loc = e.getLocation();
                    sink.malformed(Problem.Kind.MALFORMED_JSON, n, loc == null ? 0 : loc.getColumnNr(),
                            "not valid JSON: " + e.getOriginalMessage().lines().findFirst().orElse(""));
                    continue;
                }
                if (node instanceof ObjectNode obj) {
                    sink.record(obj, n);
                } else {
                    sink.malformed(Problem.Kind.MALFORMED_JSON, n, 1, "expected a JSON object per line, got " + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
                }
            }
        }
    }
}
