package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import jlora.UserError;
import jlora.backend.cpu.CpuBackend;
import jlora.io.SafetensorsDir;
import jlora.io.SafetensorsWriter;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Models jlora cannot load are refused with a message that names the file or field and what to do. */
class CausalLMErrorsTest {
    static final CpuBackend CPU = new CpuBackend();

    @TempDir
    Path tmp;

    @Test
    void otherQuantizationMethodIsRefused() throws Exception {
        Path dir = TinyModels.write(tmp.resolve("llama"), "llama", 1);
        String config = Files.readString(dir.resolve("config.json"))
                .replaceFirst("\\{", "{\"quantization_config\": {\"quant_method\": \"gptq\", \"bits\": 4},");
        Files.writeString(dir.resolve("config.json"), config);
        UserError e = assertThrows(UserError.class, () -> CausalLM.load(dir, CPU, LoadOptions.DEFAULT));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("gptq"), e.getMessage());
    }

    @Test
    void integerWeightIsRefusedByName() throws Exception {
        Path dir = TinyModels.write(tmp.resolve("llama"), "llama", 1);
        String bad = "model.layers.1.mlp.up_proj.weight";
        try (SafetensorsDir st = SafetensorsDir.open(dir); Arena arena = Arena.ofConfined()) {
            LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
            for (String n : st.names()) {
                out.put(n, n.equals(bad) ? Tensor.allocate(DType.I32, st.info(n).shape(), arena) : st.tensor(n));
            }
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), out, Map.of("format", "pt"));
        }
        Files.move(tmp.resolve("model.safetensors"), dir.resolve("model.safetensors"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        UserError e = assertThrows(UserError.class, () -> CausalLM.load(dir, CPU, LoadOptions.DEFAULT));
        assertTrue(e.getMessage().contains(bad), e.getMessage());
    }

    @Test
    void missingWeightIsRefusedByName() throws Exception {
        Path dir = TinyModels.write(tmp.resolve("qwen3"), "qwen3", 1);
        String gone = "model.layers.0.self_attn.k_norm.weight";
        try (SafetensorsDir st = SafetensorsDir.open(dir); Arena arena = Arena.ofConfined()) {
            LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
            for (String n : st.names()) if (!n.equals(gone)) out.put(n, st.tensor(n));
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), out, Map.of("format", "pt"));
        }
        Files.move(tmp.resolve("model.safetensors"), dir.resolve("model.safetensors"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        UserError e = assertThrows(UserError.class, () -> CausalLM.load(dir, CPU, LoadOptions.DEFAULT));
        assertTrue(e.getMessage().contains(gone), e.getMessage());
    }

    @Test
    void tokenOutsideTheVocabularyIsRefused() {
        Path dir = TinyModels.write(tmp.resolve("llama"), "llama", 1);
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT)) {
            var e = assertThrows(IllegalArgumentException.class, () -> m.forward(new int[] {3, 97}, new int[] {0, 1}));
            assertTrue(e.getMessage().contains("97"), e.getMessage());
        }
    }
}
