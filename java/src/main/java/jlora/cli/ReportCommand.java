package jlora.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import jlora.train.metrics.Plots;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "report",
        mixinStandardHelpOptions = true,
        description = "Redraw a run's loss and learning-rate curves (PNG) from its metrics.jsonl.")
public final class ReportCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN_DIR", description = "A training run's output directory (it holds metrics.jsonl).")
    Path runDir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        for (Path png : Plots.render(runDir)) spec.commandLine().getOut().println("wrote " + png);
        return 0;
    }
}
