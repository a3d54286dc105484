package jlora.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jlora.UserError;

/**
 * The sampling settings a model ships in generation_config.json (Qwen2.5-Instruct: do_sample,
 * temperature 0.7, top_p 0.8, top_k 20, repetition_penalty 1.05), used where a request or a
 * command line leaves a field unset. Absent fields take transformers' GenerationConfig
 * defaults (temperature 1, top_p 1, top_k 50, min_p off, repetition_penalty 1); do_sample
 * false (transformers' default) means greedy. max_new_tokens defaults to 512, not to
 * transformers' max_length of 20, which would cut nearly every chat answer.
 */
public record GenerationDefaults(boolean doSample, double temperature, double topP, int topK, double minP,
                                 double repetitionPenalty, int maxNewTokens) {
    public static final GenerationDefaults TRANSFORMERS = new GenerationDefaults(false, 1.0, 1.0, 50, 0.0, 1.0, 512);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@link #TRANSFORMERS} overlaid with {@code dir/generation_config.json} when it exists. */
    public static GenerationDefaults load(Path dir) {
        Path file = dir.resolve("generation_config.json");
        if (!Files.isRegularFile(file)) return TRANSFORMERS;
        JsonNode n;
        try {
            n = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UserError(file + " is not valid JSON (" + e.getMessage() + "); fix or remove it");
        }
        if (n == null || !n.isObject()) throw new UserError(file + ": expected a JSON object");
        GenerationDefaults d = TRANSFORMERS;
        return new GenerationDefaults(bool(n, "do_sample", d.doSample, file), num(n, "temperature", d.temperature, file),
                num(n, "top_p", d.topP, file), (int) num(n, "top_k", d.topK, file), num(n, "min_p", d.minP, file),
                num(n, "repetition_penalty", d.repetitionPenalty, file), (int) num(n, "max_new_tokens", d.maxNewTokens, file));
    }

    /** These defaults as sampling parameters; greedy (temperature 0) unless do_sample. */
    public SamplingParams sampling(Long seed, List<String> stop) {
        return new SamplingParams(doSample ? temperature : 0, topP, topK, minP, repetitionPenalty, seed, maxNewTokens, stop);
    }

    private static double num(JsonNode n, String field, double fallback, Path file) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw new UserError(file + ": " + field + " is " + v + "; give a number");
        return v.doubleValue();
    }

    private static boolean bool(JsonNode n, String field, boolean fallback, Path file) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isBoolean()) throw new UserError(file + ": " + field + " is " + v + "; give true or false");
        return v.booleanValue();
    }
}
