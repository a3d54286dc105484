package jlora.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jlora.UserError;
import jlora.model.ModelType;

/**
 * The {@code tokenizer.*} metadata of a GGUF file, read from a Hugging Face model dir's
 * tokenizer.json and tokenizer_config.json as convert_hf_to_gguf.py does for the two kinds
 * llama.cpp runs:
 *
 * <ul>
 *   <li>"gpt2" — byte-level BPE (Qwen, Llama 3): tokens in id order, merges as "a b" strings,
 *       and a {@code tokenizer.ggml.pre} naming the pre-tokenizer regex llama.cpp should use.
 *   <li>"llama" — SentencePiece BPE with byte fallback (Llama 2, Mistral v0.1): tokens, scores
 *       and token types. convert_hf_to_gguf reads the scores from tokenizer.model; we derive
 *       them from tokenizer.json's merges instead, so that llama.cpp's SentencePiece merge
 *       order (highest-scoring result first) is the merge-rank order tokenizers applies: the
 *       piece that merge r creates scores −r, pieces no merge creates score below them all.
 * </ul>
 *
 * Token types (gguf-py TokenType): 1 normal, 2 unknown, 3 control (special added tokens),
 * 4 user-defined (other added tokens), 5 unused (padding rows beyond the tokenizer), 6 byte.
 */
public record GgufTokenizer(
        String model,
        String pre,
        List<String> tokens,
        int[] tokenTypes,
        float[] scores,
        List<String> merges,
        Integer bosId,
        Integer eosId,
        Integer padId,
        Integer unkId,
        Boolean addBos,
        Boolean addEos,
        String chatTemplate) {

    /** Qwen2's pre-tokenizer regex (llama.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2). */
    static final String QWEN2_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Llama 3's regex (LLAMA_VOCAB_PRE_TYPE_LLAMA3, "llama-bpe"): numbers in runs of up to 3. */
    static final String LLAMA3_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads the tokenizer of {@code dir}, padded with unused tokens up to {@code vocabRows}. */
    public static GgufTokenizer read(Path dir, ModelType type, int vocabRows) {
        Path tj = dir.resolve("tokenizer.json");
        JsonNode root = readJson(tj, true);
        JsonNode cfg = readJson(dir.resolve("tokenizer_config.json"), false);
        JsonNode m = root.path("model");
        if (!"BPE".equals(m.path("type").asText())) {
            throw new UserError(tj + ": model.type '" + m.path("type").asText() + "' is not BPE; GGUF export"
                    + " supports byte-level BPE (Qwen, Llama 3) and SentencePiece BPE (Llama 2, Mistral) tokenizers");
        }
        Map<Integer, String> byId = new HashMap<>();
        m.path("vocab").properties().forEach(e -> byId.put(e.getValue().asInt(), e.getKey()));
        Map<Integer, Boolean> added = new HashMap<>(); // id -> special
        for (JsonNode t : root.path("added_tokens")) {
            byId.put(t.path("id").asInt(), t.path("content").asText());
            added.put(t.path("id").asInt(), t.path("special").asBoolean(false));
        }
        int maxId = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
        int n = Math.max(vocabRows, maxId + 1);
        if (n > vocabRows) {
            throw new UserError(tj + ": the tokenizer has ids up to " + maxId + " but the model's embedding has "
                    + vocabRows + " rows; the tokenizer does not belong to this model");
        }
        boolean byteFallback = m.path("byte_fallback").asBoolean(false);
        String ggmlModel = byteFallback ? "llama" : "gpt2";
        String unkToken = m.path("unk_token").isTextual() ? m.path("unk_token").asText() : null;
        List<String> tokens = new ArrayList<>(n);
        int[] types = new int[n];
        float[] scores = byteFallback ? new float[n] : null;
        Map<String, Integer> idOf = new HashMap<>();
        for (int id = 0; id < n; id++) {
            String s = byId.get(id);
            if (s == null) {
                tokens.add("[PAD" + id + "]");
                types[id] = 5;
            } else {
                tokens.add(s);
                idOf.putIfAbsent(s, id);
                if (added.containsKey(id)) types[id] = added.get(id) ? 3 : 4;
                else if (s.equals(unkToken)) types[id] = 2;
                else if (byteFallback && s.matches("<0x[0-9A-Fa-f]{2}>")) types[id] = 6;
                else types[id] = 1;
            }
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode mg : m.path("merges")) {
            // tokenizers >= 0.20 writes merges as [a, b] pairs, older files as "a b" strings
            merges.add(mg.isArray() ? mg.get(0).asText() + " " + mg.get(1).asText() : mg.asText());
        }
        if (scores != null) spmScores(merges, idOf, scores);
        String pre = byteFallback ? null : preTokenizer(root, type);
        return new GgufTokenizer(ggmlModel, pre, tokens, types, scores, byteFallback ? List.of() : merges,
                specialId(cfg, "bos_token", idOf), specialId(cfg, "eos_token", idOf),
                specialId(cfg, "pad_token", idOf), unkToken != null ? idOf.get(unkToken) : specialId(cfg, "unk_token", idOf),
                cfg.has("add_bos_token") ? cfg.get("add_bos_token").asBoolean() : null,
                cfg.has("add_eos_token") ? cfg.get("add_eos_token").asBoolean() : null,
                chatTemplate(dir, cfg));
    }

    private static void spmScores(List<String> merges, Map<String, Integer> idOf, float[] scores) {
        int n = merges.size();
        for (int i = 0; i < scores.length; i++) scores[i] = -(n + i);
        java.util.BitSet set = new java.util.BitSet(scores.length);
        for (int r = 0; r < n; r++) {
            String mg = merges.get(r);
            int sp = mg.indexOf(' ');
            Integer id = idOf.get(mg.substring(0, sp) + mg.substring(sp + 1));
            if (id != null && !set.get(id)) {
                scores[id] = -r;
                set.set(id);
            }
        }
    }

    /** Writes the tokenizer.* keys. */
    public void putInto(GgufWriter w) {
        w.putString("tokenizer.ggml.model", model);
        if (pre != null) w.putString("tokenizer.ggml.pre", pre);
        w.putStrings("tokenizer.ggml.tokens", tokens);
        if (scores != null) w.putF32s("tokenizer.ggml.scores", scores);
        w.putI32s("tokenizer.ggml.token_type", tokenTypes);
        if (model.equals("gpt2")) w.putStrings("tokenizer.ggml.merges", merges);
        if (bosId != null) w.putU32("tokenizer.ggml.bos_token_id", bosId);
        if (eosId != null) w.putU32("tokenizer.ggml.eos_token_id", eosId);
        if (unkId != null) w.putU32("tokenizer.ggml.unknown_token_id", unkId);
        if (padId != null) w.putU32("tokenizer.ggml.padding_token_id", padId);
        if (addBos != null) w.putBool("tokenizer.ggml.add_bos_token", addBos);
        if (addEos != null) w.putBool("tokenizer.ggml.add_eos_token", addEos);
        if (chatTemplate != null) w.putString("tokenizer.chat_template", chatTemplate);
    }

    /**
     * llama.cpp picks its pre-tokenizer by name; convert_hf_to_gguf recognises it by hashing a
     * sample tokenization. We recognise the Split regex of tokenizer.json instead, and fall back
     * to the family's usual one.
     */
    static String preTokenizer(JsonNode root, ModelType type) {
        String regex = findRegex(root.path("pre_tokenizer"));
        if (QWEN2_REGEX.equals(regex)) return "qwen2";
        if (LLAMA3_REGEX.equals(regex)) return "llama-bpe";
        return switch (type) {
            case QWEN2, QWEN3 -> "qwen2";
            case LLAMA, MISTRAL -> "llama-bpe";
        };
    }

    private static String findRegex(JsonNode pre) {
        if (pre.path("type").asText().equals("Split") && pre.path("pattern").has("Regex")) {
            return pre.path("pattern").path("Regex").asText();
        }
        for (JsonNode p : pre.path("pretokenizers")) {
            String r = findRegex(p);
            if (r != null) return r;
        }
        return null;
    }

    private static Integer specialId(JsonNode cfg, String key, Map<String, Integer> idOf) {
        JsonNode v = cfg.path(key);
        String s = v.isTextual() ? v.asText() : v.path("content").isTextual() ? v.path("content").asText() : null;
        return s == null ? null : idOf.get(s);
    }

    /** tokenizer_config.json's chat_template (a string, or a list of named ones: "default"), else chat_template.jinja. */
    private static String chatTemplate(Path dir, JsonNode cfg) {
        JsonNode t = cfg.path("chat_template");
        if (t.isTextual()) return t.asText();
        if (t.isArray()) {
            for (JsonNode e : t) if ("default".equals(e.path("name").asText())) return e.path("template").asText();
        }
        Path jinja = dir.resolve("chat_template.jinja");
        try {
            return Files.isRegularFile(jinja) ? Files.readString(jinja) : null;
        } catch (IOException e) {
            throw new UserError("cannot read " + jinja + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path p, boolean required) {
        if (!Files.isRegularFile(p)) {
            if (required) throw new UserError(p + " is missing: GGUF export needs the model's tokenizer.json");
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new UserError(p + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
    }
}
