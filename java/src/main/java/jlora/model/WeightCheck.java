package jlora.model;

import java.util.ArrayList;
import java.util.List;

import jlora.tensor.Shape;

/**
 * What a checkpoint's tensors look like next to the {@link WeightMap} of its config.
 *
 * @param missing expected names the checkpoint lacks, in checkpoint order
 * @param misShaped names present with another shape than the config implies
 * @param unexpected names the model does not have (harmless extras excluded), naturally sorted
 * @param quantized expected weights stored pre-quantized by bitsandbytes (4-bit), which is
 *     not a problem: their shapes were checked as packed pairs instead
 */
public record WeightCheck(List<String> missing, List<Mismatch> misShaped, List<String> unexpected,
                          List<String> quantized) {

    public WeightCheck {
        missing = List.copyOf(missing);
        misShaped = List.copyOf(misShaped);
        unexpected = List.copyOf(unexpected);
        quantized = List.copyOf(quantized);
    }

    /** @param packed the weight is bitsandbytes 4-bit, so {@code found} should hold half the elements */
    public record Mismatch(String name, Shape expected, Shape found, boolean packed) {
        @Override
        public String toString() {
            return packed
                    ? name + " (4-bit packed) has " + found.numel() + " bytes " + found + ", expected "
                            + Math.ceilDiv(expected.numel(), 2) + " for " + expected
                    : name + " expected " + expected + " found " + found;
        }
    }

    public boolean complete() {
        return missing.isEmpty() && misShaped.isEmpty() && unexpected.isEmpty();
    }

    public int problemCount() {
        return missing.size() + misShaped.size() + unexpected.size();
    }

    /** "2 missing, 1 mis-shaped, 3 unexpected" (only the non-zero parts). */
    public String summary() {
        List<String> parts = new ArrayList<>();
        if (!missing.isEmpty()) parts.add(missing.size() + " missing");
        if (!misShaped.isEmpty()) parts.add(misShaped.size() + " mis-shaped");
        if (!unexpected.isEmpty()) parts.add(unexpected.size() + " unexpected");
        return parts.isEmpty() ? "complete" : String.join(", ", parts);
    }

    /** One line per problem, missing first, then mis-shaped, then unexpected. */
    public List<String> problems() {
        List<String> out = new ArrayList<>();
        for (String m : missing) out.add("missing " + m);
        for (Mismatch m : misShaped) out.add("mis-shaped " + m);
        for (String u : unexpected) out.add("unexpected " + u);
        return out;
    }
}
