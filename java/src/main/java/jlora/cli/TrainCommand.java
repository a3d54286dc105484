package jlora.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import jlora.UserError;
import jlora.train.Checkpoints;
import jlora.train.Recipes;
import jlora.train.TrainConfig;
import jlora.train.TrainRun;
import jlora.train.Trainer;
import jlora.train.TrainerHooks;
import jlora.train.TrainerState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Fine-tune a LoRA / QLoRA adapter.",
                "With no arguments: the built-in tiny model on the bundled Korean samples (recipe 'tiny', CPU, ~1 minute).",
                "Any config key can be overridden: --section.key value (e.g. --lora.r 64 --training.learning_rate 1e-4).",
                "Shortcuts: --model DIR, --data FILES (comma-separated), --device cpu|cuda|auto."})
public final class TrainCommand implements Callable<Integer> {
    @Option(names = "--recipe", paramLabel = "NAME", description = "A built-in recipe or a recipe YAML (default: tiny when no --config is given).")
    String recipe;

    @Option(names = "--config", paramLabel = "FILE.yaml", description = "Your config YAML, applied over the recipe.")
    Path config;

    @Option(names = "--resume", arity = "0..1", fallbackValue = "latest", paramLabel = "latest|PATH",
            description = "Continue a run: 'latest' (the newest run under output.dir, or output.run_name), a run dir, or a checkpoint dir.")
    String resume;

    @Option(names = "--list-recipes", description = "List the built-in recipes and exit.")
    boolean listRecipes;

    @Option(names = "--no-sample", description = "Do not print a sample answer at the end.")
    boolean noSample;

    @Unmatched
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        PrintStream out = System.out;
        if (listRecipes) {
            for (Recipes.Entry e : Recipes.list()) out.printf(Locale.ROOT, "%-32s %s%n", e.name(), e.description());
            return 0;
        }
        long start = System.nanoTime();
        TrainConfig c;
        Path runDir;
        Path from = null;
        if (resume != null && resume.startsWith("--")) {
            // picocli hands an optional value the next token even when it is a config override
            // (`--resume --output.run_name x`): give the override back.
            overrides.addFirst(resume);
            resume = "latest";
        }
        if (resume != null) {
            Path given = resume.equals("latest") ? null : Path.of(resume);
            if (given != null && !Files.isDirectory(given)) throw new UserError("--resume " + given + ": no such directory");
            if (given != null && Files.isRegularFile(given.resolve(TrainerState.FILE))) {
                from = given;
                runDir = runDirOf(given);
            } else if (given != null) {
                runDir = given;
            } else {
                TrainConfig probe = TrainConfig.resolve(recipe == null && config == null ? Recipes.DEFAULT : recipe, config, overrides);
                runDir = TrainRun.latestRunDir(probe);
            }
            Path saved = runDir.resolve(TrainConfig.RESOLVED_FILE);
            if (!Files.isRegularFile(saved)) throw new UserError("--resume: " + runDir + " has no " + TrainConfig.RESOLVED_FILE + "; is it a jlora run dir?");
            c = TrainConfig.resolve(null, saved, overrides);
            if (from == null) from = runDir;
        } else {
            String r = recipe == null && config == null ? Recipes.DEFAULT : recipe;
            c = TrainConfig.resolve(r, config, overrides);
            runDir = TrainRun.newRunDir(c, r);
        }
        TrainRun.Outcome o = TrainRun.execute(c, runDir, from, out, TrainerHooks.NONE, !noSample);
        for (Trainer.Result r : o.stages()) {
            out.printf(Locale.ROOT, "train loss %.4f -> %.4f, eval loss %.4f -> %.4f over %d steps%n", r.firstLoss(), r.lastLoss(),
                    r.firstEval(), r.lastEval(), r.steps());
        }
        out.printf(Locale.ROOT, "done in %.1f s: %s%n", (System.nanoTime() - start) / 1e9, o.runDir());
        return 0;
    }

    /** checkpoints/step-N → the stage dir; for a multi-stage run the run dir is one above that. */
    static Path runDirOf(Path checkpoint) {
        Checkpoints.step(checkpoint);
        Path stageDir = checkpoint.toAbsolutePath().normalize().getParent().getParent();
        if (Files.isRegularFile(stageDir.resolve(TrainConfig.RESOLVED_FILE))) return stageDir;
        return stageDir.getParent();
    }
}
