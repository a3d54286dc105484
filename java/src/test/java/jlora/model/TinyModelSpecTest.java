package jlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The built-in tiny config round-trips through the config.json parser to its documented shape. */
class TinyModelSpecTest {
    @Test
    void rendersAConfigThatParsesToTheDocumentedShape() {
        TinyModelSpec spec = new TinyModelSpec(1000, null, List.of(7, 8));
        ModelConfig c = spec.modelConfig();
        assertEquals(ModelType.QWEN2, c.modelType());
        assertEquals(64, c.hiddenSize());
        assertEquals(2, c.numHiddenLayers());
        assertEquals(4, c.numAttentionHeads());
        assertEquals(2, c.numKeyValueHeads());
        assertEquals(16, c.headDim());
        assertEquals(1000, c.vocabSize());
        assertTrue(c.tieWordEmbeddings() && c.qkvBias());
        assertEquals(0, c.slidingWindow(1));
        assertNull(c.bosTokenId());
        assertEquals(List.of(7, 8), c.eosTokenIds());
        // Hand count from the class comment: 64 * vocab + 2 * 37,120 per layer + 64 final norm.
        assertEquals(64L * 1000 + 74_304, c.parameterCount().total());
        String json = spec.configJson();
        assertTrue(json.indexOf("\"architectures\"") < json.indexOf("\"vocab_size\""), "sorted keys:\n" + json);
    }
}
