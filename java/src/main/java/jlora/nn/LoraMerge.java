package jlora.nn;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import jlora.UserError;
import jlora.io.AtomicFiles;
import jlora.io.HfModelFiles;
import jlora.io.PeftAdapter;
import jlora.io.SafetensorsDir;
import jlora.io.SafetensorsWriter;
import jlora.io.SafetensorsWriter.Slot;
import jlora.io.StagedDir;
import jlora.io.TensorInfo;
import jlora.model.ModelConfig;
import jlora.quant.Bnb4bitFormat;
import jlora.quant.Nf4Tensor;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Folds a LoRA adapter into its base model and writes a plain Hugging Face model directory, as
 * PEFT's {@code merge_and_unload()} + {@code save_pretrained} would: every adapted weight becomes
 * {@code W' = W + scale · B·A} (scale = alpha/r, or alpha/√r with rsLoRA, per module after
 * rank_pattern / alpha_pattern), modules trained in full (modules_to_save: norms, the embedding, an untied head) replace
 * the base's (a tied checkpoint that stores lm_head.weight gets the trained embedding there too), everything
 * else is copied (float tensors converted to the output dtype, integer ones kept).
 *
 * <p>Numerics: B·A is accumulated in fp64, scaled, rounded once to fp32, added to W in fp32, and
 * the sum rounded once (nearest even) to the output dtype. PEFT on a bf16 base rounds the delta to
 * bf16 before the add, so it can differ from this by one bf16 ulp on some elements.
 *
 * <p>Streaming: the output layout is fixed from the headers, then each tensor is made, written and
 * freed in turn; the base stays memory-mapped. The directory is built under a temp name and renamed
 * into place when complete.
 *
 * <p>QLoRA: a bitsandbytes 4-bit base ({@code quantization_config} in config.json, or
 * {@code .absmax} entries beside the weights) is merged into its dequantized NF4 weights, which is
 * lossy (the merged model keeps the NF4 rounding error of every linear layer), unless
 * {@code basePrecision} names the original high-precision checkpoint, whose weights are used
 * instead. An adapter trained with NF4 quantize-on-load is recognised by its run's
 * {@code config.resolved.yaml} (beside the adapter or one level up, as {@code RUN/final/} has it)
 * saying {@code quantization.mode: nf4}; its base is already high precision, so it is merged into
 * those original weights (as PEFT merges a QLoRA adapter into the unquantized base).
 */
public final class LoraMerge {
    private LoraMerge() {}

    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L; // transformers' max_shard_size="5GB"
    static final String RUN_CONFIG = "config.resolved.yaml";

    /**
     * @param model the base model directory the adapter was trained on
     * @param adapter a PEFT adapter directory
     * @param out the directory to create
     * @param dtype F32, BF16 or F16: the dtype of the written float tensors
     * @param basePrecision the original high-precision checkpoint of a pre-quantized {@code model}; may be null
     * @param force replace a non-empty {@code out}
     */
    public record Options(Path model, Path adapter, Path out, DType dtype, long maxShardBytes, Path basePrecision,
                          boolean force) {
        public Options {
            if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
                throw new UserError("--dtype must be bf16, f16 or f32, not " + dtype.name().toLowerCase(Locale.ROOT));
            }
            if (maxShardBytes <= 0) throw new UserError("--max-shard-size must be positive");
        }
    }

    /** Which weights the adapter was added to. */
    public enum Base { ORIGINAL, DEQUANTIZED_NF4 }

    /**
     * @param base the weights the deltas went into
     * @param weightsFrom the directory those weights were read from
     * @param mergedModules linear layers that got a delta
     * @param replacedModules weights trained in full (norms, embedding, head) taken from the adapter
     * @param files weight files written (shards and index), relative to {@code out}
     * @param companions tokenizer / generation files copied
     */
    public record Result(Path out, Base base, Path weightsFrom, int mergedModules, int replacedModules, int tensors,
                         List<String> files, List<String> companions) {}

    public static Result merge(Options o, Consumer<String> log) {
        ModelConfig config = ModelConfig.load(o.model());
        if (config.quantMethod() != null && !config.quantMethod().equals("bitsandbytes")) {
            throw new UserError(config.source() + ": quantization_config.quant_method is '" + config.quantMethod()
                    + "'; jlora merges into unquantized or bitsandbytes 4-bit checkpoints only");
        }
        Path weightsDir = o.model();
        if (o.basePrecision() != null) {
            ModelConfig hp = ModelConfig.load(o.basePrecision());
            if (hp.quantMethod() != null) {
                throw new UserError(hp.source() + ": is quantized (" + hp.quantMethod() + "); --base-precision must name"
                        + " the original bf16/f16/f32 checkpoint the quantized model was made from");
            }
            if (!hp.weightMap().expected().equals(config.weightMap().expected())) {
                throw new UserError(o.basePrecision() + ": its config.json describes another model than " + o.model()
                        + " (" + hp.describe().getFirst() + " vs " + config.describe().getFirst() + ");"
                        + " --base-precision must be the checkpoint " + o.model() + " was quantized from");
            }
            weightsDir = o.basePrecision();
        }
        Path runConfig = nf4RunConfig(o.adapter());
        Path outAbs = o.out().toAbsolutePath().normalize();
        for (Path in : new Path[] {o.model(), o.adapter(), o.basePrecision()}) {
            Path inAbs = in == null ? null : in.toAbsolutePath().normalize();
            if (inAbs != null && inAbs.startsWith(outAbs)) {
                throw new UserError("--out " + o.out() + " would replace the input " + in + "; choose a new directory");
            }
        }

        try (SafetensorsDir src = SafetensorsDir.open(weightsDir); Arena arena = Arena.ofShared();
             StagedDir staged = StagedDir.create(o.out(), o.force(), "--force")) {
            LoraWeights lora = PeftAdapter.load(o.adapter(), config, arena).weights();
            Plan plan = plan(src, config, o.dtype(), weightsDir);
            Base base = plan.quantized().isEmpty() ? Base.ORIGINAL : Base.DEQUANTIZED_NF4;
            describe(o, base, config.quantMethod() != null, weightsDir, runConfig, log);

            Map<String, LoraPair> byWeight = new LinkedHashMap<>();
            for (LoraPair p : lora.pairs()) byWeight.put(p.target().path() + ".weight", p);
            int total = plan.layout().size();
            int[] done = {0};
            SafetensorsWriter.Producer producer = (name, scratch) -> {
                if (++done[0] * 10 / total != (done[0] - 1) * 10 / total) {
                    log.accept("  " + done[0] + "/" + total + " tensors (" + done[0] * 100 / total + "%)");
                }
                Tensor w = plan.quantized().contains(name) ? nf4(src, name).dequantize(scratch) : src.tensor(name);
                Slot slot = plan.layout().get(name);
                LoraPair pair = byWeight.get(name);
                Tensor saved = lora.savedWeight(name, config.tieWordEmbeddings());
                if (pair != null) return merged(w, pair, slot.dtype(), scratch);
                if (saved != null) return converted(saved, slot.dtype(), scratch);
                return w.dtype() == slot.dtype() ? w : converted(w, slot.dtype(), scratch);
            };
            List<Path> written = SafetensorsWriter.writeShardedStreamed(staged.path(), "model", plan.layout(),
                    Map.of("format", "pt"), o.maxShardBytes(), producer);
            AtomicFiles.writeString(staged.path().resolve("config.json"),
                    HfModelFiles.rewriteConfig(config.source(), o.dtype()));
            // Base files first, then the adapter's: a run saves the tokenizer (and any template it
            // trained with) beside the adapter, and that is what the tuned model expects.
            List<Path> sources = new ArrayList<>();
            if (o.basePrecision() != null) sources.add(o.basePrecision());
            sources.add(o.model());
            sources.add(o.adapter());
            List<String> companions = HfModelFiles.copyCompanions(staged.path(), sources);
            staged.commit();
            return new Result(staged.target(), base, weightsDir, byWeight.size(), lora.saved().size(),
                    plan.layout().size(), written.stream().map(p -> p.getFileName().toString()).toList(), companions);
        }
    }

    /** The output layout and which base names are bitsandbytes 4-bit weights. */
    record Plan(SequencedMap<String, Slot> layout, Set<String> quantized) {}

    static Plan plan(SafetensorsDir src, ModelConfig config, DType dtype, Path where) {
        Set<String> quantized = new HashSet<>();
        Set<String> parts = new HashSet<>();
        for (String name : src.names()) {
            Map<String, Tensor> p = bnbParts(src, name);
            if (p.isEmpty() || !Bnb4bitFormat.isQuantized(withWeight(src, p, name), name)) continue;
            quantized.add(name);
            parts.addAll(p.keySet());
        }
        SequencedMap<String, Slot> layout = new LinkedHashMap<>();
        Map<String, Shape> present = new LinkedHashMap<>();
        for (String name : src.names()) {
            if (parts.contains(name)) continue;
            Slot slot;
            if (quantized.contains(name)) {
                slot = new Slot(dtype, nf4(src, name).shape());
            } else {
                TensorInfo info = src.info(name);
                slot = new Slot(isConvertible(info.dtype()) ? dtype : info.dtype(), info.shape());
            }
            layout.put(name, slot);
            present.put(name, slot.shape());
        }
        config.weightMap().requireComplete(present, where.toString());
        return new Plan(layout, quantized);
    }

    private static boolean isConvertible(DType d) {
        return d == DType.F32 || d == DType.BF16 || d == DType.F16;
    }

    private static Map<String, Tensor> bnbParts(SafetensorsDir src, String name) {
        Map<String, Tensor> parts = new LinkedHashMap<>();
        for (String suffix : WeightLoader.BNB_PARTS) {
            if (src.contains(name + suffix)) parts.put(name + suffix, src.tensor(name + suffix));
        }
        return parts;
    }

    private static Map<String, Tensor> withWeight(SafetensorsDir src, Map<String, Tensor> parts, String name) {
        Map<String, Tensor> all = new LinkedHashMap<>(parts);
        all.put(name, src.tensor(name));
        return all;
    }

    private static Nf4Tensor nf4(SafetensorsDir src, String name) {
        return Nf4Tensor.fromBitsandbytes(withWeight(src, bnbParts(src, name), name), name);
    }

    /** W + scale·B·A: B·A per element in fp64, then as the class comment says. Rows in parallel. */
    static Tensor merged(Tensor w, LoraPair pair, DType outType, Arena arena) {
        LoraTarget t = pair.target();
        int rows = t.outFeatures(), cols = t.inFeatures(), r = t.rank();
        if (!w.shape().equals(Shape.of(rows, cols))) {
            throw new UserError("base weight " + t.path() + ".weight is " + w.shape() + " but the adapter expects ["
                    + rows + ", " + cols + "]");
        }
        float[] a = pair.a().toFloatArray();
        float[] b = pair.b().toFloatArray();
        double scale = t.scale();
        Tensor out = Tensor.allocate(outType, w.shape(), arena);
        IntStream.range(0, rows).parallel().forEach(o -> {
            double[] acc = new double[cols];
            for (int k = 0; k < r; k++) {
                double bk = b[o * r + k];
                if (bk == 0) continue;
                int base = k * cols;
                for (int i = 0; i < cols; i++) acc[i] += bk * a[base + i];
            }
            long row = (long) o * cols;
            for (int i = 0; i < cols; i++) {
                float delta = (float) (scale * acc[i]);
                out.setFloat(row + i, w.getFloat(row + i) + delta);
            }
        });
        return out;
    }

    private static Tensor converted(Tensor src, DType outType, Arena arena) {
        Tensor out = Tensor.allocate(outType, src.shape(), arena);
        for (long i = 0; i < src.numel(); i++) out.setFloat(i, src.getFloat(i)); // one rounding to nearest even
        return out;
    }

    private static void describe(Options o, Base base, boolean quantizedModel, Path weightsDir, Path runConfig,
                                 Consumer<String> log) {
        if (base == Base.DEQUANTIZED_NF4) {
            log.accept("merging into the dequantized NF4 weights of " + weightsDir + " (a bitsandbytes 4-bit checkpoint):"
                    + " this is lossy, the merged model keeps the 4-bit rounding error of every linear layer. Give"
                    + " --base-precision with the original bf16 checkpoint to merge into the original weights instead.");
        } else if (o.basePrecision() != null && quantizedModel) {
            log.accept("merging into the original high-precision weights of " + weightsDir + " (--base-precision),"
                    + " not into the 4-bit weights of " + o.model());
        } else if (o.basePrecision() != null) {
            log.accept("merging into the weights of " + weightsDir + " (--base-precision; " + o.model()
                    + " is not quantized, so it was only used for config.json and the tokenizer files)");
        } else if (runConfig != null) {
            log.accept("the adapter was trained on NF4-quantized weights (" + runConfig + ": quantization.mode nf4);"
                    + " merging into the original high-precision weights of " + weightsDir
                    + ", not into their dequantized NF4 form");
        } else {
            log.accept("merging into the weights of " + weightsDir);
        }
    }

    /**
     * The run config that says the adapter was trained with NF4 quantize-on-load, or null: the
     * adapter dir's own {@code config.resolved.yaml} or its parent's. An unreadable file is ignored
     * (it only changes what is printed).
     */
    static Path nf4RunConfig(Path adapter) {
        Path abs = adapter.toAbsolutePath().normalize();
        for (Path dir : new Path[] {abs, abs.getParent()}) {
            if (dir == null) continue;
            Path f = dir.resolve(RUN_CONFIG);
            if (!Files.isRegularFile(f)) continue;
            try (InputStream in = Files.newInputStream(f)) {
                Object root = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
                if (root instanceof Map<?, ?> m && m.get("quantization") instanceof Map<?, ?> q
                        && q.get("mode") != null && q.get("mode").toString().equalsIgnoreCase("nf4")) {
                    return f;
                }
                return null;
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
        return null;
    }
}
