package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import jlora.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The folder search of {@link CudaLibraries} over a fake file system under a temp root: the
 * oracle is the order its class comment documents (property / JLORA_CUDA_LIBS, LD_LIBRARY_PATH,
 * CUDA_HOME, /usr/local/cuda*, the Python wheels' nvidia/*&#47;lib), checked by planting the same
 * library name in several folders and removing them one at a time.
 */
class CudaLibrariesTest {
    private static final String LIB = "libcublasLt.so.13";

    @TempDir
    Path root;

    private Path plant(String folder) throws IOException {
        Path dir = root.resolve(folder);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(LIB), "fake");
        return dir.resolve(LIB);
    }

    @Test
    void searchesInTheDocumentedOrder() throws IOException {
        Path explicit = plant("mine/lib");
        Path ld = plant("ld/lib");
        Path home = plant("toolkit/targets/x86_64-linux/lib");
        Path local = plant("usr/local/cuda-13.0/lib64");
        Path newer = plant("usr/local/cuda-13.10/lib64");
        Path wheel = plant("opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib");
        Map<String, String> env = Map.of("LD_LIBRARY_PATH", "/nonexistent:" + root.resolve("ld/lib"), "CUDA_HOME",
                root.resolve("toolkit").toString(), CudaLibraries.ENV, root.resolve("mine/lib").toString());
        List<Path> order = List.of(explicit, ld, home, newer, local, wheel);
        for (int i = 0; i < order.size(); i++) {
            Path found = new CudaLibraries(root, env, null, null).find(LIB);
            assertEquals(order.get(i), found, "step " + i);
            Files.delete(order.get(i));
        }
        UserError e = assertThrows(UserError.class, () -> new CudaLibraries(root, env, null, null).find(LIB));
        for (Path p : order) assertTrue(e.getMessage().contains(p.getParent().toString()), e.getMessage());
        assertTrue(e.getMessage().contains(CudaLibraries.ENV) && e.getMessage().contains("-D" + CudaLibraries.PROPERTY),
                e.getMessage());
    }

    @Test
    void propertyWinsOverTheEnvironment() throws IOException {
        Path prop = plant("prop");
        plant("env");
        Map<String, String> env = Map.of(CudaLibraries.ENV, root.resolve("env").toString());
        assertEquals(prop, new CudaLibraries(root, env, root.resolve("prop").toString(), null).find(LIB));
    }

    @Test
    void wheelFoldersOfEverySitePackagesRootAndTheUsersHome() throws IOException {
        Path dist = plant("usr/local/lib/python3.11/dist-packages/nvidia/cublas/lib");
        Path user = plant("home/u/.local/lib/python3.12/site-packages/nvidia/cublas/lib");
        CudaLibraries libs = new CudaLibraries(root, Map.of(), null, root.resolve("home/u"));
        assertEquals(dist, libs.find(LIB));
        Files.delete(dist);
        assertEquals(user, libs.find(LIB));
    }

    @Test
    void missingEverywhereSaysSoWithNoFolders() {
        UserError e = assertThrows(UserError.class, () -> new CudaLibraries(root, Map.of(), null, null).find(LIB));
        assertTrue(e.getMessage().startsWith(LIB + " was not found"), e.getMessage());
    }
}
