package jlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;

import jlora.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Real config.json files (test resources, as published on the Hugging Face Hub) against the
 * numbers their model cards publish: total parameters (HF "Model size"), Qwen's
 * non-embedding counts, and PEFT's print_trainable_parameters output.
 */
class ModelConfigTest {

    /** Oracle: the parameter count each model card / Hub page states, to its rounding; 0.5%. */
    @ParameterizedTest(name = "{0}: {1}B")
    @CsvSource({
        "Qwen2.5-7B-Instruct, 7.62",
        "Qwen2.5-14B-Instruct, 14.77",
        "Qwen2.5-1.5B-Instruct, 1.54",
        "Qwen3-8B, 8.19",
        "Llama-2-7b-hf, 6.74",
        "Llama-3.1-8B-Instruct, 8.03",
        "Mistral-7B-v0.1, 7.24",
        "DeepSeek-R1-Distill-Qwen-32B, 32.76",
    })
    void totalParametersMatchPublishedCounts(String model, double billions) {
        long total = Configs.load(model).parameterCount().total();
        double rel = Math.abs(total / 1e9 - billions) / billions;
        assertTrue(rel <= 0.005, model + ": computed " + total + " vs published " + billions + "B, rel err " + rel);
    }

    /**
     * Oracle: the "Number of Parameters (Non-Embedding)" line of the Qwen model cards. The cards
     * give three digits and truncate (the 14B card says 14.7B total where the Hub counts 14.77B),
     * so the tolerance is 1%.
     */
    @ParameterizedTest(name = "{0}: {1}B non-embedding")
    @CsvSource({
        "Qwen2.5-7B-Instruct, 6.53",
        "Qwen2.5-14B-Instruct, 13.1",
        "Qwen2.5-1.5B-Instruct, 1.31",
        "Qwen3-8B, 6.95",
        "DeepSeek-R1-Distill-Qwen-32B, 31.0",
    })
    void nonEmbeddingParametersMatchQwenModelCards(String model, double billions) {
        ParameterCount p = Configs.load(model).parameterCount();
        double rel = Math.abs(p.nonEmbedding() / 1e9 - billions) / billions;
        assertTrue(rel <= 0.01, model + ": computed " + p.nonEmbedding() + " vs card " + billions + "B, rel err " + rel);
        assertEquals(p.total(), p.embedding() + p.nonEmbedding());
    }

    /**
     * Oracle: PEFT's print_trainable_parameters for Llama-2-7b with r=8 on q_proj, v_proj
     * prints "trainable params: 4,194,304 || all params: 6,742,609,920" (exact).
     */
    @Test
    void llama2ParameterCountIsExactAgainstPeft() {
        ModelConfig c = Configs.load("Llama-2-7b-hf");
        long lora = MemoryEstimate.loraParameterCount(c, 8, Set.of("q_proj", "v_proj"));
        assertEquals(4_194_304L, lora);
        assertEquals(6_742_609_920L, c.parameterCount().total() + lora);
    }

    /** A tied head shares the embedding: counted once (Qwen2.5-1.5B ties, 7B does not). */
    @Test
    void tiedEmbeddingIsCountedOnce() {
        ModelConfig c = Configs.load("Qwen2.5-1.5B-Instruct");
        assertTrue(c.tieWordEmbeddings());
        assertEquals((long) c.vocabSize() * c.hiddenSize(), c.parameterCount().embedding());
        ModelConfig u = Configs.load("Qwen2.5-7B-Instruct");
        assertEquals(2L * u.vocabSize() * u.hiddenSize(), u.parameterCount().embedding());
    }

    /** Oracle: the fields as written in each file and transformers' documented derivations. */
    @Test
    void qwen2FieldsAndDerivedFlags() {
        ModelConfig c = Configs.load("Qwen2.5-7B-Instruct");
        assertEquals(ModelType.QWEN2, c.modelType());
        assertEquals("Qwen2ForCausalLM", c.architecture());
        assertEquals(128, c.headDim()); // 3584 / 28
        assertEquals(512, c.kvDim());
        assertTrue(c.qkvBias());
        assertFalse(c.oProjBias());
        assertFalse(c.qkNorm());
        assertEquals(1e6, c.ropeTheta());
        assertEquals(RopeScaling.Type.DEFAULT, c.ropeScaling().type());
        assertEquals(0, c.slidingWindow(27), "use_sliding_window is false");
        assertEquals(DType.BF16, c.weightDType());
        assertEquals(151643, c.bosTokenId());
        assertEquals(List.of(151645), c.eosTokenIds());
        assertNull(c.padTokenId());
        assertNull(c.quantMethod());
    }

    @Test
    void qwen3HasExplicitHeadDimAndQkNorm() {
        ModelConfig c = Configs.load("Qwen3-8B");
        assertEquals(ModelType.QWEN3, c.modelType());
        assertEquals(128, c.headDim());
        assertTrue(c.qkNorm());
        assertFalse(c.qkvBias());
        assertEquals(40960, c.maxPositionEmbeddings());
        assertEquals(1e6, c.ropeTheta()); // written as the integer 1000000
    }

    @Test
    void llamaDefaultsAndLlama3Rope() {
        ModelConfig l2 = Configs.load("Llama-2-7b-hf");
        assertEquals(10000.0, l2.ropeTheta(), "LlamaConfig default when rope_theta is absent");
        assertEquals(32, l2.numKeyValueHeads());
        assertEquals(DType.F16, l2.weightDType());
        assertEquals(1e-5, l2.rmsNormEps());

        ModelConfig l3 = Configs.load("Llama-3.1-8B-Instruct");
        assertEquals(List.of(128001, 128008, 128009), l3.eosTokenIds());
        RopeScaling r = l3.ropeScaling();
        assertEquals(RopeScaling.Type.LLAMA3, r.type());
        assertEquals(8.0, r.factor());
        assertEquals(8192, r.originalMaxPositionEmbeddings());
        assertEquals(1.0, r.lowFreqFactor());
        assertEquals(4.0, r.highFreqFactor());
        assertEquals(1.0, r.attentionScaling());
        assertFalse(l3.qkvBias() || l3.oProjBias() || l3.mlpBias());
    }

    @Test
    void mistralSlidesOnEveryLayer() {
        ModelConfig c = Configs.load("Mistral-7B-v0.1");
        assertEquals(4096, c.slidingWindow(0));
        assertEquals(4096, c.slidingWindow(31));
        assertEquals(128, c.headDim());
    }

    @Test
    void qwenSlidingWindowStartsAtMaxWindowLayers() {
        String json = TinyJson.qwen2(", \"use_sliding_window\": true, \"sliding_window\": 64, \"max_window_layers\": 1");
        ModelConfig c = ModelConfig.parse(json, java.nio.file.Path.of("config.json"));
        assertEquals(0, c.slidingWindow(0));
        assertEquals(64, c.slidingWindow(1));
    }

    @Test
    void acceptsOldTypeKeyAndEosAsInteger() {
        String json = TinyJson.llama(", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}, \"eos_token_id\": 7");
        ModelConfig c = ModelConfig.parse(json, java.nio.file.Path.of("config.json"));
        assertEquals(RopeScaling.Type.LINEAR, c.ropeScaling().type());
        assertEquals(List.of(7), c.eosTokenIds());
    }

    /** The summary `jlora info` prints carries the published size and the GQA ratio. */
    @Test
    void describeSummarisesTheModel() {
        String text = String.join("\n", Configs.load("Qwen2.5-7B-Instruct").describe());
        for (String part : List.of("Qwen2ForCausalLM", "7.62B", "28 heads x 128, 4 kv heads (GQA 7:1)", "qkv bias",
                "32768 tokens", "bfloat16")) {
            assertTrue(text.contains(part), "lacks '" + part + "':\n" + text);
        }
    }
}
