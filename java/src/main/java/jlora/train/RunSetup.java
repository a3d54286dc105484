package jlora.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import jlora.UserError;
import jlora.model.ModelConfig;
import jlora.model.TinyModel;
import jlora.nn.LoadOptions;
import jlora.nn.LoraConfig;
import jlora.tensor.DType;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;

/**
 * The checks a run makes before any work (each failure one line naming what to change), and
 * the pieces it derives from the config: the model and tokenizer directories, load options,
 * the LoRA config.
 *
 * @param modelDir the model directory ({@code builtin:tiny} materialized)
 * @param tokenizerDir where tokenizer.json is read from
 * @param modelConfig the model's config.json
 * @param tokenizer the tokenizer
 * @param template the chat template (data.chat_template, else the tokenizer's)
 */
public record RunSetup(Path modelDir, Path tokenizerDir, ModelConfig modelConfig, Tokenizer tokenizer, ChatTemplate template) {

    public static final String BUILTIN_TINY = "builtin:tiny";

    /** Resolves and checks model, tokenizer and sequence length for {@code config}. */
    public static RunSetup check(TrainConfig config) {
        String path = config.model().path();
        if (path == null) {
            throw new UserError("model.path is not set: pass --model DIR (a Hugging Face model directory) or set model.path");
        }
        if (config.training().device() == TrainingSection.Device.CUDA) {
            jlora.backend.cuda.CudaDevices.Report r = jlora.backend.cuda.CudaDevices.query();
            if (r.status() != jlora.backend.cuda.CudaDevices.Status.READY) {
                throw new UserError("training.device cuda: " + r.describe() + "; use --device cpu (or auto)");
            }
        }
        Path dir;
        if (path.equals(BUILTIN_TINY)) dir = TinyModel.materialize();
        else if (path.startsWith("builtin:")) throw new UserError("model.path " + path + ": the only built-in model is " + BUILTIN_TINY);
        else dir = Path.of(path);
        if (!Files.isDirectory(dir)) throw new UserError("model.path " + dir + ": no such directory; give a Hugging Face model directory");
        ModelConfig mc = ModelConfig.load(dir);
        Path tokDir = config.model().tokenizer() != null ? Path.of(config.model().tokenizer()) : dir;
        if (!Files.isRegularFile(tokDir.resolve("tokenizer.json"))) {
            throw new UserError(tokDir + ": no tokenizer.json; set model.tokenizer to the directory that holds the model's tokenizer");
        }
        Tokenizer tok = Tokenizer.load(tokDir);
        if (tok.vocabSize() > mc.vocabSize()) {
            throw new UserError("model/tokenizer mismatch: the tokenizer in " + tokDir + " has " + tok.vocabSize()
                    + " tokens but the model's vocab_size is " + mc.vocabSize() + "; use the tokenizer that belongs to the model");
        }
        int max = config.model().maxSeqLength();
        if (max > mc.maxPositionEmbeddings()) {
            throw new UserError("model.max_seq_length " + max + " is larger than the model's max_position_embeddings "
                    + mc.maxPositionEmbeddings() + " (" + mc.source() + "); set --model.max_seq_length "
                    + mc.maxPositionEmbeddings() + " or less");
        }
        ChatTemplate template = ChatTemplate.load(tokDir);
        String custom = config.data().chatTemplate();
        if (custom != null) {
            Path f = Path.of(custom);
            String text = custom;
            if (!custom.contains("{") && Files.isRegularFile(f)) {
                try {
                    text = Files.readString(f);
                } catch (IOException e) {
                    throw new UserError("data.chat_template " + f + ": cannot read (" + e.getMessage() + ")");
                }
            }
            template = template.withTemplate(text, custom);
        }
        String format = PromptFormats.template(config.data().promptFormat());
        if (format != null) {
            template = template.withTemplate(format, "data.prompt_format " + config.data().promptFormat().name().toLowerCase(Locale.ROOT));
        }
        return new RunSetup(dir, tokDir, mc, tok, template);
    }

    /** The same checks' result with the weights read from {@code dir} (a merged base), tokenizer unchanged. */
    RunSetup withModelDir(Path dir) {
        return new RunSetup(dir, tokenizerDir, modelConfig, tokenizer, template);
    }

    /** Fails now, with the reason, if {@code runDir} cannot be created or written. */
    public static void checkWritable(Path runDir) {
        try {
            Files.createDirectories(runDir);
            Path probe = Files.createTempFile(runDir, ".write-test", ".tmp");
            Files.delete(probe);
        } catch (IOException | SecurityException e) {
            throw new UserError("output dir " + runDir + " is not writable (" + e.getClass().getSimpleName() + " "
                    + e.getMessage() + "); set --output.dir to a writable directory");
        }
    }

    /** The base-model name placed into {model} and adapter_config.json. */
    public String modelName() {
        return modelDir.getFileName().toString();
    }

    static LoraConfig loraConfig(TrainConfig c) {
        LoraSection l = c.lora();
        LoraConfig.Builder b = LoraConfig.builder().r(l.r()).loraAlpha(l.alpha()).loraDropout(l.dropout())
                .useRslora(l.useRslora()).modulesToSave(l.modulesToSave()).trainableNorms(l.trainNorms())
                .seed(l.initSeed() != null ? l.initSeed() : c.training().seed());
        List<String> t = l.targetModules();
        if (t.size() == 1 && t.getFirst().toLowerCase(Locale.ROOT).equals(LoraSection.ALL_LINEAR)) b.targetModules(LoraSection.ALL_LINEAR);
        else b.targetModules(t);
        if (l.layersToTransform() != null) b.layersToTransform(l.layersToTransform());
        return b.build();
    }

    static LoadOptions loadOptions(TrainConfig c) {
        return loadOptions(c, false);
    }

    /** model.dtype auto is bf16 weights on a GPU and fp32 on the CPU reference. */
    static LoadOptions loadOptions(TrainConfig c, boolean gpu) {
        DType dtype = switch (c.model().dtype()) {
            case AUTO -> gpu ? DType.BF16 : DType.F32;
            case FP32 -> DType.F32;
            case BF16, FP16 -> DType.BF16;
        };
        boolean nf4 = c.quantization().mode() == QuantizationSection.Mode.NF4;
        return LoadOptions.DEFAULT.withDtype(dtype).withNf4(nf4, c.quantization().doubleQuant()).withLora(loraConfig(c));
    }
}
