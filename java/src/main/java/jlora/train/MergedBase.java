package jlora.train;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import jlora.UserError;
import jlora.io.AtomicFiles;
import jlora.io.PeftAdapter;
import jlora.io.SafetensorsDir;
import jlora.io.SafetensorsWriter;
import jlora.model.ModelConfig;
import jlora.nn.LoraPair;
import jlora.nn.LoraWeights;
import jlora.tensor.DType;
import jlora.tensor.Tensor;

/**
 * An adapter merged into its base, in memory and in f32, as PEFT's {@code merge_and_unload}
 * computes it: {@code W' = W + scale · B A} for every adapted linear weight, weights trained in
 * full (modules_to_save; a tied lm_head follows a trained embedding) replaced by their trained
 * copies, every other tensor as it was. The result is an ordinary
 * Hugging Face model directory (config.json, model.safetensors, tokenizer files), written into
 * a temporary sibling and renamed. Adapted weights are written as F32 whatever the base dtype.
 *
 * <p>Holds the adapted weights in memory: meant for models that fit in RAM (the tiny model,
 * small bases); pre-quantized (bitsandbytes) checkpoints are refused.
 */
public final class MergedBase {
    private static final List<String> COPIED = List.of("config.json", "generation_config.json");

    private MergedBase() {}

    public static Path write(Path baseDir, Path adapterDir, Path tokenizerDir, Path outDir) {
        ModelConfig mc = ModelConfig.load(baseDir);
        if (mc.quantMethod() != null) {
            throw new UserError(baseDir + " is a pre-quantized (" + mc.quantMethod() + ") checkpoint; merging needs the"
                    + " 16- or 32-bit base weights: set model.path to the unquantized model");
        }
        Path tmp;
        try {
            Files.createDirectories(outDir.toAbsolutePath().getParent());
            tmp = Files.createTempDirectory(outDir.toAbsolutePath().getParent(), "." + outDir.getFileName() + ".tmp");
        } catch (IOException e) {
            throw new UserError("cannot create " + outDir + ": " + e.getMessage(), e);
        }
        try (Arena arena = Arena.ofShared(); SafetensorsDir st = SafetensorsDir.open(baseDir)) {
            LoraWeights lora = PeftAdapter.load(adapterDir, mc, arena).weights();
            Map<String, LoraPair> byWeight = new LinkedHashMap<>();
            for (LoraPair p : lora.pairs()) byWeight.put(p.target().path() + ".weight", p);
            SequencedMap<String, Tensor> out = new LinkedHashMap<>();
            for (String name : st.names()) {
                Tensor t = st.tensor(name);
                LoraPair p = byWeight.get(name);
                if (p != null) out.put(name, merged(t, p, arena));
                else {
                    Tensor saved = lora.savedWeight(name, mc.tieWordEmbeddings());
                    out.put(name, saved != null ? saved : t);
                }
            }
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), out, Map.of("format", "pt"));
            for (String f : COPIED) {
                if (Files.isRegularFile(baseDir.resolve(f))) AtomicFiles.writeBytes(tmp.resolve(f), Files.readAllBytes(baseDir.resolve(f)));
            }
            TokenizerFiles.copy(tokenizerDir, tmp);
            if (Files.exists(outDir)) Checkpoints.deleteTree(outDir);
            try {
                Files.move(tmp, outDir, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, outDir);
            }
            return outDir;
        } catch (IOException e) {
            throw new UserError("cannot write the merged model to " + outDir + ": " + e.getMessage(), e);
        } finally {
            if (Files.exists(tmp)) Checkpoints.deleteTree(tmp);
        }
    }

    /** W + scale · B A, the product summed in double per element. */
    static Tensor merged(Tensor w, LoraPair p, Arena arena) {
        int out = p.target().outFeatures(), in = p.target().inFeatures(), r = p.target().rank();
        float[] a = p.a().toFloatArray(), b = p.b().toFloatArray();
        double scale = p.target().scale();
        Tensor m = Tensor.allocate(DType.F32, w.shape(), arena);
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int k = 0; k < r; k++) s += (double) b[o * r + k] * a[k * in + i];
                long idx = (long) o * in + i;
                m.setFloat(idx, (float) (w.getFloat(idx) + scale * s));
            }
        }
        return m;
    }
}
