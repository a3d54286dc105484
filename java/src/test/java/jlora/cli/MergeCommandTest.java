package jlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jlora.UserError;
import jlora.io.PeftAdapter;
import jlora.io.SafetensorsDir;
import jlora.model.ModelConfig;
import jlora.model.TinyModel;
import jlora.nn.LoraConfig;
import jlora.nn.LoraWeights;
import jlora.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `jlora merge` end to end through picocli on the built-in tiny model and a fresh adapter (the
 * numerics are LoraMergeTest's; here: options, messages, exit codes), and the size parser against
 * transformers' convert_file_size_to_int rules (KB = 10^3, KiB = 2^10).
 */
class MergeCommandTest {
    @TempDir
    Path tmp;

    Path adapter(Path model) {
        Path dir = tmp.resolve("adapter");
        ModelConfig c = ModelConfig.load(model);
        LoraConfig lc = LoraConfig.builder().r(2).loraAlpha(4).targetModules("all-linear").seed(7).build();
        try (Arena arena = Arena.ofShared()) {
            LoraWeights w = LoraWeights.init(lc, c, arena, null);
            PeftAdapter.save(dir, w, model.toString(), null, DType.F32);
        }
        return dir;
    }

    @Test
    void mergesWritesBf16ShardsAndRefusesANonEmptyOutWithoutForce() throws Exception {
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        Path ad = adapter(model);
        Path out = tmp.resolve("merged");
        InfoCommandTest.Run r = InfoCommandTest.run("merge", "--model", model.toString(), "--adapter", ad.toString(),
                "--out", out.toString(), "--max-shard-size", "100KB");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("merging into the weights of"), r.err());
        assertTrue(r.out().contains("into the original weights"), r.out());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors.index.json")), r.out());
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
        try (SafetensorsDir st = SafetensorsDir.open(out)) {
            for (String n : st.names()) assertEquals(DType.BF16, st.info(n).dtype(), n);
        }
        assertEquals("bfloat16", ModelConfig.load(out).torchDtype());

        InfoCommandTest.Run again = InfoCommandTest.run("merge", "--model", model.toString(), "--adapter", ad.toString(),
                "--out", out.toString());
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("not empty") && again.err().contains("--force"), again.err());

        InfoCommandTest.Run forced = InfoCommandTest.run("merge", "--model", model.toString(), "--adapter", ad.toString(),
                "--out", out.toString(), "--force", "--dtype", "f32");
        assertEquals(0, forced.exit(), forced.err());
        assertFalse(Files.exists(out.resolve("model.safetensors.index.json")), "the old sharded files are gone");
        assertEquals("float32", ModelConfig.load(out).torchDtype());

        InfoCommandTest.Run bad = InfoCommandTest.run("merge", "--model", model.toString(), "--adapter", ad.toString(),
                "--out", tmp.resolve("x").toString(), "--dtype", "int8");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("bf16, f16 or f32"), bad.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void shardSizesFollowTransformersUnits() {
        assertEquals(5_000_000_000L, MergeCommand.parseSize("5GB"));
        assertEquals(2L << 30, MergeCommand.parseSize("2GiB"));
        assertEquals(500_000_000L, MergeCommand.parseSize("500mb"));
        assertEquals(100_000L, MergeCommand.parseSize("100KB"));
        assertEquals(1536L, MergeCommand.parseSize("1.5KiB"));
        assertEquals(12345L, MergeCommand.parseSize("12345"));
        for (String s : List.of("", "GB", "-1GB", "5 XB", "0")) {
            assertThrows(UserError.class, () -> MergeCommand.parseSize(s), s);
        }
    }
}
