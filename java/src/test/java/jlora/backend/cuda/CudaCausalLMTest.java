package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import jlora.autograd.Tape;
import jlora.backend.Backend;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.nn.LoraConfig;
import jlora.nn.LoraPair;
import jlora.nn.TinyModels;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A whole LoRA / QLoRA forward + backward of the tiny Qwen2, Qwen3 (q/k norms) and Llama layouts
 * on the CUDA backend against the same model on the CPU backend: same bf16 weights (NF4 from
 * them, which both sides dequantize to the same bf16 values), same LoRA init with random B,
 * LoRA dropout 0.1 and trainable norms, two packed documents. The CUDA model runs with gradient
 * checkpointing (the tape re-runs each layer on the device), the CPU one without, so this also
 * checks the recompute. On the fp32 SIMT GEMM path: loss sum within 1e-4 relative, count exact,
 * every LoRA / norm gradient within 2e-3 · (|want| + RMS of that tensor's gradient). On the
 * cuBLASLt path, where every linear layer also rounds its activations to bf16 (tensor cores),
 * bf16 bounds: loss 3e-3 relative, gradients 5e-2 · (|want| + RMS); the same with the fused LoRA
 * kernel (FUSED), which also rounds A, s·B and the LoRA activations to bf16, and with the
 * embedding table (and Llama's untied head) trained in full (EMBED). Seed in every message.
 */
@Tag("gpu")
class CudaCausalLMTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"qwen2-random,false,SIMT", "qwen2-random,true,SIMT", "qwen3,false,SIMT", "qwen3,true,SIMT",
            "llama,false,SIMT", "llama,true,SIMT", "qwen2-random,false,CUBLAS", "qwen2-random,true,CUBLAS",
            "qwen3,false,CUBLAS", "qwen3,true,CUBLAS", "llama,false,CUBLAS", "llama,true,CUBLAS",
            "qwen3,false,FUSED", "qwen3,true,FUSED", "llama,true,FUSED", "qwen3,false,EMBED", "llama,true,EMBED"})
    void lossAndGradientsMatchCpu(String type, boolean nf4, String variant) {
        CudaBackend.GemmPath path = variant.equals("SIMT") ? CudaBackend.GemmPath.SIMT : CudaBackend.GemmPath.CUBLAS;
        boolean fusedLora = variant.equals("FUSED");
        // EMBED: the embedding table (and Llama's untied head) trained in full as modules_to_save, on cuBLASLt.
        boolean embed = variant.equals("EMBED");
        GpuParity.requireGpu();
        long seed = System.nanoTime();
        String ctx = type + (nf4 ? " QLoRA " : " LoRA ") + variant + " seed=" + seed;
        boolean bf16 = path == CudaBackend.GemmPath.CUBLAS;
        double lossTol = bf16 ? 3e-3 : 1e-4, gradTol = bf16 ? 5e-2 : 2e-3;
        Path dir = TinyModels.write(tmp.resolve(type), type, seed);
        LoraConfig lora = LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0.1).targetModules("all-linear")
                .trainableNorms(true).seed(seed)
                .modulesToSave(embed ? (type.equals("llama") ? List.of("embed_tokens", "lm_head") : List.of("embed_tokens")) : List.of())
                .build();
        LoadOptions options = LoadOptions.DEFAULT.withDtype(DType.BF16).withNf4(nf4, true).withLora(lora).withVocabChunk(40);
        CpuBackend cpuBackend = new CpuBackend();
        try (CudaBackend gpuBackend = CudaBackend.open(0, path, fusedLora);
             CausalLM cpu = CausalLM.load(dir, cpuBackend, options);
             CausalLM gpu = CausalLM.load(dir, gpuBackend, options)) {
            SplittableRandom r = new SplittableRandom(seed);
            var cpuPairs = cpu.lora().pairs();
            var gpuPairs = gpu.lora().pairs();
            for (int i = 0; i < cpuPairs.size(); i++) {
                Tensor b1 = cpuPairs.get(i).b(), b2 = gpuPairs.get(i).b();
                for (long j = 0; j < b1.numel(); j++) {
                    float v = (float) (0.05 * r.nextGaussian());
                    b1.setFloat(j, v);
                    b2.setFloat(j, v);
                }
            }
            gpuBackend.pushParameters();
            gpu.gradientCheckpointing(true);
            int vocab = cpu.config().vocabSize();
            int n = 70;
            int[] ids = new int[n], pos = new int[n];
            for (int t = 0; t < n; t++) {
                ids[t] = r.nextInt(vocab);
                pos[t] = t < 25 ? t : t - 25;
            }
            int[] labels = ids.clone();
            labels[25] = Backend.IGNORE_INDEX;
            labels[3] = Backend.IGNORE_INDEX;
            LossSum want = lossAndBackward(cpu, cpuBackend, ids, pos, labels);
            LossSum got = lossAndBackward(gpu, gpuBackend, ids, pos, labels);
            if (got.count() != want.count() || !(Math.abs(got.sum() - want.sum()) <= lossTol * Math.abs(want.sum()))) {
                throw new AssertionError(ctx + ": loss want " + want + " got " + got);
            }
            Map<String, float[]> wg = grads(cpu, cpuBackend), gg = grads(gpu, gpuBackend);
            for (var e : wg.entrySet()) {
                float[] w = e.getValue();
                double ss = 0;
                for (float v : w) ss += (double) v * v;
                GpuParity.assertClose(ctx + " grad " + e.getKey(), w, gg.get(e.getKey()), gradTol,
                        Math.max(1e-12, Math.sqrt(ss / w.length)));
            }
        }
    }

    private static LossSum lossAndBackward(CausalLM m, Backend backend, int[] ids, int[] pos, int[] labels) {
        m.zeroGradients();
        try (Tape tape = new Tape(backend)) {
            LossSum l = m.loss(ids, pos, labels, tape, 3);
            tape.backward((float) (1.0 / l.count()));
            return l;
        }
    }

    private static Map<String, float[]> grads(CausalLM m, Backend backend) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (Arena a = Arena.ofConfined()) {
            for (var e : m.gradients().entrySet()) {
                Tensor h = Tensor.allocate(DType.F32, e.getValue().shape(), a);
                backend.copy(e.getValue(), h);
                out.put(e.getKey(), h.toFloatArray());
            }
        }
        return out;
    }
}
