package jlora.backend.cuda;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import jlora.UserError;

/**
 * Finds NVIDIA's shared libraries (libcublasLt.so.13 ...) where a machine has them, in this order:
 * <ol>
 *   <li>the folders in {@code -Djlora.cuda.libs}, else in {@code JLORA_CUDA_LIBS} (path-separated);</li>
 *   <li>{@code LD_LIBRARY_PATH};</li>
 *   <li>{@code CUDA_HOME} (then {@code CUDA_PATH}): {@code lib64} and {@code targets/x86_64-linux/lib};</li>
 *   <li>{@code /usr/local/cuda*}{@code /lib64} and {@code targets/x86_64-linux/lib}, newest name first;</li>
 *   <li>the {@code nvidia/*}{@code /lib} folders of Python's NVIDIA wheels (nvidia-cublas, the cu13
 *       bundle torch installs) under the usual site-packages roots: {@code /opt/*}{@code /.venv},
 *       {@code /opt/*}{@code /venv}, {@code /usr/local/lib/python3*}{@code /dist-packages|site-packages},
 *       {@code /usr/lib/python3/dist-packages}, {@code ~/.local/lib/python3*}{@code /site-packages}.</li>
 * </ol>
 * The file system root is a parameter so that the order is tested with fake files.
 * A library found nowhere is a {@link UserError} naming every folder searched and the variable to set.
 */
public final class CudaLibraries {
    public static final String PROPERTY = "jlora.cuda.libs";
    public static final String ENV = "JLORA_CUDA_LIBS";

    private final Path root;
    private final Map<String, String> env;
    private final String property;
    private final Path home;

    /**
     * @param root     where absolute system folders are resolved ("/" in production)
     * @param env      the environment ({@link System#getenv()})
     * @param property the value of {@code -Djlora.cuda.libs}, or null
     * @param home     the user's home folder, or null
     */
    public CudaLibraries(Path root, Map<String, String> env, String property, Path home) {
        this.root = root;
        this.env = Map.copyOf(env);
        this.property = property;
        this.home = home;
    }

    public static CudaLibraries system() {
        String h = System.getProperty("user.home");
        return new CudaLibraries(Path.of("/"), System.getenv(), System.getProperty(PROPERTY), h == null ? null : Path.of(h));
    }

    /** The first regular file named {@code fileName} in {@link #searchPath()}, or a UserError listing the folders. */
    public Path find(String fileName) {
        List<Path> folders = searchPath();
        for (Path folder : folders) {
            Path candidate = folder.resolve(fileName);
            if (Files.isRegularFile(candidate)) return candidate;
        }
        StringBuilder s = new StringBuilder(fileName).append(" was not found. Searched, in order:");
        for (Path f : folders) s.append("\n  ").append(f);
        if (folders.isEmpty()) s.append(" (no folder exists)");
        s.append("\nInstall the CUDA 13 toolkit or the nvidia-cublas wheel, or name the folder that holds ").append(fileName)
                .append(" with -D").append(PROPERTY).append("=DIR or ").append(ENV).append("=DIR (several: separated by ")
                .append(File.pathSeparator).append(").");
        throw new UserError(s.toString());
    }

    /** The folders that exist, in search order, each once. */
    public List<Path> searchPath() {
        LinkedHashSet<Path> out = new LinkedHashSet<>();
        String explicit = property != null && !property.isBlank() ? property : env.get(ENV);
        addList(out, explicit);
        addList(out, env.get("LD_LIBRARY_PATH"));
        for (String var : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String v = env.get(var);
            if (v != null && !v.isBlank()) addToolkit(out, Path.of(v));
        }
        for (Path cuda : newestFirst(children(sys("/usr/local"), "cuda*"))) addToolkit(out, cuda);
        for (Path sitePackages : sitePackages()) {
            for (Path wheel : children(sitePackages.resolve("nvidia"), "*")) add(out, wheel.resolve("lib"));
        }
        return List.copyOf(out);
    }

    private List<Path> sitePackages() {
        List<Path> roots = new ArrayList<>();
        for (Path opt : children(sys("/opt"), "*")) {
            for (String venv : new String[] {".venv", "venv"}) {
                for (Path py : children(opt.resolve(venv).resolve("lib"), "python3*")) roots.add(py.resolve("site-packages"));
            }
        }
        for (Path py : children(sys("/usr/local/lib"), "python3*")) {
            roots.add(py.resolve("dist-packages"));
            roots.add(py.resolve("site-packages"));
        }
        roots.add(sys("/usr/lib/python3/dist-packages"));
        if (home != null) {
            for (Path py : children(home.resolve(".local/lib"), "python3*")) roots.add(py.resolve("site-packages"));
        }
        return roots;
    }

    private static void addToolkit(LinkedHashSet<Path> out, Path toolkit) {
        add(out, toolkit.resolve("lib64"));
        add(out, toolkit.resolve("targets/x86_64-linux/lib"));
    }

    private static void addList(LinkedHashSet<Path> out, String list) {
        if (list == null) return;
        for (String part : list.split(File.pathSeparator)) {
            if (!part.isBlank()) add(out, Path.of(part.strip()));
        }
    }

    private static void add(LinkedHashSet<Path> out, Path folder) {
        if (Files.isDirectory(folder)) out.add(folder.normalize());
    }

    private Path sys(String absolute) {
        return root.resolve(absolute.substring(1));
    }

    /** Sub-folders of {@code dir} matching a glob, sorted by name; none when dir is missing. */
    private static List<Path> children(Path dir, String glob) {
        if (!Files.isDirectory(dir)) return List.of();
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
            for (Path p : ds) {
                if (Files.isDirectory(p)) out.add(p);
            }
        } catch (IOException e) {
            return List.of();
        }
        out.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return out;
    }

    /** /usr/local/cuda first (the admin's choice), then versioned folders newest first. */
    private static List<Path> newestFirst(List<Path> cudas) {
        return Stream.concat(cudas.stream().filter(p -> p.getFileName().toString().equals("cuda")),
                cudas.stream().filter(p -> !p.getFileName().toString().equals("cuda"))
                        .sorted(Comparator.comparing((Path p) -> versionKey(p.getFileName().toString())).reversed()))
                .toList();
    }

    /** "cuda-13.1" → 13001 so that 13.10 sorts after 13.9; unversioned names sort lowest. */
    private static long versionKey(String name) {
        String[] parts = name.replaceFirst("^cuda-?", "").split("\\.");
        long key = 0;
        for (int i = 0; i < 2; i++) {
            long v = 0;
            if (i < parts.length) {
                try {
                    v = Long.parseLong(parts[i]);
                } catch (NumberFormatException e) {
                    v = 0;
                }
            }
            key = key * 1000 + v;
        }
        return key;
    }

    /** Convenience for callers that prefer an Optional over the exception. */
    public Optional<Path> tryFind(String fileName) {
        try {
            return Optional.of(find(fileName));
        } catch (UserError e) {
            return Optional.empty();
        }
    }
}
