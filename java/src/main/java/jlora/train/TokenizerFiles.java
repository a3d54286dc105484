package jlora.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jlora.UserError;
import jlora.io.AtomicFiles;

/**
 * The tokenizer files transformers' {@code tokenizer.save_pretrained} leaves beside an adapter,
 * copied from the model (or tokenizer) directory so the adapter directory loads on its own.
 */
final class TokenizerFiles {
    static final List<String> NAMES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json", "chat_template.jinja", "chat_template.json");

    private TokenizerFiles() {}

    static void copy(Path from, Path to) {
        for (String name : NAMES) {
            Path src = from.resolve(name);
            if (!Files.isRegularFile(src)) continue;
            try {
                AtomicFiles.writeBytes(to.resolve(name), Files.readAllBytes(src));
            } catch (IOException e) {
                throw new UserError("cannot read " + src + ": " + e.getMessage(), e);
            }
        }
    }
}
