package jlora.nn;

import java.nio.file.Path;
import jlora.tensor.DType;

/**
 * How {@link CausalLM#load} builds a model.
 *
 * @param dtype F32 or BF16: the storage type of the frozen weights (compute is fp32 either way);
 *     small tensors (norms, biases) are rounded to it and kept as F32
 * @param nf4 quantize the seven linear projections of every layer to NF4 on load (QLoRA;
 *     embedding and head stay in {@code dtype}, as transformers' bitsandbytes loading leaves them).
 *     A checkpoint that is already bitsandbytes 4-bit loads as NF4 whatever this says.
 * @param doubleQuant quantize the NF4 absmax again (bnb_4bit_use_double_quant)
 * @param lora a fresh adapter to train (null: none); ignored when {@code adapter} is given
 * @param adapter a PEFT adapter directory to load (null: none)
 * @param vocabChunk vocabulary columns per chunk of the fused LM-head cross-entropy
 */
public record LoadOptions(DType dtype, boolean nf4, boolean doubleQuant, LoraConfig lora, Path adapter, int vocabChunk) {
    public static final LoadOptions DEFAULT = new LoadOptions(DType.F32, false, true, null, null, 4096);

    public LoadOptions {
        if (dtype != DType.F32 && dtype != DType.BF16) throw new IllegalArgumentException("load dtype must be F32 or BF16, got " + dtype);
        if (vocabChunk < 1) throw new IllegalArgumentException("vocabChunk must be positive, got " + vocabChunk);
    }

    public LoadOptions withDtype(DType d) {
        return new LoadOptions(d, nf4, doubleQuant, lora, adapter, vocabChunk);
    }

    public LoadOptions withNf4(boolean quantize, boolean dq) {
        return new LoadOptions(dtype, quantize, dq, lora, adapter, vocabChunk);
    }

    public LoadOptions withLora(LoraConfig c) {
        return new LoadOptions(dtype, nf4, doubleQuant, c, adapter, vocabChunk);
    }

    public LoadOptions withAdapter(Path dir) {
        return new LoadOptions(dtype, nf4, doubleQuant, lora, dir, vocabChunk);
    }

    public LoadOptions withVocabChunk(int chunk) {
        return new LoadOptions(dtype, nf4, doubleQuant, lora, adapter, chunk);
    }
}
