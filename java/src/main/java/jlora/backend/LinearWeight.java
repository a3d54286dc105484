package jlora.backend;

/**
 * The frozen weight of a linear layer, {@code [outFeatures, inFeatures]} row-major as Hugging
 * Face stores it (y = x·Wᵀ). Kernels never see the storage format: the CPU matmul asks for a
 * tile of rows as fp32 at a time, so a bf16 or NF4 weight is dequantized one tile at a time
 * and never held whole in fp32.
 */
public interface LinearWeight {
    int outFeatures();

    int inFeatures();

    /**
     * Writes rows {@code [row0, row0 + rows)} widened to fp32 into {@code dst}, row-major with
     * stride {@link #inFeatures()}: {@code dst[r * in + i] = W[row0 + r, i]}.
     */
    void rowsToFloat(int row0, int rows, float[] dst);
}
