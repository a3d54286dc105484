package jlora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact resume. The oracle is an uninterrupted run of the same config: a run stopped after a
 * checkpoint (in process: all state discarded; or a child JVM killed with SIGKILL) and resumed
 * must end with the same adapter bytes and the same metrics.jsonl loss values (train and eval,
 * compared as the exact decimal text Jackson writes, i.e. bit for bit). LoRA dropout is on, so
 * the dropout masks must continue too.
 */
class ResumeTest {
    @TempDir
    Path tmp;

    static final String[] SETTINGS = {"--training.max_steps", "10", "--training.save_strategy", "steps",
            "--training.save_steps", "4", "--lora.dropout", "0.1", "--training.eval_steps", "5"};

    static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }

    Path uninterrupted(String name) {
        TrainConfig c = TrainFixtures.config(tmp, name, SETTINGS);
        TrainRun.Outcome o = TrainRun.execute(c, tmp.resolve(name), null, quiet(), TrainerHooks.NONE, false);
        return o.runDir();
    }

    @Test
    void stoppedAfterCheckpointAndResumedInProcessEqualsUninterrupted() {
        Path a = uninterrupted("a");
        TrainConfig c = TrainFixtures.config(tmp, "b", SETTINGS);
        Path b = tmp.resolve("b");
        TrainerHooks crash = new TrainerHooks() {
            @Override
            public boolean stopAfterCheckpoint(long step) {
                return step == 4;
            }
        };
        TrainRun.Outcome first = TrainRun.execute(c, b, null, quiet(), crash, false);
        assertTrue(first.stages().getFirst().interrupted());
        assertFalse(Files.exists(b.resolve("final")));
        TrainRun.Outcome resumed = TrainRun.execute(TrainConfig.read(b.resolve(TrainConfig.RESOLVED_FILE)), b, b, quiet(),
                TrainerHooks.NONE, false);
        assertEquals(10, resumed.stages().getFirst().steps());
        assertEquals(TrainFixtures.lossLines(a), TrainFixtures.lossLines(b));
        assertArrayEquals(TrainFixtures.adapterBytes(a.resolve("final")), TrainFixtures.adapterBytes(b.resolve("final")),
                "final adapter bytes differ after resume");
    }

    @Test
    void killedChildJvmResumesToTheSameBytes() throws Exception {
        Path a = uninterrupted("a");
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "jlora.cli.Main",
                "train", "--no-sample"));
        cmd.addAll(TrainFixtures.args(tmp, "k", SETTINGS));
        Path k = tmp.resolve("k");
        Path log = tmp.resolve("child.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path firstCheckpoint = Checkpoints.dir(k, 4);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.isDirectory(firstCheckpoint) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(10);
        assertTrue(p.isAlive(), "the child ended before its first checkpoint:\n" + Files.readString(log));
        p.destroyForcibly(); // SIGKILL
        p.waitFor();
        assertFalse(Files.exists(k.resolve("final")), "the child finished before it was killed; nothing was tested");
        TrainRun.execute(TrainConfig.read(k.resolve(TrainConfig.RESOLVED_FILE)), k, k, quiet(), TrainerHooks.NONE, false);
        assertEquals(TrainFixtures.lossLines(a), TrainFixtures.lossLines(k));
        assertArrayEquals(TrainFixtures.adapterBytes(a.resolve("final")), TrainFixtures.adapterBytes(k.resolve("final")),
                "final adapter bytes differ after SIGKILL + resume");
    }
}
