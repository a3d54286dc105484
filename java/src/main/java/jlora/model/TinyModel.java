package jlora.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import jlora.UserError;
import jlora.tokenizer.BpeTrainer;
import jlora.io.AtomicFiles;
import jlora.io.SafetensorsWriter;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * The built-in tiny model, written out as an ordinary Hugging Face model directory so that
 * every command treats it exactly like a downloaded one: config.json ({@link TinyModelSpec}),
 * model.safetensors (fp32, seeded random init), a byte-level BPE tokenizer.json with Qwen's
 * ChatML special tokens, tokenizer_config.json with the ChatML chat template, and
 * generation_config.json.
 *
 * <p>The weights are drawn as transformers' {@code _init_weights} does for Qwen2 (normal with
 * std {@code initializer_range} = 0.02 for linear weights, zero biases, ones for RMSNorm), but
 * the embedding with std {@link #EMBED_STD}, from a fixed seed, so the directory is byte-for-byte reproducible.
 */
public final class TinyModel {
    /** Bump when the files change, so an old cached copy is not reused. */
    public static final String VERSION = "tiny-qwen2-v3";
    public static final long SEED = 20261124L;
    /**
     * The (tied) embedding is drawn wider than initializer_range: with std 0.02 and hidden 64 a
     * logit can reach only about 0.02 * 8 * 8 = 1.3, so a LoRA on the frozen random base cannot
     * get the loss far below ln(vocab) = 5.56; with 0.1 the tiny recipe's loss falls visibly.
     */
    static final double EMBED_STD = 0.1;

    /**
     * Size of the BPE vocabulary (ids 0..BPE_VOCAB-1): the 256 byte tokens (id = byte value) and
     * then the tokens of the merges learned from the bundled sample set, in merge order. With 1021
     * the whole vocabulary is 1024 ids; most Hangul syllables of the samples and many common
     * words become one token, so even a barely trained model emits whole UTF-8 characters.
     */
    public static final int BPE_VOCAB = 1021;

    /** Added tokens after the BPE vocabulary, ids BPE_VOCAB.. in this order (Qwen's names and layout). */
    public static final List<String> SPECIAL_TOKENS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");

    /** ChatML, as Qwen2.5 uses it without the default system prompt. */
    public static final String CHATML_TEMPLATE = """
            {%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}""";

    private TinyModel() {}

    public static TinyModelSpec spec() {
        int eos = BPE_VOCAB + SPECIAL_TOKENS.indexOf("<|im_end|>");
        int endOfText = BPE_VOCAB + SPECIAL_TOKENS.indexOf("<|endoftext|>");
        return new TinyModelSpec(BPE_VOCAB + SPECIAL_TOKENS.size(), null, List.of(eos, endOfText));
    }

    /**
     * The cached copy under {@code $JLORA_CACHE} (default ~/.cache/jlora), written on first use.
     * Written into a temporary sibling and renamed, so a crash never leaves half a model.
     */
    public static Path materialize() {
        String cache = System.getenv("JLORA_CACHE");
        Path root = cache != null && !cache.isBlank() ? Path.of(cache)
                : Path.of(System.getProperty("user.home"), ".cache", "jlora");
        return materialize(root.resolve("models").resolve(VERSION));
    }

    public static Path materialize(Path dir) {
        if (Files.isRegularFile(dir.resolve("model.safetensors")) && Files.isRegularFile(dir.resolve("config.json"))) {
            return dir;
        }
        Path tmp;
        try {
            Files.createDirectories(dir.getParent());
            tmp = Files.createTempDirectory(dir.getParent(), "." + dir.getFileName() + ".tmp");
        } catch (IOException e) {
            throw new UserError("cannot write the built-in tiny model under " + dir.getParent() + ": " + e.getMessage()
                    + "; set JLORA_CACHE to a writable directory", e);
        }
        try {
            writeTo(tmp);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
                // Another process materialized it first; theirs is identical.
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** Writes the five files into an existing empty directory. */
    public static void writeTo(Path dir) {
        TinyModelSpec spec = spec();
        AtomicFiles.writeString(dir.resolve("config.json"), spec.configJson());
        AtomicFiles.writeString(dir.resolve("tokenizer.json"), tokenizerJson());
        AtomicFiles.writeString(dir.resolve("tokenizer_config.json"), tokenizerConfigJson());
        AtomicFiles.writeString(dir.resolve("generation_config.json"), generationConfigJson(spec));
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter.write(dir.resolve("model.safetensors"), weights(spec.modelConfig(), arena),
                    Map.of("format", "pt"));
        }
    }

    static LinkedHashMap<String, Tensor> weights(ModelConfig config, Arena arena) {
        SplittableRandom rng = new SplittableRandom(SEED);
        double std = 0.02;
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : config.weightMap().expected().entrySet()) {
            String name = e.getKey();
            Shape shape = e.getValue();
            float[] v = new float[Math.toIntExact(shape.numel())];
            if (name.endsWith("norm.weight")) {
                java.util.Arrays.fill(v, 1f);
            } else if (!name.endsWith(".bias")) {
                double sd = name.equals("model.embed_tokens.weight") ? EMBED_STD : std;
                for (int i = 0; i < v.length; i++) v[i] = (float) (gaussian(rng) * sd);
            }
            out.put(name, Tensor.of(DType.F32, shape, v, arena));
        }
        return out;
    }

    /** Box–Muller: SplittableRandom has no nextGaussian of its own state in every JDK. */
    private static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /**
     * Byte-level BPE in the layout of Qwen2's tokenizer.json: one token per byte (GPT-2's
     * printable byte alphabet) then the merged tokens ({@link TinyVocabulary}), merges as
     * "left right" strings in rank order, Qwen's pre-tokenizer regex, ChatML specials after.
     */
    static String tokenizerJson() {
        BpeTrainer.Result bpe = TinyVocabulary.train(BPE_VOCAB);
        if (bpe.vocab().size() != BPE_VOCAB) {
            throw new IllegalStateException("the bundled samples yield only " + bpe.vocab().size() + " BPE tokens, want "
                    + BPE_VOCAB + "; lower TinyModel.BPE_VOCAB");
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
            ObjectNode t = added.addObject();
            t.put("id", BPE_VOCAB + i).put("content", SPECIAL_TOKENS.get(i)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.put("normalizer", json.createObjectNode().put("type", "NFC"));
        ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode pres = pre.putArray("pretokenizers");
        ObjectNode split = pres.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex",
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
        split.put("behavior", "Isolated").put("invert", false);
        pres.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false)
                .put("use_regex", false);
        root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", false).put("use_regex", false);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", false).put("use_regex", false);
        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < bpe.vocab().size(); id++) vocab.put(bpe.vocab().get(id), id);
        ArrayNode merges = model.putArray("merges");
        for (String[] m : bpe.merges()) merges.add(m[0] + " " + m[1]);
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String tokenizerConfigJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("add_bos_token", false).put("add_prefix_space", false);
        root.putNull("bos_token");
        root.put("eos_token", "<|im_end|>").put("pad_token", "<|endoftext|>");
        root.put("chat_template", CHATML_TEMPLATE);
        root.put("clean_up_tokenization_spaces", false).put("errors", "replace");
        root.put("model_max_length", TinyModelSpec.MAX_POSITIONS).put("split_special_tokens", false);
        root.put("tokenizer_class", "Qwen2Tokenizer");
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String generationConfigJson(TinyModelSpec spec) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ArrayNode eos = root.putArray("eos_token_id");
        spec.eosTokenIds().forEach(eos::add);
        root.put("pad_token_id", BPE_VOCAB + SPECIAL_TOKENS.indexOf("<|endoftext|>"));
        root.put("do_sample", false).put("max_new_tokens", 128);
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteQuietly(Path tree) {
        if (!Files.exists(tree)) return;
        try (Stream<Path> walk = Files.walk(tree)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a leftover temp dir is named .tiny-qwen2-v3.tmp* and harmless
        }
    }
}
