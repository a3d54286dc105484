package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CPU-only and broken-install paths of the Java → CUDA chain, on any machine: the status
 * text must be the documented one (DESIGN.md: "a build without nvcc ... says so at run
 * time") and a query must never throw, whatever the machine has.
 */
class NativeLibraryTest {
    @Test
    void buildWithoutLibrarySaysItHasNoCuda() {
        NativeLibrary.Load load = NativeLibrary.load(null, null);
        assertInstanceOf(NativeLibrary.NotBuilt.class, load);
        CudaDevices.Report report = CudaDevices.query(load);
        assertEquals(CudaDevices.Status.NOT_BUILT, report.status());
        assertEquals("this build has no CUDA (built without nvcc)", report.describe());
        assertEquals(List.of(), report.devices());
    }

    @Test
    void explicitPathToMissingFileNamesThePathAndTheProperty(@TempDir Path dir) {
        Path missing = dir.resolve("nope.so");
        CudaDevices.Report report = CudaDevices.query(NativeLibrary.load(missing.toString(), null));
        assertEquals(CudaDevices.Status.UNAVAILABLE, report.status());
        assertTrue(report.message().contains(missing.toString()) && report.message().contains("jlora.native.path"),
                report.message());
    }

    /** An ELF file that is no shared library (this JVM's own launcher, a PIE executable). */
    @Test
    void fileThatIsNoLibraryIsReportedNotThrown(@TempDir Path dir) throws IOException {
        Path java = Path.of(ProcessHandle.current().info().command().orElseThrow());
        Path junk = Files.copy(java, dir.resolve("libjlora_cuda.so"));
        NativeLibrary.Load load = NativeLibrary.load(junk.toString(), null);
        NativeLibrary.LoadFailed failed = assertInstanceOf(NativeLibrary.LoadFailed.class, load);
        assertTrue(failed.message().startsWith("libjlora_cuda.so could not be loaded from " + junk), failed.message());
    }

    /**
     * Whatever this machine is (CI without nvcc, a build machine with nvcc but no GPU, the GPU
     * machine), the real query answers with the status its class path and hardware imply.
     */
    @Test
    void realQueryMatchesWhatThisBuildPackaged() {
        boolean packaged = NativeLibrary.class.getResource(NativeLibrary.RESOURCE) != null
                || System.getProperty(NativeLibrary.PATH_PROPERTY) != null;
        CudaDevices.Report report = CudaDevices.query();
        String text = CudaDevices.describe();
        if (!packaged) {
            assertEquals(CudaDevices.Status.NOT_BUILT, report.status(), text);
            assertEquals("this build has no CUDA (built without nvcc)", text);
        } else if (report.status() == CudaDevices.Status.READY) {
            assertTrue(!report.devices().isEmpty() && text.startsWith("CUDA runtime "), text);
        } else {
            assertEquals(CudaDevices.Status.UNAVAILABLE, report.status(), text);
            assertTrue(text.startsWith("libjlora_cuda.so present but no CUDA driver/GPU: "), text);
            assertTrue(report.runtimeVersion() >= 12000, "static cudart answers without a driver: " + text);
        }
    }
}
