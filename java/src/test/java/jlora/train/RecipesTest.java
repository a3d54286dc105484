package jlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import jlora.train.DataSection.PromptFormat;
import jlora.train.QuantizationSection.Mode;
import jlora.train.TrainingSection.Optimizer;
import jlora.train.TrainingSection.Scheduler;
import jlora.train.TrainingSection.Strategy;
import org.junit.jupiter.api.Test;

/**
 * Each built-in recipe loads, validates, and carries the numbers issue 4 (and the seed READMEs)
 * state for it. The expected values are typed here from the issue text, not read from the recipes.
 */
class RecipesTest {
    private static final List<String> ALL_SEVEN = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
            "up_proj", "down_proj");

    @Test
    void everyRecipeLoadsWithDescriptionAndSeedHeader() {
        assertEquals(7, Recipes.list().size());
        for (Recipes.Entry e : Recipes.list()) {
            assertFalse(e.description() == null || e.description().isBlank(), e.name() + " has no description");
            assertFalse(e.description().contains("\n"), e.name() + " description is more than one line");
            String text = Recipes.text(e.name());
            assertTrue(text.startsWith("# Recipe " + e.name()), e.name() + " header must name the recipe");
            if (!e.name().equals("tiny")) {
                assertTrue(text.contains("Reproduces the seed"), e.name() + " header must name its seed project");
                assertTrue(text.contains("Deliberate changes"), e.name() + " header must say what it changes");
            }
        }
    }

    @Test
    void qwen14bKoreanChat() {
        TrainConfig c = Recipes.load("qwen2.5-14b-ko-chat");
        assertEquals(64, c.lora().r());
        assertEquals(128, c.lora().alpha());
        assertEquals(0.05, c.lora().dropout());
        assertEquals(4096, c.model().maxSeqLength());
        assertEquals(4, c.training().microBatchSize());
        assertEquals(4, c.training().gradientAccumulationSteps());
        assertEquals(16, c.training().effectiveBatchSize());
        assertEquals(2e-4, c.training().learningRate());
        assertEquals(3, c.training().epochs());
        assertNull(c.training().maxSteps());
        assertEquals(Strategy.STEPS, c.training().saveStrategy());
        assertEquals(500, c.training().saveSteps());
        assertEquals(Mode.NONE, c.quantization().mode());
        assertEquals("final", c.output().adapterDir());
        assertEquals(ALL_SEVEN, c.lora().targetModules());
    }

    @Test
    void qwen15bToolCallingQlora() {
        TrainConfig c = Recipes.load("qwen2.5-1.5b-tool-calling");
        assertEquals(Mode.NF4, c.quantization().mode());
        assertEquals(Strategy.EPOCH, c.training().saveStrategy());
        assertEquals(Strategy.EPOCH, c.training().evalStrategy());
        assertTrue(c.training().earlyStopping().enabled());
        assertEquals("eval_loss", c.training().earlyStopping().metric());
        assertEquals(3, c.training().earlyStopping().patience());
        assertEquals(0.1, c.data().evalSplit());
        assertEquals(0.1, c.data().testSplit());
        assertEquals(42, c.training().seed());
        assertEquals("final_adapter", c.output().adapterDir());
        assertTrue(c.output().tensorboard());
        assertEquals("qlora", c.method());
    }

    @Test
    void genericLoraAndQlora() {
        TrainConfig lora = Recipes.load("generic-lora");
        TrainConfig qlora = Recipes.load("generic-qlora");
        for (TrainConfig c : List.of(lora, qlora)) {
            assertEquals(16, c.lora().r());
            assertEquals(32, c.lora().alpha());
            assertEquals(3, c.training().epochs());
            assertEquals("{model}/{epochs}/{method}_adapters", c.output().adapterDir());
            assertEquals("{model}/{epochs}/{method}_merged", c.output().mergedDir());
        }
        assertEquals(5e-6, lora.training().learningRate());
        assertEquals(1e-4, qlora.training().learningRate());
        assertEquals(Mode.NONE, lora.quantization().mode());
        assertEquals(Mode.NF4, qlora.quantization().mode());
        assertEquals("lora", lora.method());
        assertEquals("qlora", qlora.method());
    }

    @Test
    void llama2KorquadQlora() {
        TrainConfig c = Recipes.load("llama2-7b-korquad-qlora");
        assertEquals(Mode.NF4, c.quantization().mode());
        assertTrue(c.quantization().doubleQuant());
        assertEquals(ModelSection.Precision.FP16, c.quantization().computeDtype());
        assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj"), c.lora().targetModules());
        assertEquals(Optimizer.PAGED_ADAMW_8BIT, c.training().optimizer());
        assertEquals(Scheduler.COSINE, c.training().lrScheduler());
        assertEquals(0.03, c.training().warmupRatio());
        assertNull(c.training().warmupSteps());
        assertEquals(512, c.model().maxSeqLength());
        // SFTConfig values from the seed's self_train_qlora.py.
        assertEquals(16, c.lora().r());
        assertEquals(32, c.lora().alpha());
        assertEquals(0.05, c.lora().dropout());
        assertEquals(100, c.training().epochs());
        assertEquals(2e-4, c.training().learningRate());
        assertEquals(10, c.training().loggingSteps());
        assertEquals(Strategy.EPOCH, c.training().saveStrategy());
        assertEquals(PromptFormat.ALPACA, c.data().promptFormat());
        assertEquals(DataSection.LossOn.ALL, c.data().lossOn());
    }

    @Test
    void r1DistillTwoStageReasoning() {
        TrainConfig c = Recipes.load("r1-distill-qwen-32b-reasoning");
        assertEquals(2, c.stages().size());
        List<TrainConfig> stages = c.stageConfigs();
        assertEquals(2, stages.size());
        TrainConfig s1 = stages.get(0);
        assertEquals(PromptFormat.THINK, s1.data().promptFormat());
        assertEquals(16, s1.lora().r());
        assertEquals(16, s1.lora().alpha());
        assertEquals(List.of(LoraSection.ALL_LINEAR), s1.lora().targetModules());
        assertEquals(0.0, s1.lora().dropout());
        assertEquals(60, s1.training().maxSteps());
        assertEquals(5, s1.training().warmupSteps());
        assertEquals(Scheduler.LINEAR, s1.training().lrScheduler());
        assertEquals(0.01, s1.training().weightDecay());
        assertEquals(3407, s1.training().seed());
        assertEquals(3407, s1.lora().initSeed());
        assertEquals(Stage.StartFrom.BASE, c.stages().get(0).startFrom());
        assertEquals(Stage.StartFrom.MERGED, c.stages().get(1).startFrom());
        // Stage 2 inherits the hyperparameters and changes only the prompt format.
        TrainConfig s2 = stages.get(1);
        assertEquals(60, s2.training().maxSteps());
        assertEquals(16, s2.lora().r());
        assertEquals(PromptFormat.CHAT_TEMPLATE, s2.data().promptFormat());
        assertNull(s2.data().systemPrompt());
        assertTrue(s2.stages().isEmpty());
    }

    @Test
    void tinyIsTheCpuDefault() {
        assertEquals("tiny", Recipes.DEFAULT);
        TrainConfig c = Recipes.load(Recipes.DEFAULT);
        assertEquals("builtin:tiny", c.model().path());
        assertEquals(TrainingSection.Device.CPU, c.training().device());
        assertTrue(c.training().maxSteps() != null && c.training().maxSteps() <= 300, "a few hundred steps at most");
        assertTrue(c.model().maxSeqLength() <= 512, "small sequences");
        assertTrue(c.training().effectiveBatchSize() <= 16, "small batches");
        assertEquals(Strategy.STEPS, c.training().evalStrategy());
        assertTrue(c.data().evalSplit() > 0);
        assertFalse(c.data().files().isEmpty(), "bundled sample data");
    }
}
