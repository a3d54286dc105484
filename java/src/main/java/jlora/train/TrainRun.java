package jlora.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import jlora.UserError;
import jlora.io.AtomicFiles;
import jlora.train.metrics.Plots;

/**
 * A whole `jlora train` run: checks every stage before any work, writes the resolved config,
 * runs the stages in order (a later stage starting from the previous stage's adapter), draws
 * the plots and prints a sample answer from the final adapter.
 *
 * <p>Layout: {@code output.dir/run_name/} holds config.resolved.yaml; a single-stage run writes
 * metrics, checkpoints/ and the adapter there, a multi-stage run one sub-directory per stage.
 * A stage that finished leaves {@value #DONE}, so {@code --resume} skips it.
 */
public final class TrainRun {
    static final String DONE = "stage_done.txt";
    /** Where a stage that starts from the merged previous stage keeps that merged base. */
    static final String MERGED_BASE = "merged-base";

    /** What a finished run produced. */
    public record Outcome(Path runDir, Path adapterDir, List<Trainer.Result> stages, String sample) {}

    private TrainRun() {}

    /** The run dir a fresh run of {@code config} writes into. */
    public static Path newRunDir(TrainConfig config, String recipe) {
        String name = config.output().runName();
        if (name == null) {
            name = (recipe == null ? "run" : Path.of(recipe).getFileName().toString().replaceFirst("\\.ya?ml$", ""))
                    + "-" + ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        }
        return Path.of(config.output().dir()).resolve(placeholders(name, config, null, "model"));
    }

    /** The run dir named by the config, or the newest one under output.dir: what a bare --resume continues. */
    public static Path latestRunDir(TrainConfig config) {
        if (config.output().runName() != null) return newRunDir(config, null);
        Path parent = Path.of(config.output().dir());
        if (!Files.isDirectory(parent)) throw new UserError("--resume: " + parent + " holds no runs; give --resume RUN_DIR or a checkpoint");
        try (Stream<Path> s = Files.list(parent)) {
            return s.filter(p -> Files.isRegularFile(p.resolve(TrainConfig.RESOLVED_FILE)))
                    .max(java.util.Comparator.comparing(p -> p.toFile().lastModified()))
                    .orElseThrow(() -> new UserError("--resume: no run under " + parent + "; give --resume RUN_DIR"));
        } catch (IOException e) {
            throw new UserError("cannot list " + parent + ": " + e.getMessage(), e);
        }
    }

    /**
     * Runs (or, with {@code resume}, continues) {@code config} in {@code runDir}.
     *
     * @param resume null for a fresh run; a checkpoint directory; or the run dir (its latest checkpoint per stage)
     * @param sample print a sample answer at the end
     */
    public static Outcome execute(TrainConfig config, Path runDir, Path resume, PrintStream out, TrainerHooks hooks,
                                  boolean sample) {
        List<TrainConfig> stages = config.stageConfigs();
        List<RunSetup> setups = new ArrayList<>();
        for (int i = 0; i < stages.size(); i++) {
            setups.add(RunSetup.check(stages.get(i)));
        }
        RunSetup.checkWritable(runDir);
        List<TrainData> data = new ArrayList<>();
        for (int i = 0; i < stages.size(); i++) {
            TrainData d = TrainData.load(stages.get(i), setups.get(i).tokenizer(), setups.get(i).template());
            d.summary().forEach(out::println);
            data.add(d);
        }
        AtomicFiles.writeString(runDir.resolve(TrainConfig.RESOLVED_FILE), config.toYaml());
        out.println("run dir: " + runDir);

        List<Trainer.Result> results = new ArrayList<>();
        Path previous = null;
        Path previousBase = null;
        Path lastModel = null;
        for (int i = 0; i < stages.size(); i++) {
            boolean multi = !config.stages().isEmpty();
            String stageName = multi ? config.stages().get(i).name() : null;
            Path stageDir = multi ? runDir.resolve(stageName) : runDir;
            TrainConfig c = withAdapterDir(stages.get(i), placeholders(stages.get(i).output().adapterDir(), stages.get(i),
                    stageName, setups.get(i).modelName()));
            Path adapter = stageDir.resolve(c.output().adapterDir());
            if (resume != null && Files.isRegularFile(stageDir.resolve(DONE))) {
                out.println("stage " + (stageName == null ? "" : stageName + " ") + "already finished; continuing after it");
                previous = adapter;
                boolean wasMerged = multi && i > 0 && config.stages().get(i).startFrom() == Stage.StartFrom.MERGED;
                previousBase = wasMerged ? stageDir.resolve(MERGED_BASE) : setups.get(i).modelDir();
                lastModel = previousBase;
                continue;
            }
            Path from = null;
            if (resume != null) {
                boolean checkpoint = Files.isRegularFile(resume.resolve(TrainerState.FILE))
                        && resume.toAbsolutePath().normalize().startsWith(stageDir.toAbsolutePath().normalize());
                from = checkpoint ? resume : Checkpoints.latest(stageDir);
            }
            if (multi) out.println("stage " + (i + 1) + "/" + stages.size() + ": " + stageName);
            RunSetup setup = setups.get(i);
            boolean merged = multi && i > 0 && config.stages().get(i).startFrom() == Stage.StartFrom.MERGED;
            boolean base = multi && config.stages().get(i).startFrom() == Stage.StartFrom.BASE;
            if (merged) {
                Path mergedDir = stageDir.resolve(MERGED_BASE);
                if (!Files.isRegularFile(mergedDir.resolve("model.safetensors"))) {
                    out.println("merging " + previous + " into " + previousBase + " -> " + mergedDir);
                    MergedBase.write(previousBase, previous, setup.tokenizerDir(), mergedDir);
                }
                setup = setup.withModelDir(mergedDir);
            }
            Path init = i > 0 && from == null && !merged && !base ? previous : null;
            Trainer.Result r = new Trainer(c, setup, stageDir, out, hooks).run(data.get(i), from, init);
            results.add(r);
            if (r.interrupted()) return new Outcome(runDir, null, results, null);
            AtomicFiles.writeString(stageDir.resolve(DONE), "finished at step " + r.steps() + "\n");
            if (c.output().plots()) {
                try {
                    for (Path png : Plots.render(stageDir)) out.println("wrote " + png);
                } catch (RuntimeException e) {
                    out.println("jlora: warning: could not draw the plots (" + e.getMessage() + ")");
                }
            }
            out.println("adapter saved to " + r.adapterDir());
            if (c.output().mergedDir() != null) {
                Path m = stageDir.resolve(placeholders(c.output().mergedDir(), c, stageName, setup.modelName()));
                MergedBase.write(setup.modelDir(), r.adapterDir(), setup.tokenizerDir(), m);
                out.println("merged model saved to " + m);
            }
            previous = r.adapterDir();
            previousBase = setup.modelDir();
            lastModel = setup.modelDir();
        }
        String answer = null;
        if (sample && previous != null) {
            RunSetup last = setups.getLast();
            answer = SampleAnswer.generate(lastModel != null ? lastModel : last.modelDir(), previous, last.tokenizer(), last.template(), SampleAnswer.PROMPT, 48);
            out.println("sample (greedy, tuned adapter):");
            out.println("  user:      " + SampleAnswer.PROMPT);
            out.println("  assistant: " + answer.replace("\n", "\n             "));
        }
        return new Outcome(runDir, previous, results, answer);
    }

    static TrainConfig withAdapterDir(TrainConfig c, String adapterDir) {
        OutputSection o = c.output();
        return new TrainConfig(c.description(), c.model(), c.quantization(), c.lora(), c.data(), c.training(),
                new OutputSection(o.dir(), o.runName(), adapterDir, o.mergedDir(), o.tensorboard(), o.plots()), List.of());
    }

    static String placeholders(String s, TrainConfig c, String stage, String model) {
        String epochs = c.training().maxSteps() != null ? c.training().maxSteps() + "steps" : String.valueOf(c.training().epochs());
        return s.replace("{model}", model).replace("{epochs}", epochs).replace("{method}", c.method())
                .replace("{stage}", stage == null ? "" : stage);
    }
}
