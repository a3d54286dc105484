package jlora.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face tokenizer.json (+ tokenizer_config.json) in pure Java: added tokens are cut
 * out of the raw text first, every other section goes normalizer → pre-tokenizer → BPE, and
 * the post-processor adds BOS / EOS. Output ids are those transformers.js gives for the same
 * files (TokenizerOracleTest checks this). Thread-safe: the only shared mutable state is the
 * model's lock-free word cache. Where HF's Rust tokenizers and transformers.js disagree on
 * regex semantics (\s on U+0085 / U+FEFF, (?i) on U+017F) jlora follows Rust, which produced
 * the models' training data.
 */
public final class Tokenizer {
    private final TextNormalizer normalizer; // null: none
    private final PreTokenizer preTokenizer; // null: the whole section is one word
    private final BpeModel model;
    private final PostProcessor post;
    private final TokenDecoder decoder; // null: tokens joined with spaces
    private final AddedTokenSplitter splitter;
    private final Map<String, Integer> tokenToId;
    private final String[] idToToken;
    private final boolean[] special;
    private final boolean fuseUnk;
    private final SpecialTokens specials;
    private final boolean cleanUpSpaces;
    private final JsonNode config;

    /** Ids from tokenizer_config.json (-1 where absent) and its add_bos / add_eos flags. */
    public record SpecialTokens(int bos, int eos, int pad, int unk, boolean addBosToken, boolean addEosToken) {}

    Tokenizer(TextNormalizer normalizer, PreTokenizer preTokenizer, BpeModel model, PostProcessor post,
              TokenDecoder decoder, List<AddedToken> added, Map<String, Integer> tokenToId, String[] idToToken,
              boolean[] special, boolean fuseUnk, SpecialTokens specials, boolean cleanUpSpaces, JsonNode config) {
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.post = post;
        this.decoder = decoder;
        this.splitter = new AddedTokenSplitter(added);
        this.tokenToId = tokenToId;
        this.idToToken = idToToken;
        this.special = special;
        this.fuseUnk = fuseUnk;
        this.specials = specials;
        this.cleanUpSpaces = cleanUpSpaces;
        this.config = config;
    }

    /** Loads tokenizer.json and, if present, tokenizer_config.json from a model directory. */
    public static Tokenizer load(Path dir) {
        return TokenizerLoader.load(dir);
    }

    public int[] encode(String text, boolean addSpecialTokens) {
        IntBuffer ids = new IntBuffer(text.length() / 3 + 8);
        encodeInto(text, addSpecialTokens, ids, null, null);
        return ids.toArray();
    }

    /** Ids with each token's [start, end) char range in {@code text}. */
    public Encoding encodeWithOffsets(String text, boolean addSpecialTokens) {
        int cap = text.length() / 3 + 8;
        IntBuffer ids = new IntBuffer(cap);
        IntBuffer starts = new IntBuffer(cap);
        IntBuffer ends = new IntBuffer(cap);
        encodeInto(text, addSpecialTokens, ids, starts, ends);
        return new Encoding(ids.toArray(), starts.toArray(), ends.toArray());
    }

    private void encodeInto(String text, boolean addSpecial, IntBuffer ids, IntBuffer starts, IntBuffer ends) {
        if (addSpecial) addAll(post.before(), 0, ids, starts, ends);
        int sectionIndex = 0;
        for (AddedTokenSplitter.Section s : splitter.split(text)) {
            if (s.tokenId() >= 0) {
                ids.add(s.tokenId());
                if (starts != null) {
                    starts.add(s.start());
                    ends.add(s.end());
                }
            } else {
                encodeSection(text, s.start(), s.end(), sectionIndex, ids, starts, ends);
            }
            sectionIndex++;
        }
        if (addSpecial) addAll(post.after(), text.length(), ids, starts, ends);
    }

    private static void addAll(int[] add, int at, IntBuffer ids, IntBuffer starts, IntBuffer ends) {
        for (int id : add) {
            ids.add(id);
            if (starts != null) {
                starts.add(at);
                ends.add(at);
            }
        }
    }

    private void encodeSection(String text, int start, int end, int sectionIndex,
                               IntBuffer ids, IntBuffer starts, IntBuffer ends) {
        Normalized norm = Normalized.slice(text.substring(start, end), start);
        if (normalizer != null) norm = normalizer.apply(norm);
        if (norm.length() == 0) return;
        IntBuffer words = new IntBuffer(3);
        words.add(0, norm.length(), 0);
        if (preTokenizer != null) {
            IntBuffer split = new IntBuffer(norm.length() / 2 + 3);
            preTokenizer.split(norm.text, words, split, sectionIndex);
            words = split;
        }
        int first = ids.size;
        for (int w = 0; w < words.size; w += 3) {
            int ws = words.data[w];
            int we = words.data[w + 1];
            boolean prefix = (words.data[w + 2] & PreTokenizer.PREFIX) != 0;
            if (ws == we && !prefix) continue;
            BpeModel.Word word = model.encode(norm.text, ws, we, prefix);
            for (int id : word.ids()) ids.add(id);
            if (starts != null) WordOffsets.append(norm, ws, we, prefix, model.mode(), word, starts, ends);
        }
        if (fuseUnk) fuseUnknowns(first, ids, starts, ends);
    }

    /** Consecutive unk tokens of one section become one (fuse_unk, as transformers.js applies it). */
    private void fuseUnknowns(int from, IntBuffer ids, IntBuffer starts, IntBuffer ends) {
        int unk = model.unkId();
        int w = from;
        for (int r = from; r < ids.size; r++) {
            if (ids.data[r] == unk && w > from && ids.data[w - 1] == unk) {
                if (ends != null) ends.data[w - 1] = ends.data[r];
                continue;
            }
            ids.data[w] = ids.data[r];
            if (starts != null) {
                starts.data[w] = starts.data[r];
                ends.data[w] = ends.data[r];
            }
            w++;
        }
        ids.size = w;
        if (starts != null) {
            starts.size = w;
            ends.size = w;
        }
    }

    /** Text of the ids through the file's decoder chain; clean-up of spaces as the config says. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return decode(ids, skipSpecialTokens, cleanUpSpaces);
    }

    /**
     * As {@link #decode(int[], boolean)} with clean_up_tokenization_spaces given explicitly
     * (it removes the space before . , ! ? and in " 's", so it is lossy; turn it off for
     * exact round trips).
     */
    public String decode(int[] ids, boolean skipSpecialTokens, boolean cleanUpTokenizationSpaces) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (skipSpecialTokens && isSpecial(id)) continue;
            tokens.add(token(id));
        }
        String text = decoder == null ? String.join(" ", tokens) : String.join("", decoder.decode(tokens));
        return cleanUpTokenizationSpaces ? cleanUp(text) : text;
    }

    /** The English clean-up HF applies after decoding (space before punctuation and contractions). */
    private static String cleanUp(String s) {
        return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }

    public StreamDecoder streamDecoder(boolean skipSpecialTokens) {
        return new StreamDecoder(this, skipSpecialTokens);
    }

    /** Id of a token string (vocabulary or added token), or -1. */
    public int tokenId(String token) {
        Integer id = tokenToId.get(token);
        return id == null ? -1 : id;
    }

    public String token(int id) {
        if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (size " + vocabSize() + ")");
        }
        return idToToken[id];
    }

    /** One past the largest id, added tokens included. */
    public int vocabSize() {
        return idToToken.length;
    }

    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    public SpecialTokens specialTokens() {
        return specials;
    }

    /** tokenizer_config.json as read (an empty object when the file is absent); chat templates live there. */
    public JsonNode config() {
        return config;
    }
}
