package jlora.train;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import jlora.UserError;

/**
 * The {@code checkpoints/step-N/} directories of a run. A checkpoint is written whole into a
 * hidden temporary sibling, every file fsynced, then renamed into place and the parent fsynced
 * (the same temp + fsync + rename rule as {@link jlora.io.AtomicFiles}, for a directory): a
 * crash or a full disk mid-write leaves at most a {@code .step-N.tmp*} directory, which is
 * ignored and removed by the next write, and every older checkpoint untouched.
 */
public final class Checkpoints {
    public static final String DIR = "checkpoints";
    private static final Pattern NAME = Pattern.compile("step-(\\d+)");

    /** Fills a checkpoint directory (an empty temp dir). */
    @FunctionalInterface
    public interface Writer {
        void writeTo(Path dir);
    }

    private Checkpoints() {}

    public static Path dir(Path runDir, long step) {
        return runDir.resolve(DIR).resolve("step-" + step);
    }

    /** Writes checkpoint {@code step} atomically, then keeps only the newest {@code keep} (null keeps all). */
    public static Path write(Path runDir, long step, Integer keep, Writer writer) {
        Path parent = runDir.resolve(DIR);
        Path target = dir(runDir, step);
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            removeTemps(parent);
            tmp = Files.createTempDirectory(parent, ".step-" + step + ".tmp");
            writer.writeTo(tmp);
            try (Stream<Path> files = Files.list(tmp)) {
                for (Path f : files.toList()) fsync(f, false);
            }
            fsync(tmp, true);
            if (Files.exists(target)) deleteTree(target); // a re-run of the same step after a resume
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the file system of " + parent + " cannot rename atomically", e);
            }
            tmp = null;
            fsync(parent, true);
        } catch (IOException e) {
            throw new UserError("cannot write checkpoint " + target + ": " + e.getMessage()
                    + "; check free disk space and permissions (older checkpoints are intact)", e);
        } finally {
            if (tmp != null) deleteTree(tmp);
        }
        if (keep != null) rotate(runDir, keep);
        return target;
    }

    /** Complete checkpoints, oldest first. */
    public static List<Path> list(Path runDir) {
        Path parent = runDir.resolve(DIR);
        if (!Files.isDirectory(parent)) return List.of();
        try (Stream<Path> s = Files.list(parent)) {
            return s.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .filter(p -> Files.isRegularFile(p.resolve(TrainerState.FILE)))
                    .sorted(Comparator.comparingLong(Checkpoints::step)).toList();
        } catch (IOException e) {
            throw new UserError("cannot list " + parent + ": " + e.getMessage(), e);
        }
    }

    /** The newest complete checkpoint, or null. */
    public static Path latest(Path runDir) {
        List<Path> all = list(runDir);
        return all.isEmpty() ? null : all.getLast();
    }

    public static long step(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) throw new UserError(checkpoint + " is not a checkpoint directory (expected .../checkpoints/step-N)");
        return Long.parseLong(m.group(1));
    }

    static void rotate(Path runDir, int keep) {
        List<Path> all = list(runDir);
        for (int i = 0; i < all.size() - keep; i++) deleteTree(all.get(i));
    }

    private static void removeTemps(Path parent) throws IOException {
        try (Stream<Path> s = Files.list(parent)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(".step-")).toList()) deleteTree(p);
        }
    }

    private static void fsync(Path p, boolean directory) {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
            c.force(true);
        } catch (IOException e) {
            if (!directory) throw new java.io.UncheckedIOException(e);
            // some platforms cannot open a directory as a channel; the rename is still atomic
        }
    }

    static void deleteTree(Path tree) {
        if (!Files.exists(tree)) return;
        try (Stream<Path> walk = Files.walk(tree)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UserError("cannot delete " + tree + ": " + e.getMessage(), e);
        }
    }
}
