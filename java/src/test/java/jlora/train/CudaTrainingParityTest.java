package jlora.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import jlora.backend.cuda.CudaDevices;
import jlora.train.metrics.MetricNames;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * `jlora train` on the built-in tiny model for 50 steps, once with --device cpu (the reference)
 * and once with --device cuda, same seed (LoRA init, data order, dropout masks), gradient
 * checkpointing and LoRA dropout 0.05 on, AdamW with clipping at 1.0: LoRA on the fp32 tiny
 * model, QLoRA (NF4 + double quant of its bf16 weights), and QLoRA with paged 8-bit AdamW (which
 * runs on the host for CUDA training: the same optimizer code on both sides). The CUDA run computes in fp32 with
 * a different summation order (and the bf16 flash path is not used at head size 16), so the two
 * loss curves must agree at every step within |Δloss| ≤ 2e-2 · loss_cpu, the bound the issue
 * states for bf16 tolerance; the grad norms within 5e-2 relative. The CUDA run must log its
 * per-step peak device memory (positive, and at least the memory held at the end of the step).
 */
@Tag("gpu")
class CudaTrainingParityTest {
    private static final int STEPS = 50;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"lora", "qlora", "qlora-paged8bit"})
    void lossCurveTracksTheCpuRun(String method) {
        CudaDevices.Report report = CudaDevices.query();
        Assumptions.assumeTrue(report.status() == CudaDevices.Status.READY, () -> "no GPU: " + report.describe());
        long seed = new SplittableRandom().nextInt(1 << 30);
        List<String> common = new ArrayList<>(List.of("--training.max_steps", String.valueOf(STEPS),
                "--training.eval_strategy", "no", "--training.seed", String.valueOf(seed),
                "--training.gradient_checkpointing", "true", "--training.optimizer",
                method.endsWith("paged8bit") ? "paged_adamw_8bit" : "adamw",
                "--training.max_grad_norm", "1.0", "--lora.dropout", "0.05"));
        if (method.startsWith("qlora")) {
            common.addAll(List.of("--model.dtype", "bf16", "--quantization.mode", "nf4", "--quantization.double_quant", "true"));
        }
        JsonNode[] cpu = run(method + "-cpu", common, "cpu");
        JsonNode[] gpu = run(method + "-cuda", common, "cuda");
        String ctx = method + " seed=" + seed;
        StringBuilder table = new StringBuilder();
        double worst = 0;
        int worstStep = -1;
        for (int s = 0; s < STEPS; s++) {
            double lc = cpu[s].get(MetricNames.LOSS).asDouble(), lg = gpu[s].get(MetricNames.LOSS).asDouble();
            double rel = Math.abs(lg - lc) / Math.abs(lc);
            if (!(rel <= worst) || Double.isNaN(rel)) {
                worst = Double.isNaN(rel) ? Double.POSITIVE_INFINITY : rel;
                worstStep = s + 1;
            }
            table.append(String.format(Locale.ROOT, "%n  step %2d  cpu %.5f  cuda %.5f  rel %.2e", s + 1, lc, lg, rel));
        }
        System.out.println(ctx + " loss curves:" + table);
        if (!(worst <= 2e-2)) {
            throw new AssertionError(ctx + ": worst step " + worstStep + " |Δloss|/loss = " + worst + " > 2e-2" + table);
        }
        for (int s = 0; s < STEPS; s++) {
            double nc = cpu[s].get(MetricNames.GRAD_NORM).asDouble(), ng = gpu[s].get(MetricNames.GRAD_NORM).asDouble();
            if (!(Math.abs(ng - nc) <= 5e-2 * nc)) {
                throw new AssertionError(ctx + ": step " + (s + 1) + " grad norm cpu " + nc + " cuda " + ng);
            }
            JsonNode peak = gpu[s].get(MetricNames.DEVICE_PEAK_MEMORY), now = gpu[s].get(MetricNames.DEVICE_MEMORY);
            if (peak == null || now == null || !(peak.asDouble() > 0) || peak.asDouble() < now.asDouble()) {
                throw new AssertionError(ctx + ": step " + (s + 1) + " device memory metrics missing or inconsistent: " + gpu[s]);
            }
            if (cpu[s].has(MetricNames.DEVICE_PEAK_MEMORY)) throw new AssertionError("the CPU run logged device memory: " + cpu[s]);
        }
    }

    /** One run; the metrics.jsonl lines that carry train/loss, one per step. */
    private JsonNode[] run(String name, List<String> common, String device) {
        List<String> extra = new ArrayList<>(common);
        extra.addAll(List.of("--training.device", device));
        TrainConfig c = TrainFixtures.config(tmp, name, extra.toArray(String[]::new));
        TrainRun.execute(c, tmp.resolve(name), null, TrainerLoopTest.quiet(), TrainerHooks.NONE, false);
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        try {
            for (String l : Files.readAllLines(tmp.resolve(name).resolve("metrics.jsonl"))) {
                JsonNode n = json.readTree(l);
                if (n.has(MetricNames.LOSS)) lines.add(n);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (lines.size() != STEPS) throw new AssertionError(name + ": " + lines.size() + " loss lines, want " + STEPS);
        return lines.toArray(JsonNode[]::new);
    }
}
