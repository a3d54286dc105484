package jlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import jlora.UserError;
import jlora.model.ModelConfig;
import jlora.nn.LoraConfig;
import jlora.nn.LoraTarget;
import jlora.nn.ModelConfigs;
import jlora.nn.TargetModules;
import org.junit.jupiter.api.Test;

/**
 * The field forms PEFT's LoraConfig accepts (per its dataclass types: an int or a list for
 * layers_to_transform, a string or a list for layers_pattern and target_modules, null for
 * absent), read back into the same resolution; and jlora's own JSON read back to an equal config.
 */
class PeftAdapterConfigTest {
    private static final Path FILE = Path.of("adapter/adapter_config.json");
    private static final ModelConfig TINY = ModelConfigs.tiny();

    private static PeftAdapterConfig parse(String json) {
        return PeftAdapterConfig.parse(json.getBytes(StandardCharsets.UTF_8), FILE);
    }

    @Test
    void acceptsEveryFormPeftWrites() {
        LoraConfig c = parse("""
                {"peft_type": "LORA", "r": 8.0, "lora_alpha": 12.5, "target_modules": "ALL-LINEAR",
                 "layers_to_transform": 1, "layers_pattern": "layers", "exclude_modules": ".*\\\\.mlp\\\\.up_proj",
                 "task_type": null, "some_future_field": {"x": 1}}
                """).lora();
        assertEquals(8, c.r());
        assertEquals(12.5 / 8, c.scale());
        assertEquals(new TargetModules.AllLinear(), c.targetModules());
        List<LoraTarget> t = c.resolve(TINY);
        assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "down_proj"),
                t.stream().map(LoraTarget::module).toList());
        assertTrue(t.stream().allMatch(x -> x.layer() == 1));

        PeftAdapterConfig defaults = parse("{\"peft_type\": \"LORA\", \"r\": 4, \"target_modules\": null}");
        assertEquals(List.of("q_proj", "v_proj"), ((TargetModules.Names) defaults.lora().targetModules()).names());
        assertEquals(8.0, defaults.lora().loraAlpha()); // PEFT's default lora_alpha
        assertNull(defaults.baseModelNameOrPath());
    }

    @Test
    void jloraJsonReadsBackToTheSameResolution() {
        var ranks = new java.util.LinkedHashMap<String, Integer>();
        ranks.put("layers\\.1\\.mlp\\..*", 2);
        LoraConfig c = LoraConfig.builder().r(16).loraAlpha(8).loraDropout(0.1).useRslora(true)
                .targetModules(List.of("o_proj", "gate_proj")).layersToTransform(List.of(0, 1))
                .layersPattern(List.of("layers")).rankPattern(ranks).modulesToSave(List.of("model.norm")).build();
        List<LoraTarget> want = c.resolve(TINY);
        String json = new PeftAdapterConfig(c, "base", "v1").toJson(List.of(), List.of());
        PeftAdapterConfig back = parse(json);
        assertEquals(want, back.lora().resolve(TINY));
        assertEquals(c.resolveSaved(TINY), back.lora().resolveSaved(TINY));
        assertEquals(0.1, back.lora().loraDropout());
        assertEquals("base", back.baseModelNameOrPath());
        assertEquals("v1", back.revision());
    }

    @Test
    void refusesWhatWouldChangeTheMeaningOfTheTensors() {
        String[][] cases = {
            {"\"lora_bias\": true", "'lora_bias'"},
            {"\"layer_replication\": [[0, 1], [0, 1]]", "'layer_replication'"},
            {"\"init_lora_weights\": \"olora\"", "'init_lora_weights'"},
            {"\"task_type\": \"SEQ_CLS\"", "'task_type'"},
            {"\"bias\": \"lora_only\"", "'bias'"},
            {"\"modules_to_save\": [\"lm_head\"]", null},
            {"\"lora_dropout\": 1.5", "'lora_dropout'"},
            {"\"target_modules\": 3", "'target_modules' must be a list of module names or a regex string"},
        };
        for (String[] c : cases) {
            String json = "{\"peft_type\": \"LORA\", \"r\": 4, " + c[0] + "}";
            if (c[1] == null) {
                UserError e = assertThrows(UserError.class, () -> parse(json).lora().resolveSaved(TINY), c[0]);
                assertTrue(e.getMessage().contains("'modules_to_save'"), e.getMessage());
                continue;
            }
            UserError e = assertThrows(UserError.class, () -> parse(json), c[0]);
            assertTrue(e.getMessage().startsWith(FILE + ": field " + c[1]), c[0] + " -> " + e.getMessage());
        }
    }
}
