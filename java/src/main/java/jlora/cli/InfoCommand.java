package jlora.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import jlora.UserError;
import jlora.backend.cuda.CudaDevices;
import jlora.io.SafetensorsDir;
import jlora.io.SafetensorsFile;
import jlora.io.TensorInfo;
import jlora.model.MemoryEstimate;
import jlora.model.ModelConfig;
import jlora.model.TinyModel;
import jlora.model.WeightCheck;
import jlora.tensor.Shape;
import jlora.tokenizer.TokenizerSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "info", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Describe a Hugging Face model directory: architecture, parameters, weight files,",
                "tokenizer, and the memory LoRA and QLoRA training would need.",
                "Without MODEL_DIR it describes the built-in tiny model."})
final class InfoCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL_DIR",
            description = "Model directory (config.json, *.safetensors, tokenizer files).")
    Path modelDir;

    @Option(names = "--devices", description = "Describe the CUDA devices this build can use, instead of a model.")
    boolean devices;

    @Option(names = "--seq-len", description = "Sequence length for the memory estimate.")
    int seqLen = 2048;

    @Option(names = "--batch", description = "Micro-batch size for the memory estimate.")
    int batch = 1;

    @Option(names = "--rank", description = "LoRA rank for the memory estimate (all linear layers).")
    int rank = 16;

    @Override
    public Integer call() {
        if (devices) {
            System.out.println(CudaDevices.describe());
            return 0;
        }
        Path dir = modelDir != null ? modelDir : TinyModel.materialize();
        if (!Files.exists(dir)) {
            throw new UserError(dir + ": no such directory; pass a Hugging Face model directory (with config.json)");
        }
        if (!Files.isDirectory(dir)) {
            throw new UserError(dir + ": is a file; pass the model directory that holds config.json");
        }
        ModelConfig config = ModelConfig.load(dir);
        var out = System.out;
        out.println("model          " + dir.toAbsolutePath().normalize() + (modelDir == null ? "  (built-in tiny model)" : ""));
        config.describe().forEach(out::println);
        weights(dir, config).forEach((k, v) -> out.println(k + v));
        TokenizerSummary.read(dir).ifPresentOrElse(t -> t.describe().forEach(out::println),
                () -> out.println("tokenizer      none (no tokenizer.json in " + dir + ")"));
        out.println();
        out.println("training memory at seq " + seqLen + ", micro-batch " + batch + ", LoRA r" + rank
                + " on all linear layers, gradient checkpointing:");
        var setup = new MemoryEstimate.Setup(rank, java.util.List.of("all-linear"), seqLen, batch, true);
        for (MemoryEstimate.Method m : MemoryEstimate.Method.values()) {
            MemoryEstimate.of(config, m, setup).describe().forEach(out::println);
        }
        return 0;
    }

    /** Shards, bytes, dtype histogram and the weight-name check, as "label  value" lines. */
    private static Map<String, String> weights(Path dir, ModelConfig config) {
        Map<String, String> lines = new LinkedHashMap<>();
        try (SafetensorsDir st = SafetensorsDir.open(dir)) {
            Map<String, Integer> dtypes = new TreeMap<>();
            Map<String, Shape> shapes = new LinkedHashMap<>();
            for (String name : st.names()) {
                TensorInfo info = st.info(name);
                dtypes.merge(info.dtype().name(), 1, Integer::sum);
                shapes.put(name, info.shape());
            }
            StringBuilder shardText = new StringBuilder();
            for (SafetensorsFile f : st.shards()) {
                if (!shardText.isEmpty()) shardText.append(", ");
                shardText.append(f.path().getFileName());
            }
            lines.put("weights        ", st.names().size() + " tensors, " + MemoryEstimate.humanBytes(st.totalBytes())
                    + " in " + st.shards().size() + " file(s): " + abbreviate(shardText.toString()));
            lines.put("dtypes         ", dtypes.toString());
            WeightCheck check = config.weightMap().check(shapes);
            lines.put("weight check   ", check.complete() ? "complete" : check.summary());
        }
        return lines;
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
