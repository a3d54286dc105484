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
import jlora.model.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * `jlora export gguf` through picocli (ExportCommand is not registered in Main yet, so it runs
 * as its own command line): the file starts with the GGUF v3 header, the Modelfile names it,
 * and a bad --type is refused without writing anything. The file's content is checked by
 * GgufWriterTest and, in llama.cpp, GgufLlamaCppTest.
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
