package jlora.infer;

import java.util.Arrays;

/**
 * Keys and values of every token seen so far, per layer, laid out {@code [tokens, kvHeads,
 * headDim]} row-major in fp32 (keys after RoPE at their positions, so they never change),
 * plus the token ids themselves. Grows by doubling; {@link #length()} is also the position
 * of the next token.
 */
public final class KvCache {
    private final int layers;
    private final int rowSize; // kvHeads * headDim
    private final float[][] keys;
    private final float[][] values;
    private int[] tokens = new int[64];
    private int length;

    public KvCache(int layers, int kvHeads, int headDim) {
        this.layers = layers;
        this.rowSize = kvHeads * headDim;
        this.keys = new float[layers][64 * rowSize];
        this.values = new float[layers][64 * rowSize];
    }

    public int length() {
        return length;
    }

    public int layers() {
        return layers;
    }

    public int[] tokens() {
        return Arrays.copyOf(tokens, length);
    }

    /** Layer {@code l}'s keys; rows {@code [0, length)} (after {@link #append}: the new ones too) are valid. */
    public float[] keys(int l) {
        return keys[l];
    }

    public float[] values(int l) {
        return values[l];
    }

    /**
     * Stores {@code n} new rows for layer {@code l} at positions {@code [length, length + n)}.
     * The rows become part of the sequence when {@link #advance} is called after the last layer.
     */
    public void append(int l, float[] k, float[] v, int n) {
        ensure(length + n);
        System.arraycopy(k, 0, keys[l], length * rowSize, n * rowSize);
        System.arraycopy(v, 0, values[l], length * rowSize, n * rowSize);
    }

    /** Ends a forward step over {@code ids}: they join the sequence. */
    public void advance(int[] ids) {
        ensure(length + ids.length);
        if (tokens.length < length + ids.length) tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, length + ids.length));
        System.arraycopy(ids, 0, tokens, length, ids.length);
        length += ids.length;
    }

    private void ensure(int n) {
        if (layers == 0 || keys[0].length >= n * rowSize) return;
        int cap = Math.max(keys[0].length / Math.max(rowSize, 1) * 2, n);
        for (int l = 0; l < layers; l++) {
            keys[l] = Arrays.copyOf(keys[l], cap * rowSize);
            values[l] = Arrays.copyOf(values[l], cap * rowSize);
        }
    }
}
