package jlora.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jlora.UserError;
import jlora.tensor.DType;

/**
 * The non-weight files of a Hugging Face model directory: {@code config.json} rewritten for a
 * new weight dtype, and the tokenizer / chat template / generation files copied as they are.
 */
public final class HfModelFiles {
    private HfModelFiles() {}

    /**
     * What transformers' save_pretrained writes beside the weights (tokenizer.save_pretrained,
     * generation_config.save_pretrained), plus the slow-tokenizer files some repos still ship.
     */
    public static final List<String> COMPANION_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "added_tokens.json", "chat_template.jinja", "chat_template.json",
            "generation_config.json", "vocab.json", "merges.txt", "tokenizer.model");

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** The torch dtype name transformers writes for a safetensors dtype. */
    public static String torchDtype(DType d) {
        return switch (d) {
            case F32 -> "float32";
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> throw new IllegalArgumentException("no torch dtype for " + d);
        };
    }

    /**
     * {@code source} (a config.json) with {@code torch_dtype} (and {@code dtype}, the name newer
     * transformers writes, when present) set to {@code dtype} and {@code quantization_config}
     * removed: every other field is kept as it was, in its order. Indented by 2 as
     * transformers' to_json_string indents (transformers sorts the keys; keeping the source's
     * order keeps a diff against the base config small, and readers do not care).
     */
    public static String rewriteConfig(Path source, DType dtype) {
        JsonNode root;
        try {
            root = JSON.readTree(source.toFile());
        } catch (IOException e) {
            throw new UserError(source + ": cannot be read as JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof ObjectNode o)) throw new UserError(source + ": must hold a JSON object");
        o.remove("quantization_config");
        o.put("torch_dtype", torchDtype(dtype));
        if (o.has("dtype")) o.put("dtype", torchDtype(dtype));
        // Python's json.dumps(indent=2): `"key": value`, one list element per line.
        var indent = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter().withSeparators(Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER));
        pp.indentObjectsWith(indent);
        pp.indentArraysWith(indent);
        try {
            return JSON.writer(pp).writeValueAsString(o) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Copies the {@link #COMPANION_FILES} found in {@code sources} into {@code dir}, each file from
     * the last source that has it (so a later source overrides an earlier one).
     *
     * @return the file names copied
     */
    public static List<String> copyCompanions(Path dir, List<Path> sources) {
        List<String> copied = new ArrayList<>();
        for (String name : COMPANION_FILES) {
            Path from = null;
            for (Path s : sources) if (s != null && Files.isRegularFile(s.resolve(name))) from = s.resolve(name);
            if (from == null) continue;
            try {
                AtomicFiles.writeBytes(dir.resolve(name), Files.readAllBytes(from));
            } catch (IOException e) {
                throw new UserError("cannot read " + from + ": " + e.getMessage(), e);
            }
            copied.add(name);
        }
        return copied;
    }
}
