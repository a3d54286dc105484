package jlora.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jlora.UserError;
import jlora.model.ModelConfig;
import jlora.nn.LoraConfig;
import jlora.nn.LoraPair;
import jlora.nn.LoraTarget;
import jlora.nn.LoraWeights;
import jlora.nn.SavedModule;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * A LoRA adapter directory in PEFT's layout: {@code adapter_config.json} (see
 * {@link PeftAdapterConfig}) and {@code adapter_model.safetensors}, whose tensors are named as
 * PEFT's get_peft_model_state_dict names them: the PeftModel prefix {@code base_model.model.}, the
 * module path, then {@code lora_A.weight} / {@code lora_B.weight} with the adapter name
 * ("default") removed; a modules_to_save weight is {@code base_model.model.<path>.weight}.
 *
 * @param dir where it was read from or written to
 * @param baseModelNameOrPath the base model the adapter belongs to, as its config says; may be null
 * @param revision the base model's revision; may be null
 * @param weights the adapter's tensors as fp32 masters
 */
public record PeftAdapter(Path dir, String baseModelNameOrPath, String revision, LoraWeights weights) {
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    public static final String PICKLE_FILE = "adapter_model.bin";
    /** PeftModelForCausalLM.base_model (LoraModel).model (the *ForCausalLM). */
    public static final String PREFIX = "base_model.model.";

    /** PEFT in memory, and some exporters on disk, keep the adapter name: lora_A.default.weight. */
    private static final Pattern ADAPTER_NAME = Pattern.compile("\\.(lora_[AB])\\.default\\.weight$");
    private static final int MAX_LISTED = 8;

    /**
     * Writes {@code weights} to {@code dir} (created if needed) in {@code dtype} (F32 keeps the
     * masters bit for bit; BF16 / F16 round to nearest even): the tensors first, then the config,
     * each atomically, so a reader never sees a partly written file. Overwriting an older adapter
     * of other shapes, a crash between the two renames leaves new tensors beside the old config,
     * which {@link #load} reports as a shape mismatch; save checkpoints to fresh directories.
     */
    public static void save(Path dir, LoraWeights weights, String baseModelNameOrPath, String revision, DType dtype) {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("adapters are saved as F32, BF16 or F16, not " + dtype);
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new UserError(dir + " is a file; give a directory to save the adapter in");
        }
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        try (Arena scratch = Arena.ofConfined()) {
            for (var e : weights.named().entrySet()) {
                tensors.put(PREFIX + e.getKey(), convert(e.getValue(), dtype, scratch));
            }
            Tensor embed = weights.saved().get(LoraWeights.EMBED_WEIGHT);
            if (embed != null && weights.tiedEmbeddings() && !weights.saved().containsKey(LoraWeights.LM_HEAD_WEIGHT)) {
                // PEFT with ensure_weight_tying wraps the tied head too and looks its key up on load
                // (KeyError without it, seen with PEFT 0.21): the same table under the head's name.
                tensors.put(PREFIX + LoraWeights.LM_HEAD_WEIGHT, convert(embed, dtype, scratch));
            }
            // safetensors' save_file in PEFT's save_pretrained writes metadata {"format": "pt"}.
            SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        }
        List<String> savedPaths = weights.saved().keySet().stream()
                .map(n -> n.substring(0, n.length() - ".weight".length())).toList();
        String json = new PeftAdapterConfig(weights.config(), baseModelNameOrPath, revision).toJson(weights.pairs(), savedPaths);
        AtomicFiles.writeString(dir.resolve(PeftAdapterConfig.FILE_NAME), json);
    }

    /**
     * Reads a PEFT adapter directory for {@code model}: the config is parsed and resolved against
     * the model, then every tensor the resolution implies must be present with its shape, and no
     * other tensor may be; BF16, F16 and F32 tensors become F32 masters in {@code arena}.
     */
    public static PeftAdapter load(Path dir, ModelConfig model, Arena arena) {
        if (!Files.isDirectory(dir)) {
            throw new UserError(dir + (Files.exists(dir) ? " is a file" : " does not exist")
                    + "; give a PEFT adapter directory (adapter_config.json + adapter_model.safetensors)");
        }
        Path configFile = dir.resolve(PeftAdapterConfig.FILE_NAME);
        if (!Files.isRegularFile(configFile)) {
            throw new UserError(configFile + ": missing; " + dir + " is not a PEFT adapter directory"
                    + " (PEFT's save_pretrained writes adapter_config.json beside adapter_model.safetensors)");
        }
        PeftAdapterConfig config = PeftAdapterConfig.parse(readSmall(configFile), configFile);
        LoraConfig lora = config.lora();
        List<LoraTarget> targets;
        List<SavedModule> saved;
        try {
            targets = lora.resolve(model);
            saved = lora.resolveSaved(model);
        } catch (UserError e) {
            throw PeftAdapterConfig.inFile(e, configFile);
        }
        boolean embedding = saved.stream().anyMatch(s -> s.weightName().equals(LoraWeights.EMBED_WEIGHT));
        if (embedding && model.tieWordEmbeddings() && !config.ensureWeightTying()) {
            // PEFT then trained the embedding with the original table as the head; jlora has one table.
            throw new UserError(configFile + ": trains embed_tokens of a model that ties it to lm_head, without"
                    + " \"ensure_weight_tying\": true, so PEFT kept the original table as the head and jlora (which keeps"
                    + " the two tied) would compute another model. Retrain with ensure_weight_tying=True (PEFT >= 0.18),"
                    + " or merge the adapter in PEFT and use the merged model");
        }

        Path weightsFile = dir.resolve(WEIGHTS_FILE);
        if (!Files.exists(weightsFile)) {
            if (Files.exists(dir.resolve(PICKLE_FILE))) {
                throw new UserError(dir.resolve(PICKLE_FILE) + ": jlora does not read PyTorch pickle files (loading one"
                        + " can run arbitrary code). Convert it once where PyTorch is installed: python -c \"import torch;"
                        + " from safetensors.torch import save_file; save_file(torch.load('adapter_model.bin',"
                        + " map_location='cpu'), 'adapter_model.safetensors', metadata={'format': 'pt'})\"");
            }
            throw new UserError(weightsFile + ": missing; the adapter directory has adapter_config.json but no weights");
        }
        try (SafetensorsFile file = SafetensorsFile.open(weightsFile)) {
            Map<String, String> byCanonical = canonicalNames(file);
            // A tied head saved beside a trained embedding (PEFT's ensure_weight_tying) is the same
            // table under another name: it must hold the embedding's values, then it is dropped.
            String tiedHead = embedding && model.tieWordEmbeddings() ? byCanonical.remove(LoraWeights.LM_HEAD_WEIGHT) : null;
            Map<String, Shape> expected = new LinkedHashMap<>();
            for (LoraTarget t : targets) {
                expected.put(t.path() + ".lora_A.weight", Shape.of(t.rank(), t.inFeatures()));
                expected.put(t.path() + ".lora_B.weight", Shape.of(t.outFeatures(), t.rank()));
            }
            for (SavedModule s : saved) expected.put(s.weightName(), s.shape());
            checkTensors(file, byCanonical, expected, config, model);

            List<LoraPair> pairs = new ArrayList<>();
            for (LoraTarget t : targets) {
                Tensor a = toF32(file, byCanonical.get(t.path() + ".lora_A.weight"), arena);
                Tensor b = toF32(file, byCanonical.get(t.path() + ".lora_B.weight"), arena);
                pairs.add(new LoraPair(t, a, b));
            }
            SequencedMap<String, Tensor> norms = new LinkedHashMap<>();
            for (SavedModule s : saved) norms.put(s.weightName(), toF32(file, byCanonical.get(s.weightName()), arena));
            if (tiedHead != null) requireSameAsEmbedding(file, tiedHead, norms.get(LoraWeights.EMBED_WEIGHT), arena);
            return new PeftAdapter(dir, config.baseModelNameOrPath(), config.revision(), new LoraWeights(lora, pairs, norms, model.tieWordEmbeddings()));
        }
    }

    private static void requireSameAsEmbedding(SafetensorsFile file, String headName, Tensor embed, Arena arena) {
        TensorInfo info = file.info(headName);
        Tensor head = info.shape().equals(embed.shape()) ? toF32(file, headName, arena) : null;
        if (head == null || head.data().mismatch(embed.data()) != -1) {
            throw new UserError(file.path() + ": " + headName + " differs from the trained embed_tokens, but the model"
                    + " ties the two (one table); save the adapter with ensure_weight_tying=True or drop " + headName);
        }
    }

    /** Name without "base_model.model." and without ".default" → name in the file. */
    private static Map<String, String> canonicalNames(SafetensorsFile file) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : file.names()) {
            String c = name;
            if (c.startsWith(PREFIX)) {
                c = c.substring(PREFIX.length());
                Matcher m = ADAPTER_NAME.matcher(c);
                if (m.find()) c = c.substring(0, m.start()) + "." + m.group(1) + ".weight";
                c = c.replace(".modules_to_save.default.", ".");
            } else {
                c = "\u0000" + name; // never expected: reported as unexpected under its own name
            }
            String previous = out.put(c, name);
            if (previous != null) {
                throw new UserError(file.path() + ": holds both '" + previous + "' and '" + name
                        + "', the same parameter with and without the adapter name; keep one");
            }
        }
        return out;
    }

    private static void checkTensors(SafetensorsFile file, Map<String, String> byCanonical, Map<String, Shape> expected,
                                     PeftAdapterConfig config, ModelConfig model) {
        List<String> problems = new ArrayList<>();
        int missing = 0, misShaped = 0, unexpected = 0, badType = 0;
        for (var e : expected.entrySet()) {
            String stored = byCanonical.get(e.getKey());
            if (stored == null) {
                missing++;
                problems.add(PREFIX + e.getKey() + " is missing");
                continue;
            }
            TensorInfo info = file.info(stored);
            if (!info.shape().equals(e.getValue())) {
                misShaped++;
                problems.add(stored + " is " + info.shape() + ", expected " + e.getValue());
            } else if (info.dtype() != DType.F32 && info.dtype() != DType.BF16 && info.dtype() != DType.F16) {
                badType++;
                problems.add(stored + " is " + info.dtype() + "; LoRA weights must be F32, BF16 or F16");
            }
        }
        for (var e : byCanonical.entrySet()) {
            if (!expected.containsKey(e.getKey())) {
                unexpected++;
                problems.add(e.getValue() + " is not part of the adapter that adapter_config.json describes");
            }
        }
        if (problems.isEmpty()) return;
        StringBuilder sb = new StringBuilder();
        sb.append(file.path()).append(": does not match adapter_config.json (r ").append(config.lora().r())
                .append(") and the model (").append(model.modelType().id).append(", ").append(model.numHiddenLayers())
                .append(" layers, hidden ").append(model.hiddenSize()).append(", intermediate ")
                .append(model.intermediateSize()).append("): ");
        List<String> counts = new ArrayList<>();
        if (missing > 0) counts.add(missing + " missing");
        if (misShaped > 0) counts.add(misShaped + " with other shapes");
        if (badType > 0) counts.add(badType + " of another dtype");
        if (unexpected > 0) counts.add(unexpected + " unexpected");
        sb.append("tensors ").append(String.join(", ", counts)).append(": ");
        for (int i = 0; i < Math.min(MAX_LISTED, problems.size()); i++) sb.append(i > 0 ? "; " : "").append(problems.get(i));
        if (problems.size() > MAX_LISTED) sb.append("; and ").append(problems.size() - MAX_LISTED).append(" more");
        sb.append(". ");
        if (misShaped > 0 || missing > 0) {
            sb.append("Was the adapter trained for another model");
            if (config.baseModelNameOrPath() != null) sb.append(" (its base model is ").append(config.baseModelNameOrPath()).append(")");
            sb.append("? Use it with the model it was trained on.");
        } else {
            sb.append("Save the adapter again or fix adapter_config.json.");
        }
        throw new UserError(sb.toString());
    }

    private static Tensor toF32(SafetensorsFile file, String name, Arena arena) {
        Tensor src = file.tensor(name);
        Tensor dst = Tensor.allocate(DType.F32, src.shape(), arena);
        if (src.dtype() == DType.F32) {
            MemorySegment.copy(src.data(), 0, dst.data(), 0, src.byteSize());
        } else {
            for (long i = 0; i < src.numel(); i++) dst.setFloat(i, src.getFloat(i)); // bf16/f16 widen exactly
        }
        return dst;
    }

    private static Tensor convert(Tensor t, DType dtype, Arena arena) {
        if (t.dtype() == dtype) return t;
        Tensor out = Tensor.allocate(dtype, t.shape(), arena);
        for (long i = 0; i < t.numel(); i++) out.setFloat(i, t.getFloat(i));
        return out;
    }

    private static byte[] readSmall(Path file) {
        try {
            long size = Files.size(file);
            if (size > PeftAdapterConfig.MAX_BYTES) {
                throw new UserError(file + ": is " + size + " bytes, far too large for an adapter_config.json");
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UserError(file + ": cannot be read: " + e.getMessage(), e);
        }
    }
}
