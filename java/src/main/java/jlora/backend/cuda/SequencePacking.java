package jlora.backend.cuda;

/**
 * Document boundaries of a packed batch in FlashAttention's varlen form: document b owns tokens
 * {@code [cuSeqlens[b], cuSeqlens[b + 1])}. Built from the per-token segment ids that
 * {@code jlora.backend.cpu.CpuAttention} takes, with the same rule: a document is a maximal run of
 * equal consecutive ids (the same id again after a different one starts a new document).
 */
public record SequencePacking(int[] cuSeqlens, int maxSeqlen) {
    public SequencePacking {
        cuSeqlens = cuSeqlens.clone();
    }

    public static SequencePacking of(int[] segmentIds) {
        int docs = segmentIds.length == 0 ? 0 : 1;
        for (int t = 1; t < segmentIds.length; t++) if (segmentIds[t] != segmentIds[t - 1]) docs++;
        int[] cu = new int[docs + 1];
        int b = 0, max = 0;
        for (int t = 1; t <= segmentIds.length; t++) {
            if (t == segmentIds.length || segmentIds[t] != segmentIds[t - 1]) {
                cu[++b] = t;
                max = Math.max(max, t - cu[b - 1]);
            }
        }
        return new SequencePacking(cu, max);
    }

    /** One document of {@code tokens} tokens. */
    public static SequencePacking single(int tokens) {
        return new SequencePacking(tokens == 0 ? new int[] {0} : new int[] {0, tokens}, tokens);
    }

    public int batch() {
        return cuSeqlens.length - 1;
    }

    public int totalTokens() {
        return cuSeqlens[cuSeqlens.length - 1];
    }

    @Override
    public int[] cuSeqlens() {
        return cuSeqlens.clone();
    }
}
