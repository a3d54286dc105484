package jlora.backend.cuda;

import org.junit.jupiter.api.Tag;

/** {@link CudaBackendTest}'s op parity checks on the plain fp32 SIMT GEMM path (fp32 bounds throughout). */
@Tag("gpu")
class CudaBackendSimtTest extends CudaBackendTest {
    @Override
    CudaBackend.GemmPath path() {
        return CudaBackend.GemmPath.SIMT;
    }
}
