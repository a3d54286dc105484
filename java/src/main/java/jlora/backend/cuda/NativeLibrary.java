package jlora.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Finds and loads libjlora_cuda.so: the file named by {@code -Djlora.native.path}, else the
 * copy native/build.sh put on the class path (inside the jar), extracted to a private temp
 * file that is deleted again once the library is mapped. Loading never throws: the outcome
 * says what happened, in words a user can act on.
 */
public final class NativeLibrary {
    public static final String RESOURCE = "/jlora/native/linux-x86_64/libjlora_cuda.so";
    public static final String PATH_PROPERTY = "jlora.native.path";
    static final String NOT_BUILT = "this build has no CUDA (built without nvcc)";

    /** The outcome of one attempt to load the library. */
    public sealed interface Load permits Loaded, NotBuilt, LoadFailed {}

    /** The library is mapped; {@code origin} says where it came from. */
    public record Loaded(SymbolLookup symbols, String origin) implements Load {}

    /** The build found no nvcc, so no library was packaged. */
    public record NotBuilt() implements Load {
        public String message() {
            return NOT_BUILT;
        }
    }

    /** A library was named or packaged but could not be mapped (wrong file, missing libstdc++...). */
    public record LoadFailed(String origin, String reason) implements Load {
        public String message() {
            return "libjlora_cuda.so could not be loaded from " + origin + ": " + reason;
        }
    }

    private static volatile Load cached;

    private NativeLibrary() {}

    /** Loads once per JVM; later calls return the same outcome. */
    public static Load load() {
        Load result = cached;
        if (result == null) {
            synchronized (NativeLibrary.class) {
                result = cached;
                if (result == null) {
                    result = load(System.getProperty(PATH_PROPERTY), NativeLibrary.class.getResource(RESOURCE));
                    cached = result;
                }
            }
        }
        return result;
    }

    /** Uncached; {@code explicitPath} wins over {@code packaged}; both may be null. */
    static Load load(String explicitPath, URL packaged) {
        if (explicitPath != null && !explicitPath.isBlank()) {
            Path path = Path.of(explicitPath);
            String origin = path + " (-D" + PATH_PROPERTY + ")";
            if (!Files.isRegularFile(path)) {
                return new LoadFailed(origin, "no such file; point -D" + PATH_PROPERTY + " at libjlora_cuda.so or drop it");
            }
            return map(path, origin);
        }
        if (packaged == null) return new NotBuilt();
        String origin = "class path " + RESOURCE;
        Path temp;
        try {
            // createTempFile makes the file owner-only (rw-------) on POSIX systems.
            temp = Files.createTempFile("jlora_cuda", ".so");
        } catch (IOException e) {
            return new LoadFailed(origin, "cannot create a temp file to extract it (" + e.getMessage() + "); set java.io.tmpdir");
        }
        try {
            try (InputStream in = packaged.openStream()) {
                Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
            }
            return map(temp, origin);
        } catch (IOException e) {
            return new LoadFailed(origin, "extracting to " + temp + " failed: " + e.getMessage());
        } finally {
            // The mapping outlives the file; nothing is left in the temp folder.
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                temp.toFile().deleteOnExit();
            }
        }
    }

    private static Load map(Path path, String origin) {
        try {
            return new Loaded(SymbolLookup.libraryLookup(path, Arena.global()), origin);
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return new LoadFailed(origin, String.valueOf(e.getMessage()));
        }
    }
}
