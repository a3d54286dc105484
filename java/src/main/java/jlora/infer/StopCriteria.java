package jlora.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import jlora.UserError;

/**
 * When a generation ends: on an end-of-sequence token (config.json's eos_token_id, the
 * tokenizer's eos token and generation_config.json's eos_token_id together, as transformers
 * merges them; Qwen2.5-Instruct ends turns with {@code <|im_end|>}, which only
 * generation_config lists), on a stop string in the decoded text ({@link StopStrings}), or
 * after {@code maxNewTokens} tokens.
 */
public record StopCriteria(Set<Integer> eosIds, List<String> stopStrings, int maxNewTokens) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public StopCriteria {
        eosIds = Set.copyOf(eosIds);
        stopStrings = stopStrings.stream().filter(s -> !s.isEmpty()).toList();
        if (maxNewTokens < 1) throw new UserError("max_new_tokens must be at least 1, got " + maxNewTokens);
    }

    public boolean isEos(int id) {
        return eosIds.contains(id);
    }

    public StopStrings newMatcher() {
        return new StopStrings(stopStrings);
    }

    /**
     * The eos ids of generation_config.json in {@code modelDir} (if present) added to
     * {@code fromConfig}; a malformed file is an error, not silently ignored.
     */
    public static Set<Integer> eosIds(Path modelDir, List<Integer> fromConfig, int tokenizerEos) {
        Set<Integer> ids = new LinkedHashSet<>(fromConfig);
        if (tokenizerEos >= 0) ids.add(tokenizerEos);
        Path gen = modelDir.resolve("generation_config.json");
        if (!Files.isRegularFile(gen)) return ids;
        try {
            JsonNode eos = JSON.readTree(gen.toFile()).get("eos_token_id");
            if (eos == null || eos.isNull()) return ids;
            if (eos.isInt()) ids.add(eos.intValue());
            else if (eos.isArray()) for (JsonNode n : eos) {
                if (!n.isInt()) throw new UserError(gen + ": eos_token_id holds " + n + "; give integers");
                ids.add(n.intValue());
            } else throw new UserError(gen + ": eos_token_id is " + eos + "; give an integer or a list of integers");
        } catch (IOException e) {
            throw new UserError(gen + " is not valid JSON (" + e.getMessage() + "); fix or remove it");
        }
        return ids;
    }
}
