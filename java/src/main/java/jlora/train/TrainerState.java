package jlora.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import jlora.UserError;
import jlora.io.AtomicFiles;

/**
 * Everything besides the adapter and the optimizer that the next step depends on, saved as
 * {@code trainer_state.json} in each checkpoint. Doubles are written with Java's shortest
 * round-trip form, so a resumed run reads back the same bits.
 *
 * <p>Randomness is counter-based: the data order of epoch e is a SplittableRandom seeded from
 * (seed, e), LoRA dropout masks from (lora seed, module, step), so {@code seed} plus the cursor
 * is the whole RNG state.
 *
 * @param step optimizer steps taken (skipped non-finite steps included): the scheduler's step
 * @param epoch the epoch the cursor is in (0-based)
 * @param position micro-batches of this epoch's shuffled order already consumed
 * @param seed training.seed
 * @param nonFiniteInARow consecutive skipped steps (the NaN guard's counter)
 * @param windowLoss sum of step losses since the last logged step
 * @param windowSteps steps in that sum
 * @param windowTokens tokens processed since the last logged step
 * @param bestMetric best early-stopping metric so far (NaN before the first eval)
 * @param bestStep step of that eval (-1 before)
 * @param badEvals evaluations in a row without improvement
 */
public record TrainerState(long step, int epoch, int position, long seed, int nonFiniteInARow, double windowLoss,
                           int windowSteps, long windowTokens, double bestMetric, long bestStep, int badEvals) {

    public static final String FILE = "trainer_state.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    public static TrainerState fresh(long seed) {
        return new TrainerState(0, 0, 0, seed, 0, 0, 0, 0, Double.NaN, -1, 0);
    }

    void write(Path dir) {
        ObjectNode o = JSON.createObjectNode();
        o.put("step", step).put("epoch", epoch).put("position", position).put("seed", seed)
                .put("non_finite_in_a_row", nonFiniteInARow).put("window_loss", Double.toString(windowLoss))
                .put("window_steps", windowSteps).put("window_tokens", windowTokens)
                .put("best_metric", Double.toString(bestMetric)).put("best_step", bestStep).put("bad_evals", badEvals);
        try {
            AtomicFiles.writeString(dir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static TrainerState read(Path dir) {
        Path f = dir.resolve(FILE);
        try {
            JsonNode o = JSON.readTree(f.toFile());
            return new TrainerState(o.get("step").asLong(), o.get("epoch").asInt(), o.get("position").asInt(),
                    o.get("seed").asLong(), o.get("non_finite_in_a_row").asInt(),
                    Double.parseDouble(o.get("window_loss").asText()), o.get("window_steps").asInt(),
                    o.get("window_tokens").asLong(), Double.parseDouble(o.get("best_metric").asText()),
                    o.get("best_step").asLong(), o.get("bad_evals").asInt());
        } catch (IOException | RuntimeException e) {
            throw new UserError(f + ": cannot read the trainer state (" + e.getMessage()
                    + "); the checkpoint is damaged, resume from an older one with --resume PATH");
        }
    }
}
