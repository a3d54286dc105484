package jlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import jlora.UserError;
import jlora.model.MemoryEstimate.Method;
import jlora.model.MemoryEstimate.Setup;
import org.junit.jupiter.api.Test;

/**
 * The memory estimate is arithmetic documented term by term in {@link MemoryEstimate}; the
 * oracles are published numbers where they exist (PEFT / Unsloth trainable-parameter counts,
 * the size of a published bitsandbytes 4-bit checkpoint) and a tiny config worked by hand.
 */
class MemoryEstimateTest {

    /** Oracle: Unsloth's Llama-3-8B notebooks print "trainable params: 41,943,040" for r=16, all 7 linears. */
    @Test
    void loraParameterCountMatchesPeft() {
        ModelConfig c = Configs.load("Llama-3.1-8B-Instruct");
        MemoryEstimate m = MemoryEstimate.of(c, Method.LORA, Setup.defaults(2048, 1, true));
        assertEquals(41_943_040L, m.loraParameters());
        assertEquals(16L * 41_943_040L, m.loraWeights() + m.loraGradients() + m.optimizerStates(),
                "fp32 master + fp32 grad + two fp32 AdamW moments = 16 bytes per LoRA parameter");
    }

    /**
     * Oracle: unsloth/Meta-Llama-3.1-8B-Instruct-bnb-4bit (NF4, double quant, embedding and
     * lm_head in bf16) is 5.7 GB on the Hub; our NF4 base term should agree within 3%.
     */
    @Test
    void qloraBaseMatchesPublishedBnb4bitCheckpoint() {
        ModelConfig c = Configs.load("Llama-3.1-8B-Instruct");
        long base = MemoryEstimate.of(c, Method.QLORA, Setup.defaults(2048, 1, true)).baseWeights();
        double rel = Math.abs(base / 1e9 - 5.7) / 5.7;
        assertTrue(rel < 0.03, "QLoRA base " + base + " bytes vs 5.7 GB published, rel err " + rel);
    }

    @Test
    void loraBaseIsBf16OfEveryParameter() {
        for (String model : List.of("Qwen2.5-7B-Instruct", "Qwen2.5-1.5B-Instruct", "Mistral-7B-v0.1")) {
            ModelConfig c = Configs.load(model);
            MemoryEstimate lora = MemoryEstimate.of(c, Method.LORA, Setup.defaults(1024, 2, false));
            MemoryEstimate qlora = MemoryEstimate.of(c, Method.QLORA, Setup.defaults(1024, 2, false));
            assertEquals(2 * c.parameterCount().total(), lora.baseWeights(), model);
            assertTrue(qlora.baseWeights() < lora.baseWeights() / 2, model + ": NF4 base should be well under half");
            assertEquals(lora.activations(), qlora.activations(), model);
            assertEquals(lora.baseWeights() + lora.loraWeights() + lora.loraGradients() + lora.optimizerStates()
                    + lora.activations() + lora.logits() + lora.workspace(), lora.total(), model);
        }
    }

    /**
     * Hand-worked tiny qwen2 (hidden 64, intermediate 128, 2 layers, 4 heads of 16, 2 kv heads,
     * vocab 100), rank 8 on all 7 linears, 10 tokens:
     * LoRA params per layer 8*(128 + 96 + 96 + 128 + 192 + 192 + 192) = 8192, x2 layers = 16384;
     * activations per layer and token 2*(4*64 + 2*64 + 2*32 + 3*128 + 8*7) + 4*4 = 1792 bytes,
     * so 10 * 2 * 1792 = 35840 without checkpointing and 10 * (2*64*2 + 1792) = 20480 with;
     * logits 10 * 100 * 4 = 4000; QLoRA workspace 128 * 64 * 2 = 16384.
     */
    @Test
    void tinyConfigByHand() {
        ModelConfig c = ModelConfig.parse(TinyJson.qwen2(""), Path.of("config.json"));
        MemoryEstimate full = MemoryEstimate.of(c, Method.QLORA, new Setup(8, List.of("all-linear"), 10, 1, false));
        assertEquals(16384, full.loraParameters());
        assertEquals(35840, full.activations());
        assertEquals(4000, full.logits());
        assertEquals(16384, full.workspace());
        MemoryEstimate ckpt = MemoryEstimate.of(c, Method.LORA, new Setup(8, List.of("all-linear"), 5, 2, true));
        assertEquals(20480, ckpt.activations());
        assertEquals(0, ckpt.workspace());
    }

    @Test
    void activationsScaleWithTokensAndShrinkWithCheckpointing() {
        ModelConfig c = Configs.load("Qwen2.5-7B-Instruct");
        MemoryEstimate one = MemoryEstimate.of(c, Method.QLORA, Setup.defaults(2048, 1, false));
        MemoryEstimate four = MemoryEstimate.of(c, Method.QLORA, Setup.defaults(2048, 4, false));
        MemoryEstimate ckpt = MemoryEstimate.of(c, Method.QLORA, Setup.defaults(2048, 4, true));
        assertEquals(4 * one.activations(), four.activations());
        assertTrue(ckpt.activations() < four.activations() / 5, ckpt.activations() + " vs " + four.activations());
        assertTrue(four.describe().getFirst().contains("GiB"));
    }

    @Test
    void unknownTargetModuleIsAUserError() {
        ModelConfig c = Configs.load("Qwen2.5-7B-Instruct");
        UserError e = assertThrows(UserError.class,
                () -> MemoryEstimate.of(c, Method.LORA, new Setup(8, List.of("qkv_proj"), 128, 1, false)));
        assertTrue(e.getMessage().contains("qkv_proj") && e.getMessage().contains("all-linear"), e.getMessage());
        assertThrows(UserError.class, () -> new Setup(0, List.of("q_proj"), 128, 1, false));
    }
}
