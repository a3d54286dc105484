package jlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jlora.UserError;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loop's rules, each against an outcome fixed by the rule itself (see each test). */
class TrainerLoopTest {
    @TempDir
    Path tmp;

    static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }

    static Map<String, float[]> copy(Map<String, Tensor> tensors) {
        Map<String, float[]> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    /** Gradients of the first step under {@code extra} overrides. */
    Map<String, float[]> firstGradients(String name, String... extra) {
        Map<String, float[]> got = new LinkedHashMap<>();
        TrainerHooks capture = new TrainerHooks() {
            @Override
            public void afterBackward(long step, Map<String, Tensor> values, Map<String, Tensor> gradients) {
                if (step == 0) got.putAll(copy(gradients));
            }
        };
        String[] args = concat(new String[] {"--training.max_steps", "1", "--training.eval_strategy", "no",
                "--data.shuffle", "false"}, extra);
        TrainRun.execute(TrainFixtures.config(tmp, name, args), tmp.resolve(name), null, quiet(), capture, false);
        return got;
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * Four micro-batches of one row accumulated must give the gradient of one batch of the same
     * four rows: both are the gradient of (summed token losses) / (trained tokens of all four
     * rows). The sums run in another order (row by row vs one matmul over the padded batch), so
     * fp32 rounding differs: tolerance 1e-5 of the largest gradient element plus 1e-9.
     */
    @Test
    void accumulationEqualsOneBigBatch() {
        Map<String, float[]> accumulated = firstGradients("acc", "--training.micro_batch_size", "1",
                "--training.gradient_accumulation_steps", "4");
        Map<String, float[]> big = firstGradients("big", "--training.micro_batch_size", "4",
                "--training.gradient_accumulation_steps", "1");
        assertEquals(big.keySet(), accumulated.keySet());
        double max = 0;
        for (float[] g : big.values()) for (float v : g) max = Math.max(max, Math.abs(v));
        assertTrue(max > 0, "all-zero gradients test nothing");
        double tol = 1e-5 * max + 1e-9, worst = -1;
        String where = "";
        for (var e : big.entrySet()) {
            float[] a = e.getValue(), b = accumulated.get(e.getKey());
            for (int i = 0; i < a.length; i++) {
                double d = Math.abs(a[i] - b[i]);
                assertFalse(Float.isNaN(a[i]) || Float.isNaN(b[i]), e.getKey() + "[" + i + "] is NaN");
                if (d > worst) {
                    worst = d;
                    where = e.getKey() + "[" + i + "]: one batch " + a[i] + ", accumulated " + b[i];
                }
            }
        }
        assertTrue(worst <= tol, "worst " + where + " (|diff| " + worst + " > " + tol + ")");
    }

    /**
     * A NaN gradient at step index 2 skips that update: the weights the hook sees at step 3 equal
     * those at step 2 bit for bit, the run goes on, and the skip is reported in metrics.jsonl.
     */
    @Test
    void nanGradientSkipsTheStep() throws IOException {
        Map<Long, Map<String, float[]>> seen = new LinkedHashMap<>();
        TrainerHooks inject = new TrainerHooks() {
            @Override
            public void afterBackward(long step, Map<String, Tensor> values, Map<String, Tensor> gradients) {
                seen.put(step, copy(values));
                if (step == 2) gradients.values().iterator().next().setFloat(0, Float.NaN);
            }
        };
        TrainConfig c = TrainFixtures.config(tmp, "nan", "--training.max_steps", "5", "--training.eval_strategy", "no");
        TrainRun.Outcome o = TrainRun.execute(c, tmp.resolve("nan"), null, quiet(), inject, false);
        assertEquals(5, o.stages().getFirst().steps());
        for (String k : seen.get(2L).keySet()) {
            assertTrue(java.util.Arrays.equals(seen.get(2L).get(k), seen.get(3L).get(k)), k + " changed in the skipped step");
        }
        boolean changed = seen.get(3L).keySet().stream()
                .anyMatch(k -> !java.util.Arrays.equals(seen.get(3L).get(k), seen.get(4L).get(k)));
        assertTrue(changed, "the ordinary step after the skipped one must change the weights");
        String metrics = Files.readString(tmp.resolve("nan/metrics.jsonl"));
        assertTrue(metrics.contains("nan_guard"), metrics);
    }

    /** NaN at every step from index 1: the guard stops the run after nan_guard_max_consecutive (3) in a row. */
    @Test
    void nanGuardStopsAfterKInARow() {
        TrainerHooks inject = new TrainerHooks() {
            @Override
            public void afterBackward(long step, Map<String, Tensor> values, Map<String, Tensor> gradients) {
                if (step >= 1) gradients.values().iterator().next().setFloat(0, Float.POSITIVE_INFINITY);
            }
        };
        TrainConfig c = TrainFixtures.config(tmp, "nan3", "--training.max_steps", "10", "--training.eval_strategy", "no",
                "--training.nan_guard_max_consecutive", "3");
        UserError e = assertThrows(UserError.class, () -> TrainRun.execute(c, tmp.resolve("nan3"), null, quiet(), inject, false));
        assertTrue(e.getMessage().contains("3 steps in a row") && e.getMessage().contains("step 4"), e.getMessage());
    }

    /**
     * transformers' EarlyStoppingCallback rule: with lr 1e-9 no eval improves by more than the
     * threshold 1e-3, so the first scheduled eval (step 2) is the best, steps 4 and 6 are the two
     * bad ones of patience 2, and the run stops at step 6 of 20.
     */
    @Test
    void earlyStoppingStopsAtThePatienceEval() {
        TrainConfig c = TrainFixtures.config(tmp, "es", "--training.max_steps", "20", "--training.eval_steps", "2",
                "--training.learning_rate", "1e-9", "--training.early_stopping.enabled", "true",
                "--training.early_stopping.patience", "2", "--training.early_stopping.threshold", "1e-3");
        Trainer.Result r = TrainRun.execute(c, tmp.resolve("es"), null, quiet(), TrainerHooks.NONE, false).stages().getFirst();
        assertTrue(r.earlyStopped());
        assertEquals(6, r.steps());
    }

    /**
     * restore_best: the final adapter is the one saved at the best eval. With a falling loss
     * and patience 1, a threshold of 10 nats makes the step-2 eval the only "improvement", so
     * the run stops at step 4 and final/ must hold best/step-2's bytes.
     */
    @Test
    void earlyStoppingRestoresTheBestAdapter() {
        TrainConfig c = TrainFixtures.config(tmp, "best", "--training.max_steps", "20", "--training.eval_steps", "2",
                "--training.early_stopping.enabled", "true", "--training.early_stopping.patience", "1",
                "--training.early_stopping.threshold", "10");
        Trainer.Result r = TrainRun.execute(c, tmp.resolve("best"), null, quiet(), TrainerHooks.NONE, false).stages().getFirst();
        assertEquals(4, r.steps());
        org.junit.jupiter.api.Assertions.assertArrayEquals(TrainFixtures.adapterBytes(tmp.resolve("best/best/step-2")),
                TrainFixtures.adapterBytes(tmp.resolve("best/final")));
    }

    /**
     * Strategy epoch: with E micro-batches and accumulation 2 an epoch is ceil(E/2) steps (the
     * last step of an epoch takes what is left), so 2 epochs run 2·ceil(E/2) steps, evaluate at
     * 0, ceil(E/2) and the end, and checkpoint at the first epoch's end only (the second ends
     * the run, which saves the final adapter).
     */
    @Test
    void epochStrategies() throws IOException {
        TrainConfig c = TrainFixtures.config(tmp, "ep", "--training.max_steps", "null", "--training.epochs", "2",
                "--training.eval_strategy", "epoch", "--training.save_strategy", "epoch");
        RunSetup setup = RunSetup.check(c);
        int batches = TrainData.load(c, setup.tokenizer(), setup.template()).train().size();
        long perEpoch = (batches + 1) / 2;
        Trainer.Result r = TrainRun.execute(c, tmp.resolve("ep"), null, quiet(), TrainerHooks.NONE, false).stages().getFirst();
        assertEquals(2 * perEpoch, r.steps());
        assertEquals(List.of("step-" + perEpoch), Checkpoints.list(tmp.resolve("ep")).stream()
                .map(p -> p.getFileName().toString()).toList());
        List<String> evalSteps = Files.readAllLines(tmp.resolve("ep/metrics.jsonl")).stream()
                .filter(l -> l.contains("eval/loss")).map(l -> l.replaceAll("^\\{\"step\":(\\d+),.*", "$1")).toList();
        assertEquals(List.of("0", String.valueOf(perEpoch), String.valueOf(2 * perEpoch)), evalSteps);
    }

    /** save_total_limit 2 with a checkpoint every step of 5: only step-3 and step-4 remain (the last step saves the final adapter instead). */
    @Test
    void rotationKeepsTheNewestK() {
        TrainConfig c = TrainFixtures.config(tmp, "rot", "--training.max_steps", "5", "--training.eval_strategy", "no",
                "--training.save_strategy", "steps", "--training.save_steps", "1", "--training.save_total_limit", "2");
        TrainRun.execute(c, tmp.resolve("rot"), null, quiet(), TrainerHooks.NONE, false);
        List<String> names = Checkpoints.list(tmp.resolve("rot")).stream().map(p -> p.getFileName().toString()).toList();
        assertEquals(List.of("step-3", "step-4"), names);
        for (String f : List.of("adapter_model.safetensors", "adapter_config.json", Trainer.OPTIMIZER_FILE, TrainerState.FILE)) {
            assertTrue(Files.isRegularFile(tmp.resolve("rot/checkpoints/step-4").resolve(f)), f);
        }
    }

    /** A checkpoint write that fails half way leaves the previous checkpoint as it was and no temp dir behind. */
    @Test
    void failedCheckpointWriteLeavesThePreviousIntact() throws IOException {
        Path run = tmp.resolve("crash");
        Checkpoints.write(run, 1, null, d -> write(d.resolve("a.bin"), "one"));
        assertThrows(IllegalStateException.class, () -> Checkpoints.write(run, 2, 1, d -> {
            write(d.resolve("a.bin"), "two");
            throw new IllegalStateException("disk full (simulated)");
        }));
        // step-1 has no trainer_state.json, so list() skips it; check the directory itself
        assertEquals("one", Files.readString(Checkpoints.dir(run, 1).resolve("a.bin")));
        assertFalse(Files.exists(Checkpoints.dir(run, 2)));
        try (var s = Files.list(run.resolve(Checkpoints.DIR))) {
            assertEquals(List.of("step-1"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    static void write(Path p, String s) {
        try {
            Files.writeString(p, s);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
