package jlora.data;

/**
 * A training batch, row-major {@code [rows × length]}: token ids, labels aligned with ids
 * (Hugging Face convention: the logits at position t are scored against {@code labels[t + 1]},
 * see {@link #targets()}) and position ids. Position ids restart at 0 at every example inside a
 * packed row, and at the padding after the last one, so
 * {@code Backend.segmentIdsFromPositions} gives each example (and the padding) its own
 * attention segment: no token attends across an example boundary.
 */
public record Batch(int rows, int length, int[] ids, int[] labels, int[] positions) {
    public Batch {
        int n = rows * length;
        if (rows <= 0 || length <= 0 || ids.length != n || labels.length != n || positions.length != n) {
            throw new IllegalArgumentException("batch " + rows + "×" + length + " with " + ids.length + " ids, "
                    + labels.length + " labels, " + positions.length + " positions");
        }
    }

    /**
     * The cross-entropy target of every position: {@code labels} shifted left by one within each
     * row, {@link TokenizedExample#IGNORE} at the row's last position. At an example boundary
     * the target is the next example's first label, which is always IGNORE, so no example is
     * asked to predict its successor.
     */
    public int[] targets() {
        int[] t = new int[ids.length];
        for (int r = 0; r < rows; r++) {
            int base = r * length;
            for (int i = 0; i < length - 1; i++) t[base + i] = labels[base + i + 1];
            t[base + length - 1] = TokenizedExample.IGNORE;
        }
        return t;
    }

    /** Loss terms in the batch: the normaliser of the summed cross-entropy. */
    public long trainedTokens() {
        long n = 0;
        for (int l : labels) if (l != TokenizedExample.IGNORE) n++;
        return n;
    }

    /** Row r's ids, for tests and debugging. */
    public int[] row(int[] of, int r) {
        return java.util.Arrays.copyOfRange(of, r * length, (r + 1) * length);
    }
}
