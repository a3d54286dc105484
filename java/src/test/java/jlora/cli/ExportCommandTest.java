package jlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.io.PeftAdapter;
import jlora.model.ModelConfig;
import jlora.model.TinyModel;
import jlora.nn.LoraConfig;
import jlora.nn.LoraPair;
import jlora.nn.LoraWeights;
import jlora.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * `jlora export gguf` through picocli: the file starts with the GGUF v3 header, the Modelfile names it,
 * and a bad --type is refused without writing anything. The file's content is checked by
 * GgufWriterTest and, in llama.cpp, GgufLlamaCppTest. Base + adapter exports the same bytes as
 * `jlora merge --dtype f32` followed by an export of the merged directory.
 */
class ExportCommandTest {
    @Test
    void writesGgufAndModelfile(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("tiny");
        Files.createDirectories(model);
        TinyModel.writeTo(model);
        Path out = tmp.resolve("out/tiny-q8_0.gguf");
        int code = new CommandLine(new ExportCommand()).execute("gguf", "--model", model.toString(), "--out",
                out.toString(), "--type", "q8_0");
        assertEquals(0, code);
        ByteBuffer head = ByteBuffer.wrap(Files.readAllBytes(out), 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x46554747, head.getInt(), "magic GGUF");
        assertEquals(3, head.getInt(), "version");
        String modelfile = Files.readString(out.resolveSibling("Modelfile"));
        assertTrue(modelfile.startsWith("FROM ./tiny-q8_0.gguf\n"), modelfile);
        assertTrue(modelfile.contains("PARAMETER stop \"<|im_end|>\""), modelfile);
    }

    @Test
    void baseAndAdapterExportEqualsExportOfTheMergedModel(@TempDir Path tmp) throws Exception {
        Path model = TinyModel.materialize(tmp.resolve("tiny"));
        Path adapter = tmp.resolve("adapter");
        ModelConfig c = ModelConfig.load(model);
        LoraConfig lc = LoraConfig.builder().r(2).loraAlpha(4).targetModules("all-linear").seed(7).build();
        long seed = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            LoraWeights w = LoraWeights.init(lc, c, arena, null);
            SplittableRandom rng = new SplittableRandom(seed);
            for (LoraPair p : w.pairs()) {   // B = 0 at init would make the merge a no-op
                for (long i = 0; i < p.b().numel(); i++) p.b().setFloat(i, (float) (rng.nextDouble() - 0.5) * 0.2f);
            }
            PeftAdapter.save(adapter, w, model.toString(), null, DType.F32);
        }
        Path direct = tmp.resolve("direct.gguf");
        assertEquals(0, Main.commandLine().execute("export", "gguf", "--model", model.toString(), "--adapter",
                adapter.toString(), "--out", direct.toString(), "--type", "f32"));
        Path merged = tmp.resolve("m").resolve("tiny");  // same directory name: general.name comes from it
        assertEquals(0, Main.commandLine().execute("merge", "--model", model.toString(), "--adapter",
                adapter.toString(), "--out", merged.toString(), "--dtype", "f32"));
        Path viaMerge = tmp.resolve("via-merge.gguf");
        assertEquals(0, Main.commandLine().execute("export", "gguf", "--model", merged.toString(), "--out",
                viaMerge.toString(), "--type", "f32"));
        assertEquals(-1L, Files.mismatch(direct, viaMerge), "seed " + seed);
        Path base = tmp.resolve("base.gguf");
        assertEquals(0, Main.commandLine().execute("export", "gguf", "--model", model.toString(), "--out",
                base.toString(), "--type", "f32"));
        assertNotEquals(-1L, Files.mismatch(direct, base), "the adapter changed nothing; seed " + seed);
        try (var left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith(".jlora-export-")), "work dir left");
        }
    }

    @Test
    void refusesUnknownType(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("tiny");
        Files.createDirectories(model);
        TinyModel.writeTo(model);
        Path out = tmp.resolve("x.gguf");
        CommandLine cl = new CommandLine(new ExportCommand());
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        cl.setExecutionExceptionHandler((e, c, p) -> {
            err.write(e.getMessage());
            return 2;
        });
        assertNotEquals(0, cl.execute("gguf", "--model", model.toString(), "--out", out.toString(), "--type", "q3_k"));
        assertTrue(err.toString().contains("q4_k_m"), err.toString());
        assertFalse(Files.exists(out));
    }
}
