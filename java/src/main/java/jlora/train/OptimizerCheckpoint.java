package jlora.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.SequencedMap;
import jlora.UserError;
import jlora.io.SafetensorsFile;
import jlora.io.SafetensorsWriter;
import jlora.tensor.Tensor;

/**
 * An optimizer's state as one safetensors file (written atomically): the state tensors under their
 * names, the scalars in {@code __metadata__}.
 */
public final class OptimizerCheckpoint {
    private OptimizerCheckpoint() {}

    public static void write(Path file, Optimizer optimizer) {
        OptimizerState s = optimizer.saveState();
        SafetensorsWriter.write(file, s.tensors(), s.scalars());
    }

    /** Loads {@code file} into {@code optimizer}; throws {@link jlora.UserError} if it does not fit. */
    public static void read(Path file, Optimizer optimizer) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : f.names()) tensors.put(name, f.tensor(name));
            optimizer.loadState(new OptimizerState(tensors, f.metadata()));
        } catch (UserError e) {
            throw new UserError(file + ": " + e.getMessage());
        }
    }
}
