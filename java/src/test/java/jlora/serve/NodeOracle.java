package jlora.serve;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Finds tools/oracle and runs its node scripts; skips the calling test when node or a package is missing. */
final class NodeOracle {
    private NodeOracle() {
    }

    static Path dir(String requiredPackage) {
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !Files.isDirectory(root.resolve("tools/oracle"))) root = root.getParent();
        assumeTrue(root != null, "tools/oracle not found above " + Path.of("").toAbsolutePath());
        Path dir = root.resolve("tools/oracle");
        assumeTrue(Files.isDirectory(dir.resolve("node_modules/" + requiredPackage)),
                "npm package " + requiredPackage + " missing: run tools/fetch-fixtures.sh (needs npm)");
        assumeTrue(runs(List.of("node", "--version")), "node not found on PATH");
        return dir;
    }

    static Path repoRoot() {
        return dir("openai").getParent().getParent();
    }

    private static boolean runs(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /** Runs {@code node script args...} in the oracle dir; returns stdout, failing with stderr on a non-zero exit. */
    static String run(Path dir, String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("node", dir.resolve(script).toString()));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile("jlora-node", ".err");
        try {
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectError(err.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(script + " did not finish in 120 s; stderr: " + Files.readString(err));
            }
            if (p.exitValue() != 0) {
                throw new AssertionError(script + " exited " + p.exitValue() + "; stderr: " + Files.readString(err) + "\nstdout: " + out);
            }
            return out;
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
