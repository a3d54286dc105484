package jlora.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jlora.UserError;
import jlora.nn.LoraMerge;
import jlora.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "merge", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Fold a LoRA adapter into its base model and write a Hugging Face model",
                "directory (sharded safetensors + index, config.json, tokenizer and generation",
                "files) that transformers loads without PEFT. From a bitsandbytes 4-bit base",
                "the adapter goes into the dequantized NF4 weights (lossy) unless",
                "--base-precision gives the original weights."})
final class MergeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "BASE_DIR",
            description = "The base model the adapter was trained on.")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "ADAPTER_DIR",
            description = "PEFT adapter directory (adapter_config.json + adapter_model.safetensors).")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "OUT_DIR",
            description = "Directory to create (must not exist or be empty).")
    Path out;

    @Option(names = "--dtype", paramLabel = "bf16|f16|f32", description = "dtype of the written weights.")
    String dtype = "bf16";

    @Option(names = "--max-shard-size", paramLabel = "SIZE",
            description = "Largest shard, as transformers' max_shard_size: 5GB (10^9), 4GiB (2^30), 500MB, or bytes.")
    String maxShardSize = "5GB";

    @Option(names = "--base-precision", paramLabel = "DIR",
            description = "The original bf16/f16/f32 checkpoint of a pre-quantized --model: merge into its"
                    + " weights instead of the dequantized NF4 ones.")
    Path basePrecision;

    @Option(names = "--force", description = "Replace OUT_DIR if it is not empty.")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        var stdout = System.out;
        var options = new LoraMerge.Options(model, adapter, out, parseDtype(dtype), parseSize(maxShardSize),
                basePrecision, force);
        LoraMerge.Result r = LoraMerge.merge(options, line -> {
            err.println(line);
            err.flush();
        });
        stdout.println("merged " + r.mergedModules() + " adapted layers" + (r.replacedModules() > 0 ? " and "
                + r.replacedModules() + " weights trained in full" : "") + " into " + (r.base() == LoraMerge.Base.DEQUANTIZED_NF4
                ? "the dequantized NF4 weights" : "the original weights") + " of " + r.weightsFrom());
        stdout.println("wrote " + r.out() + ": " + r.tensors() + " tensors as " + dtype.toLowerCase(Locale.ROOT)
                + " in " + String.join(", ", r.files()) + "; config.json" + (r.companions().isEmpty() ? ""
                : ", " + String.join(", ", r.companions())));
        return 0;
    }

    static DType parseDtype(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "fp16", "float16" -> DType.F16;
            case "f32", "fp32", "float32" -> DType.F32;
            default -> throw new UserError("--dtype " + s + ": use bf16, f16 or f32");
        };
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]?I?B)?", Pattern.CASE_INSENSITIVE);

    /** transformers' convert_file_size_to_int: KB/MB/GB are powers of 10, KiB/MiB/GiB powers of 2. */
    static long parseSize(String s) {
        Matcher m = SIZE.matcher(s.trim());
        if (!m.matches()) throw new UserError("--max-shard-size " + s + ": give a size such as 5GB, 500MB, 2GiB or a byte count");
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        boolean binary = unit.length() == 3;
        int power = switch (unit.charAt(0)) {
            case 'K' -> 1;
            case 'M' -> 2;
            case 'G' -> 3;
            case 'T' -> 4;
            default -> 0;
        };
        double bytes = v * Math.pow(binary ? 1024 : 1000, power);
        if (bytes < 1 || bytes > Long.MAX_VALUE / 2) throw new UserError("--max-shard-size " + s + " is out of range");
        return (long) bytes;
    }
}
