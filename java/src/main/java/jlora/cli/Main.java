package jlora.cli;

import jlora.UserError;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "jlora",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "LoRA / QLoRA fine-tuning for Qwen and Llama models, in Java.",
        subcommands = {TrainCommand.class, InfoCommand.class, PrepareCommand.class, ChatCommand.class,
                EvalCommand.class, MergeCommand.class, ExportCommand.class, ServeCommand.class, ReportCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Show stack traces for errors.")
    boolean verbose;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests call execute() on it and read the exit code. */
    public static CommandLine commandLine() {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            // A UserError is the message a person needs, on one line; anything else is a bug,
            // shown briefly unless --verbose asks for the trace.
            if (ex instanceof UserError) {
                line.getErr().println("jlora: " + ex.getMessage());
            } else {
                line.getErr().println("jlora: internal error: " + ex + " (rerun with --verbose for the stack trace)");
            }
            if (main.verbose) ex.printStackTrace(line.getErr());
            return ex instanceof UserError ? 1 : 70;
        });
        return cl;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"jlora " + (v == null ? "dev" : v)};
        }
    }
}
