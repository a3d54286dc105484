package jlora.model;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import jlora.UserError;
import jlora.tensor.DType;

/**
 * A decoder-only model as a Hugging Face {@code config.json} describes it, with every default
 * resolved the way the transformers config class of its family resolves it.
 *
 * @param source the config.json this came from
 * @param architecture first entry of {@code architectures} (e.g. Qwen2ForCausalLM)
 * @param headDim per-head dimension: {@code head_dim} when given (Qwen3 defaults to 128, as
 *     Qwen3Config does), else hidden_size / num_attention_heads
 * @param qkvBias q/k/v projections carry a bias: always for qwen2, {@code attention_bias} otherwise
 * @param oProjBias o_proj carries a bias: {@code attention_bias} for llama and qwen3, never for qwen2
 * @param mlpBias gate/up/down carry a bias (llama {@code mlp_bias})
 * @param qkNorm per-head RMSNorm on q and k before RoPE (qwen3)
 * @param slidingWindow attention window in tokens for the layers that use one; 0 = none
 * @param firstSlidingLayer layers at this index and above use the window (Qwen's
 *     max_window_layers; 0 for Mistral; numHiddenLayers when no layer does)
 * @param torchDtype {@code torch_dtype} (or transformers 5's {@code dtype}); null if absent
 * @param bosTokenId null if absent
 * @param eosTokenIds empty if absent; one or more ids (Llama 3.1 lists three)
 * @param padTokenId null if absent
 * @param quantMethod {@code quantization_config.quant_method} (e.g. bitsandbytes); null if none
 */
public record ModelConfig(
        Path source,
        ModelType modelType,
        String architecture,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int vocabSize,
        int maxPositionEmbeddings,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        boolean oProjBias,
        boolean mlpBias,
        boolean qkNorm,
        int slidingWindow,
        int firstSlidingLayer,
        String hiddenAct,
        String torchDtype,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        String quantMethod) {

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Loads {@code config.json} from a model directory, or the file itself if given one. */
    public static ModelConfig load(Path dirOrFile) {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("config.json") : dirOrFile;
        if (!Files.exists(dirOrFile)) {
            throw new UserError(dirOrFile + " does not exist. Give the path of a Hugging Face model directory"
                    + " (config.json, *.safetensors, tokenizer.json).");
        }
        if (!Files.isRegularFile(file)) {
            throw new UserError("No config.json in " + dirOrFile + ": the model path must be a Hugging Face model"
                    + " directory (config.json, *.safetensors, tokenizer.json), e.g. one downloaded with"
                    + " `hf download Qwen/Qwen2.5-7B-Instruct --local-dir DIR`.");
        }
        byte[] bytes;
        try {
            // A config.json is a few KB; refuse to pull a mistaken multi-GB weight file into memory.
            long size = Files.size(file);
            if (size > MAX_CONFIG_BYTES) {
                throw new UserError(file + " is " + size + " bytes, far too large for a config.json."
                        + " Give the model directory or its config.json.");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UserError("Cannot read " + file + ": " + e.getMessage(), e);
        }
        return parse(bytes, file);
    }

    static final long MAX_CONFIG_BYTES = 16L << 20;

    /** Parses config.json text; {@code file} is named in error messages. */
    public static ModelConfig parse(String json, Path file) {
        return parse(json.getBytes(java.nio.charset.StandardCharsets.UTF_8), file);
    }

    private static ModelConfig parse(byte[] json, Path file) {
        JsonNode root;
        try {
            // Jackson detects the encoding (UTF-8/16/32) and reports bad bytes with a location.
            root = JSON.readTree(json);
        } catch (IOException e) {
            JsonProcessingException j = e instanceof JsonProcessingException p ? p : null;
            JsonLocation at = j == null ? null : j.getLocation();
            String where = at == null ? "" : " line " + at.getLineNr() + ", column " + at.getColumnNr();
            String why = firstLine(j == null ? e.getMessage() : j.getOriginalMessage());
            throw new UserError(file + ":" + where + ": not valid JSON (" + why
                    + "). Fix the file or re-download config.json.", e);
        }
        if (root == null || !root.isObject()) {
            throw new UserError(file + ": config.json must hold a JSON object, found "
                    + (root == null || root.isMissingNode() ? "nothing" : root.getNodeType().name().toLowerCase(Locale.ROOT))
                    + ". Re-download config.json from the model's repository.");
        }
        ConfigFields top = new ConfigFields(root, file, "", "a model config");
        String typeId = top.optionalString("model_type", null);
        if (typeId == null) {
            throw new UserError(file + ": missing field 'model_type'. jlora supports " + ModelType.supportedList()
                    + "; use the config.json from the model's Hugging Face repository.");
        }
        ModelType type = ModelType.fromId(typeId).orElseThrow(() -> new UserError(file + ": model_type '" + typeId
                + "' is not supported. jlora supports " + ModelType.supportedList() + "."));
        return ConfigParser.parse(new ConfigFields(root, file, "", "a " + type.id + " config"), type);
    }

    private static String firstLine(String s) {
        if (s == null) return "unknown problem";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public int qDim() {
        return numAttentionHeads * headDim;
    }

    public int kvDim() {
        return numKeyValueHeads * headDim;
    }

    /** RoPE inverse frequencies for a sequence of {@code seqLen} tokens; see {@link RopeScaling}. */
    public double[] ropeInverseFrequencies(int seqLen) {
        return ropeScaling.inverseFrequencies(headDim, ropeTheta, seqLen);
    }

    /** The attention window for {@code layer}, or 0 when it attends to the whole prefix. */
    public int slidingWindow(int layer) {
        return slidingWindow > 0 && layer >= firstSlidingLayer ? slidingWindow : 0;
    }

    /** The element type of the checkpoint's floating-point weights, if config.json says. */
    public DType weightDType() {
        if (torchDtype == null) return null;
        return switch (torchDtype) {
            case "bfloat16" -> DType.BF16;
            case "float16", "half" -> DType.F16;
            case "float32", "float" -> DType.F32;
            default -> null;
        };
    }

    /** Every weight tensor this config implies, with its shape; see {@link WeightMap}. */
    public WeightMap weightMap() {
        return WeightMap.of(this);
    }

    public ParameterCount parameterCount() {
        return ParameterCount.of(weightMap());
    }

    /** Human-readable lines for `jlora info`: architecture, shape, attention, RoPE, size. */
    public List<String> describe() {
        ParameterCount p = parameterCount();
        List<String> out = new java.util.ArrayList<>();
        out.add("architecture   " + architecture + " (model_type " + modelType.id + ")");
        out.add("parameters     " + ParameterCount.human(p.total()) + " (" + ParameterCount.human(p.nonEmbedding())
                + " non-embedding" + (tieWordEmbeddings ? ", tied embeddings" : "") + ")");
        out.add("layers         " + numHiddenLayers + " x hidden " + hiddenSize + ", MLP " + intermediateSize + " (SwiGLU)");
        out.add("attention      " + numAttentionHeads + " heads x " + headDim + ", " + numKeyValueHeads + " kv heads"
                + (numKeyValueHeads < numAttentionHeads ? " (GQA " + numAttentionHeads / numKeyValueHeads + ":1)" : "")
                + (qkvBias ? ", qkv bias" : "") + (qkNorm ? ", q/k norm" : "")
                + (slidingWindow > 0 ? ", sliding window " + slidingWindow + " from layer " + firstSlidingLayer : ""));
        out.add("context        " + maxPositionEmbeddings + " tokens, RoPE theta " + ropeTheta
                + (ropeScaling.type() == RopeScaling.Type.DEFAULT ? ""
                        : ", " + ropeScaling.type().id() + " x" + ropeScaling.factor()));
        out.add("vocabulary     " + vocabSize + (torchDtype != null ? ", weights " + torchDtype : "")
                + (quantMethod != null ? ", pre-quantized (" + quantMethod + ")" : ""));
        return out;
    }
}
