package jlora.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "jlora",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "LoRA / QLoRA fine-tuning for Qwen and Llama models, in Java.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"jlora " + (v == null ? "dev" : v)};
        }
    }
}
