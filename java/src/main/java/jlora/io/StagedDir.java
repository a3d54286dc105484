package jlora.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import jlora.UserError;

/**
 * A directory built under a hidden temp name beside its target and renamed into place only when
 * complete, so a reader (or a crash) never sees a half-written model: {@link #commit()} publishes
 * it, {@link #close()} without a commit deletes it. A target that exists must be an empty
 * directory unless {@code replace} is set; a replaced target is renamed aside first and deleted
 * after the new one is in place.
 */
public final class StagedDir implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final boolean replace;
    private boolean committed;

    private StagedDir(Path target, Path temp, boolean replace) {
        this.target = target;
        this.temp = temp;
        this.replace = replace;
    }

    /**
     * Checks the target now (so a refusal comes before any work) and creates the temp dir.
     *
     * @param flag the option that allows replacing, named in the refusal (e.g. "--force")
     */
    public static StagedDir create(Path target, boolean replace, String flag) {
        Path abs = target.toAbsolutePath().normalize();
        if (Files.exists(abs)) {
            if (!Files.isDirectory(abs)) throw new UserError(target + " is a file; give a directory to write the model to");
            if (!replace && !isEmpty(abs)) {
                throw new UserError(target + " exists and is not empty; choose a new directory or pass " + flag
                        + " to replace it");
            }
        }
        Path temp = abs.resolveSibling("." + abs.getFileName() + ".tmp-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()));
        try {
            Files.createDirectories(abs.getParent());
            Files.createDirectory(temp);
        } catch (IOException e) {
            throw new UserError("cannot create " + temp + ": " + e.getMessage() + "; check that " + abs.getParent()
                    + " is writable", e);
        }
        return new StagedDir(abs, temp, replace);
    }

    /** Where to write the files now. */
    public Path path() {
        return temp;
    }

    public Path target() {
        return target;
    }

    /** Renames the finished directory into place. */
    public void commit() {
        Path aside = null;
        try {
            if (Files.exists(target)) {
                if (isEmpty(target)) {
                    Files.delete(target);
                } else if (replace) {
                    aside = target.resolveSibling("." + target.getFileName() + ".old-"
                            + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()));
                    Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
                } else {
                    throw new UserError(target + " was filled by something else while the model was written; it is"
                            + " left as it was and the new model is discarded");
                }
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            committed = true;
        } catch (AtomicMoveNotSupportedException e) {
            throw new UserError("cannot rename " + temp + " to " + target + " atomically; write to a directory on the"
                    + " same file system", e);
        } catch (DirectoryNotEmptyException e) {
            throw new UserError(target + " is not empty; pass --force to replace it", e);
        } catch (IOException e) {
            throw new UserError("cannot move the finished model from " + temp + " to " + target + ": " + e.getMessage(), e);
        }
        if (aside != null) deleteTree(aside);
    }

    /** Deletes the temp dir unless committed. */
    @Override
    public void close() {
        if (!committed) deleteTree(temp);
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new UserError("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the failure that brought us here is the one to report
        }
    }
}
