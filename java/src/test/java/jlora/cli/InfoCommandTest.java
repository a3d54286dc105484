package jlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import jlora.io.SafetensorsDir;
import jlora.model.ParameterCount;
import jlora.model.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `jlora info` end to end through picocli, on the built-in tiny model written to a temp dir. */
class InfoCommandTest {
    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        var cl = Main.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            int code = cl.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    @Test
    void describesTheTinyModelWithTheParameterCountItsWeightFileHolds(@TempDir Path tmp) {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        long stored = 0;
        try (SafetensorsDir st = SafetensorsDir.open(dir)) {
            for (String n : st.names()) stored += st.info(n).shape().numel();
        }
        // Independent count: the TinyModelSpec formula, 64 * vocab + 74,304, and the file's own sum.
        assertEquals(64L * TinyModel.spec().vocabSize() + 74_304, stored);
        Run r = run("info", dir.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("Qwen2ForCausalLM"), r.out());
        assertTrue(r.out().contains("parameters     " + ParameterCount.human(stored)), r.out());
        assertTrue(r.out().contains("weight check   complete"), r.out());
        assertTrue(r.out().contains("byte-level BPE"), r.out());
        assertTrue(r.out().contains("chat template  yes"), r.out());
        assertTrue(r.out().contains("QLoRA (NF4 base)"), r.out());
    }

    @Test
    void tinyModelIsReproducibleByteForByte(@TempDir Path tmp) throws Exception {
        Path a = TinyModel.materialize(tmp.resolve("a"));
        Path b = TinyModel.materialize(tmp.resolve("b"));
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
            assertEquals(-1L, Files.mismatch(a.resolve(f), b.resolve(f)), f);
        }
    }

    @Test
    void devicesSaysWhatThisBuildHas() {
        Run r = run("info", "--devices");
        assertEquals(0, r.exit(), r.err());
        // Whatever the machine, the report is one of the three states CudaDevices documents.
        assertTrue(r.out().contains("this build has no CUDA") || r.out().contains("no CUDA driver/GPU")
                || r.out().contains("CUDA runtime"), r.out());
        assertEquals(jlora.backend.cuda.CudaDevices.describe().strip(), r.out().strip());
    }

    @Test
    void missingDirectoryIsOneLineAndExitOne(@TempDir Path tmp) {
        Run r = run("info", tmp.resolve("nope").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("jlora: ") && r.err().contains("no such directory"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void badConfigNamesTheFileAndNoStackTraceWithoutVerbose(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("config.json"), "{ \"model_type\": \"qwen2\", ");
        Run r = run("info", tmp.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("config.json"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        Run verbose = run("info", "--verbose", tmp.toString());
        assertTrue(verbose.err().contains("\tat "), verbose.err());
    }
}
