package jlora.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import jlora.UserError;
import jlora.io.GgufExport;
import jlora.io.GgufFileType;
import jlora.io.GgufWriter;
import jlora.model.TinyModel;
import jlora.nn.LoraMerge;
import jlora.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `jlora export gguf`: a model directory → one GGUF file plus an Ollama Modelfile beside it. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a model for other runtimes.",
        subcommands = {ExportCommand.Gguf.class})
public final class ExportCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "gguf", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = {"Write a GGUF v3 file that llama.cpp and Ollama load, and a Modelfile beside it.",
                    "Types: f32, f16, bf16, q8_0, q4_k_m (llama.cpp's Q4_K_M mixture)."})
    static final class Gguf implements Callable<Integer> {
        @Option(names = "--model", paramLabel = "DIR",
                description = "Hugging Face model directory (a merged model); default: the built-in tiny model.")
        Path model;

        @Option(names = "--adapter", paramLabel = "DIR",
                description = "A PEFT adapter to merge into --model (in f32) before exporting.")
        Path adapter;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "The .gguf file to write.")
        Path out;

        @Option(names = "--type", paramLabel = "TYPE", description = "Tensor types: f32, f16, bf16, q8_0, q4_k_m.")
        String type = "f16";

        @Parameters(arity = "0", hidden = true)
        List<String> none;

        @Override
        public Integer call() {
            GgufFileType t = GgufFileType.parse(type);
            Path dir = model != null ? model : TinyModel.materialize();
            List<GgufWriter.TensorEntry> tensors = adapter == null ? GgufExport.export(dir, out, t)
                    : exportMerged(dir, adapter, out, t);
            System.out.println("wrote " + out + " (" + t.id() + ": " + GgufExport.summary(tensors) + ")");
            System.out.println("wrote " + GgufExport.modelfile(out) + "  (ollama create NAME -f Modelfile)");
            return 0;
        }

        /**
         * Base + adapter: merged in f32 (jlora merge's code path) into a hidden directory beside
         * {@code out} that carries the base's name, exported from there, then deleted, so the
         * file equals exporting an explicitly merged f32 model.
         */
        static List<GgufWriter.TensorEntry> exportMerged(Path base, Path adapter, Path out, GgufFileType t) {
            Path parent = out.toAbsolutePath().getParent();
            Path work;
            try {
                Files.createDirectories(parent);
                work = Files.createTempDirectory(parent, ".jlora-export-");
            } catch (IOException e) {
                throw new UserError("cannot create a work directory beside " + out + ": " + e.getMessage(), e);
            }
            try {
                Path merged = work.resolve(base.toAbsolutePath().normalize().getFileName().toString());
                LoraMerge.merge(new LoraMerge.Options(base, adapter, merged, DType.F32, Long.MAX_VALUE, null, false),
                        line -> System.out.println(line));
                return GgufExport.export(merged, out, t);
            } finally {
                deleteTree(work);
            }
        }

        private static void deleteTree(Path root) {
            try (var walk = Files.walk(root)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a leftover hidden .jlora-export-* directory is harmless and named for what it is
            }
        }
    }
}
