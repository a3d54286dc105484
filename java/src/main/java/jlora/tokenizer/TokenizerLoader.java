package jlora.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import jlora.UserError;

/** Builds a {@link Tokenizer} from tokenizer.json and tokenizer_config.json. */
final class TokenizerLoader {
    /** GPT-2's split, used by the ByteLevel pre-tokenizer when use_regex is true. */
    static final String GPT2_REGEX =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private final Path file;

    private TokenizerLoader(Path file) {
        this.file = file;
    }

    static Tokenizer load(Path dir) {
        Path json = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) {
            throw new UserError(json + ": not found; the model directory needs the Hugging Face tokenizer.json");
        }
        ObjectMapper mapper = new ObjectMapper();
        JsonNode root;
        JsonNode config;
        try {
            root = mapper.readTree(json.toFile());
            Path cfg = dir.resolve("tokenizer_config.json");
            config = Files.isRegularFile(cfg) ? mapper.readTree(cfg.toFile()) : JsonNodeFactory.instance.objectNode();
        } catch (IOException e) {
            throw new UserError(json + ": cannot read as JSON (" + e.getMessage() + "); re-download the tokenizer files", e);
        }
        return new TokenizerLoader(json).build(root, config);
    }

    private Tokenizer build(JsonNode root, JsonNode config) {
        JsonNode m = root.path("model");
        String type = m.path("type").asText("BPE");
        if (!type.equals("BPE")) fail("model.type", "model type " + type + " is not supported (only BPE)");
        for (String f : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (!m.path(f).asText("").isEmpty()) fail("model." + f, "is not supported");
        }
        Map<String, Integer> tokenToId = new HashMap<>(m.path("vocab").size() * 2);
        int maxId = -1;
        for (Iterator<Map.Entry<String, JsonNode>> it = m.path("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            tokenToId.put(e.getKey(), e.getValue().asInt());
            maxId = Math.max(maxId, e.getValue().asInt());
        }
        List<AddedToken> added = new ArrayList<>();
        for (JsonNode a : root.path("added_tokens")) {
            AddedToken t = new AddedToken(a.path("id").asInt(), a.path("content").asText(), a.path("special").asBoolean(),
                    a.path("single_word").asBoolean(), a.path("lstrip").asBoolean(), a.path("rstrip").asBoolean(),
                    a.path("normalized").asBoolean());
            added.add(t);
            maxId = Math.max(maxId, t.id());
        }
        // Added tokens join the token -> id map the model looks words up in (as transformers.js does).
        for (AddedToken t : added) tokenToId.put(t.content(), t.id());
        String[] idToToken = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : tokenToId.entrySet()) idToToken[e.getValue()] = e.getKey();
        for (AddedToken t : added) idToToken[t.id()] = t.content();

        Set<String> specialStrings = new HashSet<>();
        for (AddedToken t : added) if (t.special()) specialStrings.add(t.content());
        for (JsonNode s : config.path("additional_special_tokens")) specialStrings.add(tokenContent(s));
        boolean[] special = new boolean[idToToken.length];
        for (String s : specialStrings) {
            Integer id = tokenToId.get(s);
            if (id != null) special[id] = true;
        }

        PreTokenizer pre = preTokenizer(root.path("pre_tokenizer"), "pre_tokenizer");
        BpeModel.Mode mode = BpeModel.Mode.PLAIN;
        char replacement = '\u2581';
        if (uses(root.path("pre_tokenizer"), "ByteLevel")) mode = BpeModel.Mode.BYTE_LEVEL;
        JsonNode meta = find(root.path("pre_tokenizer"), "Metaspace");
        if (meta != null) {
            mode = BpeModel.Mode.METASPACE;
            replacement = meta.path("replacement").asText("\u2581").charAt(0);
        }
        String unk = m.path("unk_token").isTextual() ? m.path("unk_token").asText() : null;
        int unkId = unk == null ? -1 : tokenToId.getOrDefault(unk, -1);
        BpeModel model = new BpeModel(tokenToId, merges(m.path("merges"), tokenToId), mode, replacement,
                m.path("ignore_merges").asBoolean(false), unkId, m.path("byte_fallback").asBoolean(false));

        Tokenizer.SpecialTokens specials = new Tokenizer.SpecialTokens(
                configId(config, "bos_token", tokenToId), configId(config, "eos_token", tokenToId),
                configId(config, "pad_token", tokenToId), configId(config, "unk_token", tokenToId),
                config.path("add_bos_token").asBoolean(false), config.path("add_eos_token").asBoolean(false));
        Set<String> addedContents = new HashSet<>();
        for (AddedToken t : added) addedContents.add(t.content());
        return new Tokenizer(normalizer(root.path("normalizer"), "normalizer"), pre, model,
                postProcessor(root.path("post_processor"), tokenToId), decoder(root.path("decoder"), "decoder", addedContents),
                added, tokenToId, idToToken, special, m.path("fuse_unk").asBoolean(false), specials,
                config.path("clean_up_tokenization_spaces").asBoolean(true), config);
    }

    /** Merges as "left right" strings (tokenizers < 0.20) or [left, right] pairs. */
    private MergeTable merges(JsonNode merges, Map<String, Integer> tokenToId) {
        int n = merges.size();
        int[] left = new int[n];
        int[] right = new int[n];
        int[] result = new int[n];
        int k = 0;
        for (JsonNode mg : merges) {
            String a;
            String b;
            if (mg.isArray()) {
                a = mg.get(0).asText();
                b = mg.get(1).asText();
            } else {
                String s = mg.asText();
                int sp = s.indexOf(' ');
                if (sp < 0) fail("model.merges[" + k + "]", "\"" + s + "\" is not two tokens separated by a space");
                a = s.substring(0, sp);
                int sp2 = s.indexOf(' ', sp + 1);
                b = s.substring(sp + 1, sp2 < 0 ? s.length() : sp2);
            }
            Integer ia = tokenToId.get(a);
            Integer ib = tokenToId.get(b);
            Integer ir = tokenToId.get(a + b);
            // A merge whose parts or result are not in the vocabulary can never fire: keep its
            // rank slot so later ranks stay aligned, but make it unmatchable.
            boolean ok = ia != null && ib != null && ir != null;
            left[k] = ok ? ia : Integer.MAX_VALUE;
            right[k] = ok ? ib : Integer.MAX_VALUE - k;
            result[k] = ok ? ir : -1;
            k++;
        }
        return new MergeTable(left, right, result);
    }

    private TextNormalizer normalizer(JsonNode n, String field) {
        if (n.isNull() || n.isMissingNode()) return null;
        String type = n.path("type").asText();
        return switch (type) {
            case "NFC" -> new TextNormalizer.Unicode(Form.NFC);
            case "NFD" -> new TextNormalizer.Unicode(Form.NFD);
            case "NFKC" -> new TextNormalizer.Unicode(Form.NFKC);
            case "NFKD" -> new TextNormalizer.Unicode(Form.NFKD);
            case "Lowercase" -> new TextNormalizer.Lowercase();
            case "Prepend" -> new TextNormalizer.Prepend(n.path("prepend").asText());
            case "Replace" -> new TextNormalizer.Replace(pattern(n.path("pattern"), field + ".pattern"), n.path("content").asText());
            case "Strip" -> new TextNormalizer.Strip(n.path("left").asBoolean(true), n.path("right").asBoolean(true));
            case "Sequence" -> {
                List<TextNormalizer> steps = new ArrayList<>();
                int i = 0;
                for (JsonNode s : n.path("normalizers")) {
                    TextNormalizer step = normalizer(s, field + ".normalizers[" + i++ + "]");
                    if (step != null) steps.add(step);
                }
                yield new TextNormalizer.Sequence(steps);
            }
            default -> throw fail(field + ".type", "normalizer " + type + " is not supported");
        };
    }

    private PreTokenizer preTokenizer(JsonNode n, String field) {
        if (n.isNull() || n.isMissingNode()) return null;
        String type = n.path("type").asText();
        return switch (type) {
            case "Split" -> {
                String regex = n.path("pattern").path("Regex").asText("");
                boolean plain = behavior(n.path("behavior").asText("Isolated"), field) == PreTokenizer.Behavior.ISOLATED
                        && !n.path("invert").asBoolean(false);
                if (plain && regex.equals(GptSplit.QWEN_REGEX)) yield new GptSplit(1);
                if (plain && regex.equals(GptSplit.LLAMA3_REGEX)) yield new GptSplit(3);
                yield new PreTokenizer.Split(pattern(n.path("pattern"), field + ".pattern"),
                        behavior(n.path("behavior").asText("Isolated"), field), n.path("invert").asBoolean(false));
            }
            case "ByteLevel" -> new PreTokenizer.ByteLevelSplit(n.path("add_prefix_space").asBoolean(true),
                    n.path("use_regex").asBoolean(true)
                            ? new PreTokenizer.Split(compile(GPT2_REGEX, field), PreTokenizer.Behavior.ISOLATED, false)
                            : null);
            case "Digits" -> new PreTokenizer.Split(compile("\\p{N}", field),
                    n.path("individual_digits").asBoolean(false) ? PreTokenizer.Behavior.ISOLATED
                            : PreTokenizer.Behavior.CONTIGUOUS, false);
            case "Whitespace" -> new PreTokenizer.Split(compile("\\w+|[^\\w\\s]+", field), PreTokenizer.Behavior.REMOVED, true);
            case "WhitespaceSplit" -> new PreTokenizer.Split(compile("\\s+", field), PreTokenizer.Behavior.REMOVED, false);
            case "Metaspace" -> new PreTokenizer.Metaspace(n.path("replacement").asText("\u2581").charAt(0),
                    n.path("add_prefix_space").asBoolean(true), n.path("prepend_scheme").asText("always"));
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                int i = 0;
                for (JsonNode s : n.path("pretokenizers")) {
                    PreTokenizer step = preTokenizer(s, field + ".pretokenizers[" + i++ + "]");
                    if (step != null) steps.add(step);
                }
                yield new PreTokenizer.Sequence(steps);
            }
            default -> throw fail(field + ".type", "pre-tokenizer " + type + " is not supported");
        };
    }

    private PreTokenizer.Behavior behavior(String b, String field) {
        return switch (b) {
            case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
            case "Removed" -> PreTokenizer.Behavior.REMOVED;
            case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
            case "Contiguous" -> PreTokenizer.Behavior.CONTIGUOUS;
            default -> throw fail(field + ".behavior", "split behavior " + b + " is not supported");
        };
    }

    private PostProcessor postProcessor(JsonNode n, Map<String, Integer> tokenToId) {
        if (n.isNull() || n.isMissingNode()) return PostProcessor.NONE;
        String type = n.path("type").asText();
        switch (type) {
            case "ByteLevel":
                return PostProcessor.NONE;
            case "TemplateProcessing": {
                List<Integer> before = new ArrayList<>();
                List<Integer> after = new ArrayList<>();
                boolean seenA = false;
                for (JsonNode item : n.path("single")) {
                    if (item.has("Sequence")) {
                        seenA = true;
                        continue;
                    }
                    String name = item.path("SpecialToken").path("id").asText();
                    JsonNode ids = n.path("special_tokens").path(name).path("ids");
                    if (ids.isMissingNode()) fail("post_processor.special_tokens", "no entry for " + name);
                    for (JsonNode id : ids) (seenA ? after : before).add(id.asInt());
                }
                return new PostProcessor(toArray(before), toArray(after));
            }
            case "BertProcessing":
            case "RobertaProcessing":
                return new PostProcessor(new int[] {n.path("cls").get(1).asInt()}, new int[] {n.path("sep").get(1).asInt()});
            case "Sequence": {
                List<Integer> before = new ArrayList<>();
                List<Integer> after = new ArrayList<>();
                for (JsonNode p : n.path("processors")) {
                    PostProcessor pp = postProcessor(p, tokenToId);
                    for (int id : pp.before()) before.add(id);
                    for (int id : pp.after()) after.add(id);
                }
                return new PostProcessor(toArray(before), toArray(after));
            }
            default:
                throw fail("post_processor.type", "post-processor " + type + " is not supported");
        }
    }

    private TokenDecoder decoder(JsonNode n, String field, Set<String> addedContents) {
        if (n.isNull() || n.isMissingNode()) return null;
        String type = n.path("type").asText();
        return switch (type) {
            case "ByteLevel" -> new TokenDecoder.ByteLevelDecode(addedContents);
            case "Replace" -> {
                if (!n.path("pattern").has("String")) fail(field + ".pattern", "only String patterns are supported in decoders");
                yield new TokenDecoder.Replace(n.path("pattern").path("String").asText(), n.path("content").asText());
            }
            case "ByteFallback" -> new TokenDecoder.ByteFallback();
            case "Fuse" -> new TokenDecoder.Fuse();
            case "Strip" -> new TokenDecoder.Strip(n.path("content").asText(" ").charAt(0),
                    n.path("start").asInt(0), n.path("stop").asInt(0));
            case "Metaspace" -> new TokenDecoder.Metaspace(n.path("replacement").asText("\u2581").charAt(0),
                    n.path("add_prefix_space").asBoolean(true));
            case "Sequence" -> {
                List<TokenDecoder> steps = new ArrayList<>();
                int i = 0;
                for (JsonNode s : n.path("decoders")) {
                    TokenDecoder step = decoder(s, field + ".decoders[" + i++ + "]", addedContents);
                    if (step != null) steps.add(step);
                }
                yield new TokenDecoder.Sequence(steps);
            }
            default -> throw fail(field + ".type", "decoder " + type + " is not supported");
        };
    }

    private Pattern pattern(JsonNode p, String field) {
        if (p.has("String")) return Pattern.compile(Pattern.quote(p.path("String").asText()));
        if (p.has("Regex")) return compile(p.path("Regex").asText(), field);
        throw fail(field, "expected {\"String\": ...} or {\"Regex\": ...}");
    }

    /**
     * HF regexes run in Rust (onig / fancy-regex) with Unicode semantics: \s is the Unicode
     * White_Space property, \p{L} / \p{N} are general categories and (?i) folds case by Unicode
     * rules. UNICODE_CHARACTER_CLASS gives java.util.regex the same meaning for all three.
     */
    private Pattern compile(String regex, String field) {
        try {
            return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw fail(field, "regex " + regex + " does not compile in Java: " + e.getDescription());
        }
    }

    private static boolean uses(JsonNode n, String type) {
        return find(n, type) != null;
    }

    private static JsonNode find(JsonNode n, String type) {
        if (n == null || n.isNull() || n.isMissingNode()) return null;
        if (type.equals(n.path("type").asText())) return n;
        for (JsonNode c : n.path("pretokenizers")) {
            JsonNode f = find(c, type);
            if (f != null) return f;
        }
        return null;
    }

    private static String tokenContent(JsonNode s) {
        return s.isTextual() ? s.asText() : s.path("content").asText(null);
    }

    private static int configId(JsonNode config, String field, Map<String, Integer> tokenToId) {
        JsonNode v = config.path(field);
        if (v.isNull() || v.isMissingNode()) return -1;
        String s = tokenContent(v);
        return s == null ? -1 : tokenToId.getOrDefault(s, -1);
    }

    private static int[] toArray(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    private UserError fail(String field, String what) {
        throw new UserError(file + ": field " + field + ": " + what + "; this tokenizer.json uses a feature jlora does not read yet");
    }
}
