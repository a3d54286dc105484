package jlora.data;

import jlora.tokenizer.CharSpan;
import jlora.tokenizer.Encoding;

import java.util.List;

/**
 * Labels from character spans: which tokens of an encoded text carry loss.
 *
 * <p><b>Rule:</b> a token is trained iff its character range [start, end) shares at least one
 * character with a trained span. A token that straddles a span boundary is therefore trained;
 * this is what transformers' {@code return_assistant_tokens_mask} does (it marks from the token
 * holding the span's first character through the token holding its last). Tokens with an empty
 * range (BOS / EOS a post-processor adds) touch no character and are never trained by a span.
 * Position 0 is never trained (see {@link TokenizedExample}).
 */
public final class LabelMasker {
    private LabelMasker() {}

    /** @param spans sorted, non-overlapping */
    public static int[] labels(Encoding enc, List<CharSpan> spans) {
        int n = enc.size();
        int[] labels = new int[n];
        int k = 0;
        for (int t = 0; t < n; t++) {
            int s = enc.starts()[t];
            int e = enc.ends()[t];
            // Token starts are non-decreasing, so spans ending at or before s are done for good.
            while (k < spans.size() && spans.get(k).end() <= s) k++;
            boolean trained = e > s && overlaps(spans, k, s, e);
            labels[t] = trained && t > 0 ? enc.ids()[t] : TokenizedExample.IGNORE;
        }
        return labels;
    }

    private static boolean overlaps(List<CharSpan> spans, int from, int s, int e) {
        for (int k = from; k < spans.size() && spans.get(k).start() < e; k++) {
            if (spans.get(k).end() > s) return true;
        }
        return false;
    }

    /** Every token but the first. */
    public static int[] all(int[] ids) {
        int[] labels = ids.clone();
        if (labels.length > 0) labels[0] = TokenizedExample.IGNORE;
        return labels;
    }
}
