package jlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;
import jlora.data.DataFile;
import jlora.data.Example;
import jlora.data.ExampleCheck;
import jlora.data.ExampleTokenizer;
import jlora.data.ReaderOptions;
import jlora.data.SampleData;
import jlora.data.TokenizeOptions;
import jlora.data.TokenizedExample;
import jlora.data.ValidationReport;
import jlora.model.TinyModel;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Eval loss ({@link EvalLoss} over {@link CausalLmLoss}, i.e. {@link CausalLM#loss}) on the tiny model against a direct recomputation:
 * full logits from {@link CausalLM#forward} and, for every position t whose next label is
 * counted, -log softmax(logits[t])[label[t + 1]] in double; the eval loss is their sum over the
 * set divided by their number. Bundled Korean sample rows of each kind (chat, tool, KorQuAD).
 * Counts must agree exactly; the loss within 1e-6.
 */
class CausalLmLossTest {
    @Test
    void evalLossEqualsPerTokenRecomputation(@TempDir Path tmp) {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        ExampleTokenizer tok = new ExampleTokenizer(Tokenizer.load(dir), ChatTemplate.load(dir), TokenizeOptions.defaults(512));
        List<Example> chosen = new ArrayList<>();
        List<TokenizedExample> set = new ArrayList<>();
        for (String name : SampleData.ALL) {
            List<Example> rows = new ArrayList<>();
            DataFile.read(SampleData.path(name), ReaderOptions.DEFAULTS, ExampleCheck.NONE, new ValidationReport(), rows::add);
            int taken = 0;
            for (Example e : rows) {
                TokenizedExample t = tok.take(e);
                if (t != null && t.trainedTokens() > 0 && taken < 2) {
                    chosen.add(e);
                    set.add(t);
                    taken++;
                }
            }
        }
        assertEquals(6, set.size(), "two rows of each bundled file under 512 tokens");

        CpuBackend cpu = new CpuBackend();
        try (CausalLM lm = CausalLM.load(dir, cpu, LoadOptions.DEFAULT)) {
            CausalLmLoss loss = new CausalLmLoss(lm, cpu);
            double directSum = 0;
            long directCount = 0;
            int vocab = lm.config().vocabSize();
            for (TokenizedExample t : set) {
                int n = t.length();
                int[] pos = new int[n];
                for (int i = 0; i < n; i++) pos[i] = i;
                float[] logits = lm.forward(t.ids(), pos, true);
                for (int i = 0; i + 1 < n; i++) {
                    int y = t.labels()[i + 1];
                    if (y == TokenizedExample.IGNORE) continue;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < vocab; v++) max = Math.max(max, logits[i * vocab + v]);
                    double z = 0;
                    for (int v = 0; v < vocab; v++) z += Math.exp(logits[i * vocab + v] - max);
                    directSum += max + Math.log(z) - logits[i * vocab + y];
                    directCount++;
                }
            }
            EvalLoss eval = EvalLoss.compute(chosen, loss, tok);
            LossSum total = eval.total();
            assertEquals(6, eval.examples());
            assertEquals(0, eval.skipped());
            assertEquals(directCount, total.count(), "counted tokens");
            assertTrue(directCount > 0);
            double want = directSum / directCount, got = eval.mean();
            assertEquals(Math.exp(got), eval.perplexity(), 1e-12);
            assertTrue(Double.isFinite(got), "loss " + got);
            assertEquals(want, got, 1e-6, "eval loss: direct " + want + " vs CausalLM.loss " + got + " over " + directCount + " tokens");
        }
    }
}
