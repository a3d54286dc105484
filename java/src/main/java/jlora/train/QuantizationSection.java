package jlora.train;

/**
 * {@code quantization:} how the frozen base weights are stored (QLoRA when {@code nf4}).
 * Field names follow bitsandbytes' BitsAndBytesConfig so its users find them.
 *
 * @param mode {@code none} keeps the base weights at model.dtype (LoRA); {@code nf4} stores them
 *     as 4-bit NormalFloat (QLoRA, {@code load_in_4bit=True, bnb_4bit_quant_type="nf4"})
 * @param doubleQuant quantize the per-block absmax constants again to 8 bits in blocks of 256
 *     ({@code bnb_4bit_use_double_quant}); default false as in BitsAndBytesConfig
 * @param computeDtype the dtype NF4 blocks dequantize into for the matmul
 *     ({@code bnb_4bit_compute_dtype}); default bf16: bitsandbytes' own default is fp32, but the
 *     QLoRA paper and every seed set a 16-bit compute dtype
 * @param blockSize weights per absmax scale; 64 is bitsandbytes' 4-bit block size, and the only
 *     size pre-quantized {@code *-bnb-4bit} checkpoints use
 */
public record QuantizationSection(Mode mode, boolean doubleQuant, ModelSection.Precision computeDtype,
                                  int blockSize) {

    /** Storage of the frozen base weights. */
    public enum Mode { NONE, NF4 }

    static QuantizationSection defaults() {
        return new QuantizationSection(Mode.NONE, false, ModelSection.Precision.BF16, 64);
    }
}
