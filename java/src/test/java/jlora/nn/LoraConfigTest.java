package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jlora.UserError;
import jlora.model.ModelConfig;
import jlora.model.WeightMap;
import jlora.tensor.Shape;
import org.junit.jupiter.api.Test;

/**
 * LoraConfig against PEFT's documented rules (LoraConfig docstring, check_target_module_exists,
 * get_pattern_key) and against the model package's WeightMap, which derives each linear's shape
 * independently from config.json.
 */
class LoraConfigTest {
    private static final ModelConfig QWEN = ModelConfigs.published("Qwen2.5-7B-Instruct");
    private static final ModelConfig LLAMA = ModelConfigs.published("Llama-3.1-8B-Instruct");

    @Test
    void scaleIsAlphaOverRankOrOverSqrtRankWithRsLora() {
        // Hand-computed from PEFT's docstring: lora_alpha/r, rsLoRA lora_alpha/math.sqrt(r).
        assertEquals(2.0, LoraConfig.builder().r(16).loraAlpha(32).build().scale());
        assertEquals(8.0, LoraConfig.builder().r(16).loraAlpha(32).useRslora(true).build().scale());
        assertEquals(0.25, LoraConfig.builder().r(64).loraAlpha(16).build().scale());
        assertEquals(2.0, LoraConfig.builder().r(64).loraAlpha(16).useRslora(true).build().scale());
        // every resolved target carries the config's scale when no pattern overrides it
        for (LoraTarget t : LoraConfig.builder().r(64).loraAlpha(16).useRslora(true).build().resolve(QWEN)) {
            assertEquals(2.0, t.scale(), t.path());
        }
    }

    @Test
    void allLinearResolvesToTheSevenProjectionsOfEveryLayerWithWeightMapShapes() {
        for (ModelConfig model : List.of(QWEN, LLAMA, ModelConfigs.tiny())) {
            List<LoraTarget> targets = LoraConfig.builder().targetModules("all-linear").build().resolve(model);
            assertEquals(7 * model.numHiddenLayers(), targets.size(), model.architecture());
            Map<String, Shape> shapes = WeightMap.of(model).expected();
            for (int i = 0; i < targets.size(); i++) {
                LoraTarget t = targets.get(i);
                assertEquals(i / 7, t.layer());
                assertEquals(WeightMap.LINEAR_MODULES.get(i % 7), t.module());
                assertEquals(shapes.get(t.path() + ".weight"), Shape.of(t.outFeatures(), t.inFeatures()),
                        model.architecture() + " " + t.path());
            }
            assertTrue(targets.stream().noneMatch(t -> t.path().contains("lm_head")));
        }
        // "ALL-LINEAR" too: PEFT lowercases the shorthand
        assertEquals(7 * 28, LoraConfig.builder().targetModules("ALL-LINEAR").build().resolve(QWEN).size());
    }

    @Test
    void namesMatchExactlyOrAsPathSuffix() {
        assertEquals(List.of("q_proj", "v_proj"),
                LoraConfig.builder().build().resolve(QWEN).stream().limit(2).map(LoraTarget::module).toList());
        assertEquals(2 * 28, LoraConfig.builder().build().resolve(QWEN).size()); // PEFT default q_proj, v_proj
        assertEquals(28, LoraConfig.builder().targetModules(List.of("self_attn.o_proj")).build().resolve(QWEN).size());
        List<LoraTarget> one = LoraConfig.builder().targetModules(List.of("model.layers.3.mlp.down_proj")).build().resolve(QWEN);
        assertEquals(1, one.size());
        assertEquals(3, one.getFirst().layer());
        assertEquals(QWEN.intermediateSize(), one.getFirst().inFeatures());
    }

    @Test
    void layersToTransformSelectsLayersWithOrWithoutLayersPattern() {
        List<Integer> picked = List.of(0, 5, 27);
        for (List<String> pattern : List.of(List.<String>of(), List.of("layers"))) {
            List<LoraTarget> t = LoraConfig.builder().targetModules("all-linear").layersToTransform(picked)
                    .layersPattern(pattern).build().resolve(QWEN);
            assertEquals(21, t.size());
            assertEquals(picked, t.stream().map(LoraTarget::layer).distinct().toList());
        }
        UserError none = assertThrows(UserError.class, () -> LoraConfig.builder().layersToTransform(List.of(1))
                .layersPattern(List.of("h")).build().resolve(QWEN));
        assertTrue(none.getMessage().contains("'target_modules'") && none.getMessage().contains("layers_pattern [h]"), none.getMessage());
        // as in PEFT, a target named by its full path is adapted whatever layers_to_transform says
        assertEquals(List.of("model.layers.9.mlp.up_proj", "model.layers.1.mlp.up_proj"), LoraConfig.builder()
                .targetModules(List.of("model.layers.9.mlp.up_proj", "up_proj")).layersToTransform(List.of(1)).build()
                .resolve(QWEN).stream().map(LoraTarget::path).sorted(java.util.Comparator.reverseOrder()).toList());
        UserError range = assertThrows(UserError.class,
                () -> LoraConfig.builder().layersToTransform(List.of(28)).build().resolve(QWEN));
        assertTrue(range.getMessage().contains("'layers_to_transform'") && range.getMessage().contains("28 layers"), range.getMessage());
    }

    @Test
    void regexIsAFullMatchOnTheModulePath() {
        List<LoraTarget> t = LoraConfig.builder().targetModules("model\\.layers\\.[01]\\.self_attn\\.(q|v)_proj")
                .build().resolve(QWEN);
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"), t.stream().map(LoraTarget::path).toList());
        // a partial match is no match (re.fullmatch)
        UserError e = assertThrows(UserError.class, () -> LoraConfig.builder().targetModules("q_proj").build().resolve(QWEN));
        assertTrue(e.getMessage().contains("regex 'q_proj'"), e.getMessage());
        UserError head = assertThrows(UserError.class, () -> LoraConfig.builder().targetModules(".*").build().resolve(QWEN));
        assertTrue(head.getMessage().contains("lm_head"), head.getMessage());
    }

    @Test
    void unknownModuleNamesAreNamedWithTheValidOnes() {
        UserError e = assertThrows(UserError.class, () -> LoraConfig.builder()
                .targetModules(List.of("q_proj", "qkv_proj", "c_attn")).build().resolve(LLAMA));
        String m = e.getMessage();
        assertTrue(m.contains("'target_modules'") && m.contains("qkv_proj, c_attn")
                && m.contains("q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"), m);
        UserError head = assertThrows(UserError.class,
                () -> LoraConfig.builder().targetModules(List.of("lm_head")).build().resolve(LLAMA));
        assertTrue(head.getMessage().contains("output head"), head.getMessage());
    }

    @Test
    void excludeModulesAndPatternsFollowPeft() {
        List<LoraTarget> t = LoraConfig.builder().targetModules("all-linear")
                .excludeModules(TargetModules.of(List.of("down_proj"))).build().resolve(QWEN);
        assertEquals(6 * 28, t.size());
        var ranks = new LinkedHashMap<String, Integer>();
        ranks.put("down_proj", 4);
        ranks.put("layers\\.0\\..*", 32); // order matters: the first matching key wins
        var alphas = new LinkedHashMap<String, Double>();
        alphas.put("model.layers.1.self_attn.q_proj", 64.0);
        LoraConfig c = LoraConfig.builder().r(8).loraAlpha(16).targetModules("all-linear")
                .rankPattern(ranks).alphaPattern(alphas).build();
        for (LoraTarget x : c.resolve(QWEN)) {
            int r = x.module().equals("down_proj") ? 4 : x.layer() == 0 ? 32 : 8;
            double alpha = x.path().equals("model.layers.1.self_attn.q_proj") ? 64 : 16;
            assertEquals(r, x.rank(), x.path());
            assertEquals(alpha / r, x.scale(), 0.0, x.path());
        }
    }

    @Test
    void trainableNormsAndModulesToSave() {
        ModelConfig qwen3 = ModelConfigs.published("Qwen3-8B");
        List<SavedModule> norms = LoraConfig.builder().trainableNorms(true).build().resolveSaved(qwen3);
        assertEquals(4 * qwen3.numHiddenLayers() + 1, norms.size()); // input, q_norm, k_norm, post_attention; final
        Map<String, Shape> shapes = WeightMap.of(qwen3).expected();
        for (SavedModule s : norms) assertEquals(shapes.get(s.weightName()), s.shape(), s.path());
        assertEquals(List.of(new SavedModule("model.norm", Shape.of(qwen3.hiddenSize()))),
                LoraConfig.builder().modulesToSave(List.of("model.norm")).build().resolveSaved(qwen3));
        assertEquals(qwen3.numHiddenLayers(),
                LoraConfig.builder().modulesToSave(List.of("input_layernorm")).build().resolveSaved(qwen3).size());
        // Qwen3-8B's head is untied: embed_tokens and lm_head are two tables, each [V, D], in checkpoint order.
        Shape vd = Shape.of(qwen3.vocabSize(), qwen3.hiddenSize());
        assertEquals(List.of(new SavedModule("model.embed_tokens", vd), new SavedModule("model.norm", Shape.of(qwen3.hiddenSize())),
                        new SavedModule("lm_head", vd)),
                LoraConfig.builder().modulesToSave(List.of("lm_head", "model.norm", "embed_tokens")).build().resolveSaved(qwen3));
        for (SavedModule s : LoraConfig.builder().modulesToSave(List.of("lm_head", "embed_tokens")).build().resolveSaved(qwen3)) {
            assertEquals(shapes.get(s.weightName()), s.shape(), s.path());
        }
        // Tied (Qwen2.5-1.5B ties its head): lm_head is the embedding's table, named by embed_tokens.
        ModelConfig tied = ModelConfigs.published("Qwen2.5-1.5B-Instruct");
        assertTrue(tied.tieWordEmbeddings());
        UserError e = assertThrows(UserError.class,
                () -> LoraConfig.builder().modulesToSave(List.of("lm_head")).build().resolveSaved(tied));
        assertTrue(e.getMessage().contains("'modules_to_save'") && e.getMessage().contains("embed_tokens"), e.getMessage());
        e = assertThrows(UserError.class,
                () -> LoraConfig.builder().modulesToSave(List.of("rotary_emb")).build().resolveSaved(qwen3));
        assertTrue(e.getMessage().contains("'modules_to_save'") && e.getMessage().contains("cannot train in full"), e.getMessage());
    }

    @Test
    void invalidFieldsAreUserErrorsNamingTheField() {
        List<Object[]> cases = new ArrayList<>();
        cases.add(new Object[] {"r", (Runnable) () -> LoraConfig.builder().r(0).build()});
        cases.add(new Object[] {"lora_alpha", (Runnable) () -> LoraConfig.builder().loraAlpha(Double.NaN).build()});
        cases.add(new Object[] {"lora_dropout", (Runnable) () -> LoraConfig.builder().loraDropout(1.0).build()});
        cases.add(new Object[] {"bias", (Runnable) () -> LoraConfig.builder().bias("all").build()});
        cases.add(new Object[] {"target_modules", (Runnable) () -> LoraConfig.builder().targetModules(List.of()).build()});
        cases.add(new Object[] {"target_modules", (Runnable) () -> LoraConfig.builder().targetModules("(?P<x>q)_proj").build()});
        cases.add(new Object[] {"layers_to_transform", (Runnable) () -> LoraConfig.builder().targetModules(".*q_proj")
                .layersToTransform(List.of(0)).build()});
        cases.add(new Object[] {"layers_pattern", (Runnable) () -> LoraConfig.builder().layersPattern(List.of("layers")).build()});
        cases.add(new Object[] {"rank_pattern", (Runnable) () -> LoraConfig.builder()
                .rankPattern(new LinkedHashMap<>(Map.of("q_proj", 0))).build()});
        for (Object[] c : cases) {
            UserError e = assertThrows(UserError.class, ((Runnable) c[1])::run, (String) c[0]);
            assertTrue(e.getMessage().startsWith("LoRA config: field '" + c[0] + "'"), e.getMessage());
        }
    }
}
