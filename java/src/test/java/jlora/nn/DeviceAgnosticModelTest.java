package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.SplittableRandom;
import jlora.autograd.Tape;
import jlora.backend.Backend;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The model, tape and ops never touch a device tensor's bytes from the host: the same LoRA model
 * (dropout, trainable norms, gradient checkpointing, two packed documents; also with a trained
 * embedding table, tied or with a trained untied head) run on
 * {@link AddressOnlyBackend}, whose activations and gradients are address-only tensors that
 * throw on any host access, must give bit for bit the CPU backend's loss, gradients and logits
 * (it runs the same CPU kernels underneath). This is the no-GPU check that the CUDA backend's
 * callers are device-agnostic.
 */
class DeviceAgnosticModelTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"qwen3,", "llama,", "qwen3,embed_tokens", "llama,embed_tokens lm_head"})
    void sameLossGradientsAndLogitsAsTheCpu(String type, String saved) {
        long seed = System.nanoTime();
        Path dir = TinyModels.write(tmp.resolve(type), type, seed);
        LoraConfig lora = CausalLMTest.lora(4, 0.1, true, seed);
        if (saved != null) lora = lora.toBuilder().modulesToSave(java.util.List.of(saved.split(" "))).build();
        LoadOptions o = LoadOptions.DEFAULT.withLora(lora).withVocabChunk(40);
        CpuBackend cpu = new CpuBackend();
        try (AddressOnlyBackend dev = new AddressOnlyBackend(); CausalLM a = CausalLM.load(dir, cpu, o);
             CausalLM b = CausalLM.load(dir, dev, o)) {
            SplittableRandom r = new SplittableRandom(seed);
            for (int i = 0; i < a.lora().pairs().size(); i++) {
                Tensor ba = a.lora().pairs().get(i).b(), bb = b.lora().pairs().get(i).b();
                for (long j = 0; j < ba.numel(); j++) {
                    float v = (float) (0.05 * r.nextGaussian());
                    ba.setFloat(j, v);
                    bb.setFloat(j, v);
                }
            }
            a.gradientCheckpointing(true);
            b.gradientCheckpointing(true);
            int n = 13;
            int[] ids = new int[n], pos = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6, 7};
            for (int t = 0; t < n; t++) ids[t] = r.nextInt(97);
            int[] labels = ids.clone();
            labels[5] = Backend.IGNORE_INDEX;
            LossSum la = step(a, cpu, ids, pos, labels), lb = step(b, dev, ids, pos, labels);
            assertEquals(la, lb, "seed " + seed);
            try (Arena arena = Arena.ofConfined()) {
                for (var e : a.gradients().entrySet()) {
                    Tensor g = b.gradients().get(e.getKey());
                    assertEquals(AddressOnlyBackend.DEVICE, g.device());
                    Tensor host = Tensor.allocate(DType.F32, g.shape(), arena);
                    dev.copy(g, host);
                    assertArrayEquals(e.getValue().toFloatArray(), host.toFloatArray(), e.getKey() + ", seed " + seed);
                }
            }
            assertArrayEquals(a.forward(ids, pos, true), b.forward(ids, pos, true), "logits, seed " + seed);
            assertArrayEquals(a.forward(ids, pos), b.forward(ids, pos), "last logits, seed " + seed);
        }
    }

    private static LossSum step(CausalLM m, Backend backend, int[] ids, int[] pos, int[] labels) {
        m.zeroGradients();
        try (Tape tape = new Tape(backend)) {
            LossSum l = m.loss(ids, pos, labels, tape, 2);
            tape.backward((float) (1.0 / l.count()));
            return l;
        }
    }
}
