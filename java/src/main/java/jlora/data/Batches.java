package jlora.data;

import jlora.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Tokenized examples → {@link Batch}es, two ways, both fixed by the seed:
 * <ul>
 *   <li>{@link #packed}: examples packed into rows of max_seq_length by {@link Packing}
 *       (first-fit decreasing), {@code rowsPerBatch} rows a batch, each batch as long as its
 *       fullest row;</li>
 *   <li>{@link #bucketed}: one example per row; examples sorted by length (ties in a seeded
 *       order) and cut into consecutive groups, so each batch pads little, then the batches are
 *       shuffled with the seed. Each batch is as long as its longest example.</li>
 * </ul>
 * Padding is {@code padId} with label IGNORE and position ids counting from 0 again, so it forms
 * its own attention segment.
 */
public final class Batches {
    private Batches() {}

    /** The tokenizer's pad token, else its EOS (as TRL falls back), else 0. */
    public static int padId(Tokenizer tokenizer) {
        Tokenizer.SpecialTokens s = tokenizer.specialTokens();
        return s.pad() >= 0 ? s.pad() : s.eos() >= 0 ? s.eos() : 0;
    }

    public static List<Batch> packed(List<TokenizedExample> examples, int maxSeqLength, int rowsPerBatch, int padId, long seed) {
        int[] lengths = examples.stream().mapToInt(TokenizedExample::length).toArray();
        List<int[]> rows = Packing.firstFitDecreasing(lengths, maxSeqLength, seed);
        List<Batch> out = new ArrayList<>();
        for (int b = 0; b < rows.size(); b += rowsPerBatch) {
            List<int[]> group = rows.subList(b, Math.min(rows.size(), b + rowsPerBatch));
            List<List<TokenizedExample>> content = new ArrayList<>();
            for (int[] row : group) content.add(Arrays.stream(row).mapToObj(examples::get).toList());
            out.add(build(content, padId));
        }
        return out;
    }

    public static List<Batch> bucketed(List<TokenizedExample> examples, int rowsPerBatch, int padId, long seed) {
        if (rowsPerBatch <= 0) throw new IllegalArgumentException("rowsPerBatch " + rowsPerBatch);
        SplittableRandom rnd = new SplittableRandom(seed);
        Integer[] order = Packing.shuffled(examples.size(), rnd);
        Arrays.sort(order, Comparator.comparingInt(i -> examples.get(i).length()));
        List<Batch> out = new ArrayList<>();
        for (int b = 0; b < order.length; b += rowsPerBatch) {
            List<List<TokenizedExample>> content = new ArrayList<>();
            for (int k = b; k < Math.min(order.length, b + rowsPerBatch); k++) content.add(List.of(examples.get(order[k])));
            out.add(build(content, padId));
        }
        Packing.shuffleInPlace(out, rnd);
        return out;
    }

    /** Rows of concatenated examples, right-padded to the longest row. */
    static Batch build(List<List<TokenizedExample>> rows, int padId) {
        int length = 1;
        for (List<TokenizedExample> row : rows) length = Math.max(length, row.stream().mapToInt(TokenizedExample::length).sum());
        int n = rows.size() * length;
        int[] ids = new int[n];
        int[] labels = new int[n];
        int[] positions = new int[n];
        for (int r = 0; r < rows.size(); r++) {
            int at = r * length;
            for (TokenizedExample e : rows.get(r)) {
                System.arraycopy(e.ids(), 0, ids, at, e.length());
                System.arraycopy(e.labels(), 0, labels, at, e.length());
                for (int p = 0; p < e.length(); p++) positions[at + p] = p;
                at += e.length();
            }
            for (int p = 0; at < (r + 1) * length; p++, at++) {
                ids[at] = padId;
                labels[at] = TokenizedExample.IGNORE;
                positions[at] = p;
            }
        }
        return new Batch(rows.size(), length, ids, labels, positions);
    }
}
