package jlora.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * KorQuAD v1 (SQuAD v1 layout): {@code data[].paragraphs[].context} with
 * {@code qas[].question} and {@code answers[].text / answer_start}. Each question becomes one
 * record; its line is the line its article starts on (the tree inside an article carries none).
 */
final class KorQuad {
    private KorQuad() {}

    static void flatten(ObjectNode article, long line, RecordSink sink) {
        JsonNode paragraphs = article.get("paragraphs");
        if (!paragraphs.isArray()) {
            sink.malformed(Problem.Kind.MISSING_FIELD, line, 0, "KorQuAD article: \"paragraphs\" is not a list");
            return;
        }
        for (JsonNode para : paragraphs) {
            JsonNode qas = para.path("qas");
            if (!qas.isArray() || qas.isEmpty()) {
                sink.malformed(Problem.Kind.MISSING_FIELD, line, 0, "KorQuAD paragraph without \"qas\"");
                continue;
            }
            for (JsonNode qa : qas) {
                ObjectNode rec = JsonLinesReader.JSON.createObjectNode();
                if (article.has("title")) rec.set("title", article.get("title"));
                rec.set("context", para.get("context"));
                rec.set("question", qa.get("question"));
                rec.set("answers", qa.get("answers"));
                if (qa.has("id")) rec.set("id", qa.get("id"));
                sink.record(rec, line);
            }
        }
    }
}
