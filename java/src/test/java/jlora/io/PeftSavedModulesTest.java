package jlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import jlora.model.ModelConfig;
import jlora.nn.LoraConfig;
import jlora.nn.LoraWeights;
import jlora.nn.TinyModels;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * modules_to_save with the embedding (and an untied head) in PEFT's format. Oracles: the adapter
 * real PEFT 0.21 wrote for the golden base (golden/peft/all_linear_rslora_bf16, which saves
 * input_layernorm, post_attention_layernorm and model.norm): every full-module tensor there is
 * named "base_model.model." + module path + ".weight" (the wrapper's "modules_to_save.default."
 * removed), and a jlora adapter for the same base and modules writes exactly those names, plus
 * base_model.model.model.embed_tokens.weight [V, D] for embed_tokens; then save → load is bit
 * identical. The config lists embed_tokens in modules_to_save and sets ensure_weight_tying (PEFT
 * >= 0.18 then keeps a tied lm_head on the trained table); without that flag such an adapter is
 * refused (PEFT would have trained it under the untouched head).
 */
class PeftSavedModulesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    final long seed = System.nanoTime();

    @Test
    void embeddingIsSavedAsPeftNamesModulesToSave() throws IOException {
        Path golden = golden();
        ModelConfig base = ModelConfig.load(golden.resolve("base"));
        assertTrue(base.tieWordEmbeddings(), "the golden base ties its head");
        Path peftCase = golden.resolve("all_linear_rslora_bf16");
        Set<String> peftFull = new TreeSet<>();
        try (SafetensorsFile f = SafetensorsFile.open(peftCase.resolve(PeftAdapter.WEIGHTS_FILE))) {
            for (String n : f.names()) if (!n.contains(".lora_")) peftFull.add(n);
        }
        assertFalse(peftFull.isEmpty(), "the PEFT golden adapter saves norms in full");
        for (String n : peftFull) {
            assertTrue(n.startsWith(PeftAdapter.PREFIX) && n.endsWith(".weight") && !n.contains("modules_to_save"),
                    "PEFT's name " + n + " is not base_model.model.<path>.weight");
        }
        List<String> peftModules = strings(JSON.readTree(peftCase.resolve(PeftAdapterConfig.FILE_NAME).toFile()).get("modules_to_save"));

        List<String> toSave = new ArrayList<>(peftModules);
        toSave.add("embed_tokens");
        LoraConfig c = LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of("q_proj")).modulesToSave(toSave)
                .seed(seed).build();
        try (Arena arena = Arena.ofShared()) {
            LoraWeights w = randomized(c, base, arena);
            Path out = tmp.resolve("tied");
            PeftAdapter.save(out, w, "golden-base", null, DType.F32);

            Set<String> ours = new TreeSet<>();
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve(PeftAdapter.WEIGHTS_FILE))) {
                for (String n : f.names()) if (!n.contains(".lora_")) ours.add(n);
                String embed = PeftAdapter.PREFIX + "model.embed_tokens.weight";
                assertEquals(Shape.of(base.vocabSize(), base.hiddenSize()), f.info(embed).shape(), embed);
                // PEFT 0.21 with ensure_weight_tying looks the tied head up on load (KeyError without
                // it, seen on the GPU machine): the same table, also under lm_head's name.
                String head = PeftAdapter.PREFIX + "lm_head.weight";
                Set<String> want = new TreeSet<>(peftFull);
                want.add(embed);
                want.add(head);
                assertEquals(want, ours, "full-module tensor names");
                assertEquals(f.info(embed).shape(), f.info(head).shape(), head);
                assertEquals(-1L, f.tensor(embed).data().mismatch(f.tensor(head).data()), head + " holds the embedding's bytes");
            }
            JsonNode cfg = JSON.readTree(out.resolve(PeftAdapterConfig.FILE_NAME).toFile());
            assertTrue(strings(cfg.get("modules_to_save")).containsAll(toSave), cfg.toString());
            assertTrue(cfg.path("ensure_weight_tying").asBoolean(false), "ensure_weight_tying: " + cfg);
            assertRoundTrip(w, PeftAdapter.load(out, base, arena).weights());

            // A tied head that is not the trained table cannot be one tensor with it: refused, naming it.
            Path otherHead = tmp.resolve("tied-other-head");
            java.nio.file.Files.createDirectories(otherHead);
            java.nio.file.Files.copy(out.resolve(PeftAdapterConfig.FILE_NAME), otherHead.resolve(PeftAdapterConfig.FILE_NAME));
            java.util.SequencedMap<String, Tensor> changed = new java.util.LinkedHashMap<>();
            SplittableRandom r = new SplittableRandom(seed);
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve(PeftAdapter.WEIGHTS_FILE))) {
                for (String n : f.names()) {
                    Tensor t = Tensor.of(DType.F32, f.info(n).shape(), f.tensor(n).toFloatArray(), arena);
                    if (n.endsWith("lm_head.weight")) t.setFloat(r.nextInt((int) t.numel()), t.getFloat(0) + 1f); // one element off
                    changed.put(n, t);
                }
            }
            SafetensorsWriter.write(otherHead.resolve(PeftAdapter.WEIGHTS_FILE), changed, java.util.Map.of("format", "pt"));
            jlora.UserError headError = org.junit.jupiter.api.Assertions.assertThrows(jlora.UserError.class,
                    () -> PeftAdapter.load(otherHead, base, arena));
            assertTrue(headError.getMessage().contains("lm_head.weight") && headError.getMessage().contains("embed_tokens"),
                    headError.getMessage());

            // The same files as PEFT writes them without ensure_weight_tying: PEFT then trained the
            // embedding under the original head, which jlora cannot compute; refused, naming the field.
            Path cfgFile = out.resolve(PeftAdapterConfig.FILE_NAME);
            java.nio.file.Files.writeString(cfgFile, java.nio.file.Files.readString(cfgFile)
                    .replace("\"ensure_weight_tying\": true", "\"ensure_weight_tying\": false"));
            jlora.UserError e = org.junit.jupiter.api.Assertions.assertThrows(jlora.UserError.class,
                    () -> PeftAdapter.load(out, base, arena));
            assertTrue(e.getMessage().startsWith(cfgFile.toString()) && e.getMessage().contains("ensure_weight_tying"), e.getMessage());
        }
    }

    /** An untied model (TinyModels' llama): lm_head is its own table, saved as base_model.model.lm_head.weight. */
    @Test
    void untiedHeadIsSavedBesideTheEmbedding() {
        ModelConfig llama = ModelConfig.load(TinyModels.write(tmp.resolve("llama"), "llama", seed));
        LoraConfig c = LoraConfig.builder().r(4).loraAlpha(8).targetModules("all-linear")
                .modulesToSave(List.of("embed_tokens", "lm_head")).seed(seed).build();
        try (Arena arena = Arena.ofShared()) {
            LoraWeights w = randomized(c, llama, arena);
            Path out = tmp.resolve("untied");
            PeftAdapter.save(out, w, null, null, DType.F32);
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve(PeftAdapter.WEIGHTS_FILE))) {
                Shape vd = Shape.of(llama.vocabSize(), llama.hiddenSize());
                assertEquals(vd, f.info(PeftAdapter.PREFIX + "lm_head.weight").shape());
                assertEquals(vd, f.info(PeftAdapter.PREFIX + "model.embed_tokens.weight").shape());
            }
            assertRoundTrip(w, PeftAdapter.load(out, llama, arena).weights());
        }
    }

    /** Fresh adapter with base tables of ones, then B and every saved module perturbed by N(0, 0.01). */
    private LoraWeights randomized(LoraConfig c, ModelConfig model, Arena arena) {
        LoraWeights w = LoraWeights.init(c, model, arena, name -> {
            Shape s = model.weightMap().expected().get(name);
            float[] v = new float[(int) s.numel()];
            java.util.Arrays.fill(v, 1f);
            return Tensor.of(DType.F32, s, v, arena);
        });
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Tensor t : w.named().values()) {
            for (long i = 0; i < t.numel(); i++) t.setFloat(i, t.getFloat(i) + (float) (rnd.nextGaussian() * 0.01));
        }
        return w;
    }

    private void assertRoundTrip(LoraWeights want, LoraWeights got) {
        assertEquals(want.named().keySet(), got.named().keySet());
        for (var e : want.named().entrySet()) {
            Tensor a = e.getValue(), b = got.named().get(e.getKey());
            assertEquals(a.shape(), b.shape(), e.getKey());
            for (long i = 0; i < a.numel(); i++) {
                if (Float.floatToRawIntBits(a.getFloat(i)) != Float.floatToRawIntBits(b.getFloat(i))) {
                    fail(e.getKey() + ": first difference at [" + i + "]: saved " + a.getFloat(i) + ", loaded "
                            + b.getFloat(i) + " (seed " + seed + ")");
                }
            }
        }
    }

    private static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(n -> out.add(n.textValue()));
        return out;
    }

    private static Path golden() {
        try {
            return Path.of(PeftSavedModulesTest.class.getResource("/golden/peft/base/config.json").toURI()).getParent().getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
