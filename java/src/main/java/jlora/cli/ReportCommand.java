package jlora.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import jlora.train.metrics.Plots;
import jlora.train.metrics.TensorBoardEvents;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "report", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Redraw a run's loss and learning-rate curves (PNG) from its metrics.jsonl.",
                "Works on a finished, running or crashed run."})
public final class ReportCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN_DIR", description = "A training run's output directory (it holds metrics.jsonl).")
    Path runDir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (Path png : Plots.render(runDir)) out.println("wrote " + png);
        Path events = runDir.resolve(TensorBoardEvents.DIR);
        if (Files.isDirectory(events)) out.println("live curves: tensorboard --logdir " + events);
        return 0;
    }
}
