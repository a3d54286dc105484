package jlora.train;

import java.util.Map;
import java.util.SequencedMap;
import jlora.tensor.Tensor;

/**
 * An optimizer's state in the shape a safetensors file holds: tensors by name (per parameter,
 * {@code <param>.<slot>}) and string scalars (the optimizer kind, the step count, hyperparameters),
 * which go into the file's {@code __metadata__}.
 */
public record OptimizerState(SequencedMap<String, Tensor> tensors, Map<String, String> scalars) {
    public static final String KIND = "optimizer";
    public static final String STEP = "step";

    public String scalar(String key) {
        String v = scalars.get(key);
        if (v == null) {
            throw new jlora.UserError("optimizer state has no '" + key
                    + "' entry; it was not written by this optimizer — start the run without resuming its optimizer state");
        }
        return v;
    }
}
