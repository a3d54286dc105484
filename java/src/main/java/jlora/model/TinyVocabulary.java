package jlora.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import jlora.data.SampleData;
import jlora.tokenizer.BpeTrainer;

/**
 * The tiny model's BPE vocabulary, learned at materialize time from the bundled Korean sample
 * set ({@link SampleData}): every JSON string value of the three files (message contents, roles,
 * tool names and arguments, tool schemas, KorQuAD contexts, questions and answers), in file and
 * document order. Deterministic: same jar, same merges.
 */
final class TinyVocabulary {
    private TinyVocabulary() {}

    static BpeTrainer.Result train(int vocabSize) {
        return BpeTrainer.train(corpus(), vocabSize);
    }

    static List<String> corpus() {
        ObjectMapper json = new ObjectMapper();
        List<String> out = new ArrayList<>();
        for (String name : SampleData.ALL) {
            String resource = "/jlora/data/sample/" + name;
            try (InputStream in = TinyVocabulary.class.getResourceAsStream(resource)) {
                if (in == null) throw new IllegalStateException("bundled sample " + resource + " is missing from the jar");
                if (name.endsWith(".jsonl")) {
                    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                    for (String line; (line = r.readLine()) != null; ) {
                        if (!line.isBlank()) strings(json.readTree(line), out);
                    }
                } else {
                    strings(json.readTree(in), out);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    private static void strings(JsonNode n, List<String> out) {
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n.isContainerNode()) {
            n.forEach(c -> strings(c, out));
        }
    }
}
