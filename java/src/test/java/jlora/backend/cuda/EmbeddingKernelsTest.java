package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * cuda/embedding.cu against {@link CpuBackend#embedding} / {@link CpuBackend#embeddingBackward},
 * bit for bit, for F32 and BF16 tables and dOut (the CPU widens the same bf16 values): the gather
 * copies, and the scatter-add adds in the CPU's token order into an F32 table, onto the same
 * random starting table on both sides. Small vocabularies force repeated ids (the
 * accumulation case); dims odd (element-wise path) and multiples of 4 (vector path). An id
 * outside the vocabulary must come back as status -2 naming its position.
 */
@Tag("gpu")
class EmbeddingKernelsTest {
    private CudaApi api;

    @BeforeEach
    void requireGpu() {
        api = GpuParity.requireGpu();
    }

    @Test
    void gatherAndScatterAddMatchCpuBitForBit() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        // {vocab, dim, tokens}
        for (DType type : GpuParity.ACTIVATIONS) {
            for (int[] s : new int[][] {{1, 1, 1}, {50, 7, 37}, {13, 896, 300}, {1000, 260, 129}}) check(seed, r, type, s[0], s[1], s[2]);
        }
    }

    private void check(long seed, SplittableRandom r, DType type, int vocab, int dim, int tokens) {
        String ctx = String.format("seed=%d %s vocab=%d dim=%d tokens=%d", seed, type, vocab, dim, tokens);
        CpuBackend cpu = new CpuBackend();
        try (Arena arena = Arena.ofShared(); EmbeddingKernels k = new EmbeddingKernels(api)) {
            float[] table = GpuParity.representable(type, GpuParity.gaussian(r, vocab * dim, 1.0));
            float[] g = GpuParity.representable(type, GpuParity.gaussian(r, tokens * dim, 1.0));
            float[] dTable0 = GpuParity.gaussian(r, vocab * dim, 1.0);
            int[] ids = new int[tokens];
            for (int t = 0; t < tokens; t++) ids[t] = r.nextInt(vocab);
            Tensor tt = GpuParity.f32(arena, table, vocab, dim), it = GpuParity.i32(arena, ids);
            Tensor want = GpuParity.f32(arena, new float[tokens * dim], tokens, dim);
            cpu.embedding(tt, it, want);
            Tensor gt = GpuParity.f32(arena, g, tokens, dim), wantD = GpuParity.f32(arena, dTable0.clone(), vocab, dim);
            cpu.embeddingBackward(it, gt, wantD);
            try (DeviceBuffer bt = GpuParity.upload(api, GpuParity.tensor(arena, type, table, vocab, dim));
                    DeviceBuffer bi = GpuParity.upload(api, it);
                    DeviceBuffer bg = GpuParity.upload(api, GpuParity.tensor(arena, type, g, tokens, dim))) {
                for (int poison : GpuParity.POISONS) {
                    String c = ctx + " poison=0x" + Integer.toHexString(poison);
                    try (DeviceBuffer out = GpuParity.poisoned(api, GpuParity.bytes(type, (long) tokens * dim), poison);
                            DeviceBuffer dt = GpuParity.upload(api, arena, dTable0)) {
                        k.forward(type, bt, vocab, dim, bi, tokens, out);
                        GpuParity.assertBits("embedding gather " + c, want.toFloatArray(), GpuParity.download(arena, out, type, tokens * dim));
                        k.backward(type, bi, tokens, bg, vocab, dim, dt);
                        GpuParity.assertBits("embedding scatter-add " + c, wantD.toFloatArray(), GpuParity.downloadF32(arena, dt, vocab * dim));
                    }
                }
            }
        }
    }

    @Test
    void idOutsideTheVocabularyIsAnErrorNamingThePosition() {
        int vocab = 10, dim = 8, tokens = 6;
        try (Arena arena = Arena.ofShared(); EmbeddingKernels k = new EmbeddingKernels(api);
                DeviceBuffer table = GpuParity.upload(api, arena, new float[vocab * dim]);
                DeviceBuffer ids = GpuParity.upload(api, GpuParity.i32(arena, new int[] {1, 2, 10, 3, -1, 12}));
                DeviceBuffer out = new DeviceBuffer(api, 4L * tokens * dim)) {
            CudaException e = assertThrows(CudaException.class, () -> k.forward(DType.F32, table, vocab, dim, ids, tokens, out));
            assertEquals(-2, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains("token id 10 at position 2"), e.getMessage());
        }
    }
}
