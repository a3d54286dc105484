package jlora.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Path;
import java.util.Set;

/**
 * A .json file, streamed with Jackson's parser one record at a time. Accepts what
 * {@code datasets.load_dataset("json")} and the seed projects write: an array of records;
 * {@code {"version": ..., "data": [...]}} where data holds records or KorQuAD v1 articles
 * (each question becomes one record {@code context, question, answers, id, title}); and JSON
 * Lines saved under .json. A syntax error ends the file (one JSON document cannot be resumed
 * after one) and is reported with its line and column.
 */
final class JsonDocumentReader implements DatasetReader {
    private static final Set<String> WRAPPER_FIELDS = Set.of("data", "version");
    /** Without FAIL_ON_TRAILING_TOKENS: here a record is followed by the rest of the document. */
    private static final ObjectMapper DOC = new ObjectMapper();

    @Override
    public void read(Path file, RecordSink sink) throws IOException {
        // A Reader, not bytes, so Jackson's columns count characters (Korean is 3 bytes a char).
        try (Reader raw = TextFiles.open(file);
             JsonParser p = DOC.getFactory().createParser(raw)) {
            p.setCodec(DOC);
            try {
                readRoots(p, sink);
            } catch (JsonProcessingException e) {
                var loc = e.getLocation();
                sink.malformed(Problem.Kind.MALFORMED_JSON, loc == null ? 0 : loc.getLineNr(), loc == null ? 0 : loc.getColumnNr(),
                        "not valid JSON: " + e.getOriginalMessage().lines().findFirst().orElse("") + " (the rest of this file is skipped)");
            }
        }
    }

    private static void readRoots(JsonParser p, RecordSink sink) throws IOException {
        JsonToken t;
        while ((t = p.nextToken()) != null) {
            long line = p.currentTokenLocation().getLineNr();
            if (t == JsonToken.START_ARRAY) {
                readRecordArray(p, sink);
            } else if (t == JsonToken.START_OBJECT) {
                JsonToken first = p.nextToken();
                if (first == JsonToken.FIELD_NAME && WRAPPER_FIELDS.contains(p.currentName())) {
                    readWrapper(p, sink);
                } else if (first == JsonToken.END_OBJECT) {
                    sink.record(JsonLinesReader.JSON.createObjectNode(), line);
                } else {
                    // Jackson's tree reader can start at a FIELD_NAME inside an object.
                    sink.record((ObjectNode) p.readValueAsTree(), line);
                }
            } else {
                sink.malformed(Problem.Kind.MALFORMED_JSON, line, p.currentTokenLocation().getColumnNr(),
                        "expected a JSON array of records or an object, got " + t);
                p.skipChildren();
            }
        }
    }

    private static void readWrapper(JsonParser p, RecordSink sink) throws IOException {
        for (JsonToken t = p.currentToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("data") && v == JsonToken.START_ARRAY) readRecordArray(p, sink);
            else p.skipChildren();
        }
    }

    private static void readRecordArray(JsonParser p, RecordSink sink) throws IOException {
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t == null) return;
            var loc = p.currentTokenLocation();
            JsonNode node = p.readValueAsTree();
            if (!(node instanceof ObjectNode obj)) {
                sink.malformed(Problem.Kind.MALFORMED_JSON, loc.getLineNr(), loc.getColumnNr(), "expected a record object, got " + t);
            } else if (obj.has("paragraphs")) {
                KorQuad.flatten(obj, loc.getLineNr(), sink);
            } else {
                sink.record(obj, loc.getLineNr());
            }
        }
    }
}
