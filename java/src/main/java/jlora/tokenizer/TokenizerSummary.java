package jlora.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jlora.UserError;

/**
 * What `jlora info` says about a model's tokenizer, read straight from tokenizer.json and
 * tokenizer_config.json without building the tokenizer: kind, vocabulary, merges, special
 * tokens and whether a chat template is present.
 */
public record TokenizerSummary(String kind, int vocabSize, int merges, int addedTokens, int specialTokens,
                               String bos, String eos, String pad, boolean hasChatTemplate, String tokenizerClass) {

    /** Empty if the directory has no tokenizer.json (some model dirs ship only the weights). */
    public static java.util.Optional<TokenizerSummary> read(Path dir) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) return java.util.Optional.empty();
        ObjectMapper json = new ObjectMapper();
        JsonNode tok = readJson(json, file);
        JsonNode model = tok.path("model");
        String type = model.path("type").asText("?");
        int vocab = model.path("vocab").size();
        int merges = model.path("merges").size();
        int added = 0, special = 0;
        for (JsonNode t : tok.path("added_tokens")) {
            added++;
            if (t.path("special").asBoolean(false)) special++;
            if (t.path("id").asInt(-1) >= vocab) vocab = t.path("id").asInt() + 1;
        }
        String kind = switch (type) {
            case "BPE" -> model.path("byte_fallback").asBoolean(false) ? "SentencePiece-style BPE (byte fallback)"
                    : mentions(tok.path("pre_tokenizer"), "ByteLevel") ? "byte-level BPE" : "BPE";
            case "Unigram" -> "Unigram (SentencePiece)";
            case "WordPiece" -> "WordPiece";
            default -> type;
        };
        Path configFile = dir.resolve("tokenizer_config.json");
        JsonNode config = Files.isRegularFile(configFile) ? readJson(json, configFile) : json.createObjectNode();
        boolean template = config.hasNonNull("chat_template") || Files.isRegularFile(dir.resolve("chat_template.jinja"));
        return java.util.Optional.of(new TokenizerSummary(kind, vocab, merges, added, special,
                tokenText(config.get("bos_token")), tokenText(config.get("eos_token")),
                tokenText(config.get("pad_token")), template, config.path("tokenizer_class").asText(null)));
    }

    public List<String> describe() {
        List<String> out = new ArrayList<>();
        out.add("tokenizer      " + kind + (tokenizerClass != null ? " (" + tokenizerClass + ")" : "") + ", "
                + vocabSize + " ids, " + merges + " merges, " + addedTokens + " added (" + specialTokens + " special)");
        out.add("special        bos " + show(bos) + ", eos " + show(eos) + ", pad " + show(pad));
        out.add("chat template  " + (hasChatTemplate ? "yes" : "none (ChatML will be used)"));
        return out;
    }

    private static String show(String token) {
        return token == null ? "-" : token;
    }

    /** tokenizer_config writes a token as a string or as an AddedToken object with "content". */
    private static String tokenText(JsonNode node) {
        if (node == null || node.isNull()) return null;
        if (node.isTextual()) return node.asText();
        return node.path("content").asText(null);
    }

    private static boolean mentions(JsonNode node, String type) {
        if (node == null || node.isMissingNode() || node.isNull()) return false;
        if (type.equals(node.path("type").asText())) return true;
        for (JsonNode child : node.path("pretokenizers")) if (mentions(child, type)) return true;
        return false;
    }

    private static JsonNode readJson(ObjectMapper json, Path file) {
        try {
            return json.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new UserError(file + (loc != null ? " line " + loc.getLineNr() + " column " + loc.getColumnNr() : "")
                    + ": not valid JSON (" + e.getOriginalMessage() + "); re-download the tokenizer files", e);
        } catch (IOException e) {
            throw new UserError(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
