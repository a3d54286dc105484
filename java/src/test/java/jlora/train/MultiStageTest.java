package jlora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jlora.backend.cpu.CpuBackend;
import jlora.io.PeftAdapter;
import jlora.io.SafetensorsFile;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two-stage recipes. Chaining by adapter: stage 2's first step starts from exactly the tensors
 * stage 1 saved (bit for bit). Chaining by merge: the merged base computes the same logits as
 * the base with stage 1's adapter (PEFT's merge identity W + s·BA; tolerance 1e-4 absolute on
 * logits of magnitude ~5, fp32 sums in another order), and stage 2 trains a fresh adapter on it.
 */
class MultiStageTest {
    @TempDir
    Path tmp;

    TrainRun.Outcome runTwoStages(String name, String startFrom, List<Map<String, float[]>> firstSteps) throws IOException {
        Path yaml = Files.writeString(tmp.resolve(name + ".yaml"), """
                stages:
                  - name: one
                    training: {max_steps: 3}
                  - name: two
                    start_from: %s
                    training: {max_steps: 2}
                """.formatted(startFrom));
        List<String> args = TrainFixtures.args(tmp, name, "--training.eval_strategy", "no");
        TrainConfig c = TrainConfig.resolve("tiny", yaml, args);
        TrainerHooks capture = new TrainerHooks() {
            @Override
            public void afterBackward(long step, Map<String, Tensor> values, Map<String, Tensor> gradients) {
                if (step == 0) firstSteps.add(TrainerLoopTest.copy(values));
            }
        };
        return TrainRun.execute(c, tmp.resolve(name), null, new PrintStream(new ByteArrayOutputStream(), true,
                StandardCharsets.UTF_8), capture, false);
    }

    @Test
    void stageTwoContinuesStageOnesAdapter() throws IOException {
        List<Map<String, float[]>> first = new ArrayList<>();
        TrainRun.Outcome o = runTwoStages("chain", "adapter", first);
        assertEquals(2, o.stages().size());
        assertEquals(2, first.size());
        Path saved = tmp.resolve("chain/one/final").resolve(PeftAdapter.WEIGHTS_FILE);
        try (SafetensorsFile f = SafetensorsFile.open(saved)) {
            for (var e : first.get(1).entrySet()) {
                assertArrayEquals(f.tensor(PeftAdapter.PREFIX + e.getKey()).toFloatArray(), e.getValue(), e.getKey());
            }
        }
        assertTrue(Files.isRegularFile(tmp.resolve("chain/two/final").resolve(PeftAdapter.WEIGHTS_FILE)));
    }

    @Test
    void stageTwoTrainsOnTheMergedBase() throws IOException {
        List<Map<String, float[]>> first = new ArrayList<>();
        runTwoStages("merge", "merged", first);
        Path base = RunSetup.check(TrainFixtures.config(tmp, "x")).modelDir();
        Path merged = tmp.resolve("merge/two").resolve(TrainRun.MERGED_BASE);
        int[] ids = {257, 10, 20, 30, 200, 100, 258, 5};
        int[] pos = {0, 1, 2, 3, 4, 5, 6, 7};
        float[] want, got;
        CpuBackend cpu = new CpuBackend();
        try (CausalLM m = CausalLM.load(base, cpu, LoadOptions.DEFAULT.withAdapter(tmp.resolve("merge/one/final")))) {
            want = m.forward(ids, pos, true);
        }
        try (CausalLM m = CausalLM.load(merged, cpu, LoadOptions.DEFAULT)) {
            got = m.forward(ids, pos, true);
        }
        int worst = 0;
        for (int i = 0; i < want.length; i++) if (Math.abs(want[i] - got[i]) > Math.abs(want[worst] - got[worst])) worst = i;
        assertTrue(Math.abs(want[worst] - got[worst]) <= 1e-4, "logit " + worst + ": base+adapter " + want[worst] + ", merged "
                + got[worst]);
        // a fresh adapter: B starts at zero again in stage two
        first.get(1).forEach((k, v) -> {
            if (k.contains("lora_B")) for (float x : v) assertEquals(0f, x, k);
        });
        assertTrue(Files.isRegularFile(tmp.resolve("merge/two/final").resolve(PeftAdapter.WEIGHTS_FILE)));
    }
}
