package jlora.train;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jlora.UserError;
import jlora.autograd.Tape;
import jlora.backend.Backend;
import jlora.backend.LossSum;
import jlora.data.Batch;
import jlora.io.PeftAdapter;
import jlora.io.SafetensorsFile;
import jlora.nn.CausalLM;
import jlora.nn.LoraWeights;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import jlora.train.metrics.MetricNames;
import jlora.train.metrics.JsonlMetrics;
import jlora.train.metrics.MetricsSinks;
import jlora.train.metrics.ProgressBar;

/**
 * One training stage: the loop of issue 4 over a loaded {@link CausalLM} with a LoRA adapter.
 *
 * <p>A step takes {@code gradient_accumulation_steps} micro-batches from the cursor (fewer at the
 * end of an epoch), counts the trained tokens N of all of them, and back-propagates each
 * micro-batch's summed cross-entropy scaled by 1/N, so the gradient is that of the mean over
 * the whole accumulated batch (DESIGN.md, Numerics). Then: the non-finite guard (loss or global
 * gradient norm NaN/Inf skips the update), global-norm clipping, AdamW at the scheduled lr.
 * Eval, early stopping and checkpoints follow on their strategies; everything a later step
 * depends on is in the checkpoint, so a resumed run continues bit for bit.
 */
public final class Trainer {
    /** The outcome of a stage. */
    public record Result(Path runDir, Path adapterDir, long steps, double firstLoss, double lastLoss, double firstEval,
                         double lastEval, boolean earlyStopped, boolean interrupted) {}

    private final TrainConfig config;
    private final RunSetup setup;
    private final Path runDir;
    private final PrintStream out;
    private final TrainerHooks hooks;

    public Trainer(TrainConfig config, RunSetup setup, Path runDir, PrintStream out, TrainerHooks hooks) {
        this.config = config;
        this.setup = setup;
        this.runDir = runDir;
        this.out = out;
        this.hooks = hooks;
    }

    /**
     * Runs the stage to its end.
     *
     * @param data the stage's batches
     * @param resume a checkpoint directory to continue from, or null
     * @param initAdapter a PEFT adapter whose tensors start the LoRA weights (stage chaining), or null
     */
    public Result run(TrainData data, Path resume, Path initAdapter) {
        TrainingSection t = config.training();
        int nBatches = data.train().size();
        int accum = t.gradientAccumulationSteps();
        long stepsPerEpoch = (nBatches + accum - 1) / accum;
        long total = t.maxSteps() != null ? t.maxSteps() : (long) t.epochs() * stepsPerEpoch;
        long warmup = Schedule.warmupSteps(total, t.warmupSteps() == null ? 0 : t.warmupSteps(),
                t.warmupRatio() == null ? 0 : t.warmupRatio());
        Schedule schedule = Schedule.of(Schedule.Type.valueOf(t.lrScheduler().name()), total, warmup,
                Schedule.Type.valueOf(t.lrScheduler().name()).defaultCycles());
        AdamHyperparameters hp = new AdamHyperparameters(t.adamBeta1(), t.adamBeta2(), t.adamEpsilon(), t.weightDecay());
        OptimizerName optName = OptimizerName.byName(t.optimizer().name().toLowerCase(Locale.ROOT));

        try (TrainDevice device = TrainDevice.open(t.device());
             CausalLM model = CausalLM.load(setup.modelDir(), device.backend(),
                     RunSetup.loadOptions(config, !device.name().equals("cpu")))) {
            if (!device.name().equals("cpu")) out.println("training on " + device.name());
            model.gradientCheckpointing(t.gradientCheckpointing());
            List<Param> params = new ArrayList<>();
            Double embLr = t.embeddingLearningRate();
            for (var e : model.lora().named().entrySet()) {
                String name = e.getKey();
                // HF's get_decay_parameter_names exempts norm weights and biases; LoRA A/B and embeddings decay.
                boolean table = name.equals(LoraWeights.EMBED_WEIGHT) || name.equals(LoraWeights.LM_HEAD_WEIGHT);
                double lrScale = table && embLr != null ? embLr / t.learningRate() : 1.0;
                params.add(new Param(name, e.getValue(), model.gradients().get(name), !name.contains("norm"), lrScale));
            }
            if (initAdapter != null) {
                copyAdapter(initAdapter, model);
                device.pushParameters();
            }
            TrainerState state = TrainerState.fresh(t.seed());
            try (Optimizer opt = device.optimizer(optName, params, hp)) {
                if (resume != null) {
                    copyAdapter(resume, model);
                    device.pushParameters();
                    OptimizerCheckpoint.read(resume.resolve(OPTIMIZER_FILE), opt);
                    state = TrainerState.read(resume);
                    out.println("resumed from " + resume + " at step " + state.step());
                }
                try (MetricsSinks sinks = sinks(total, state.step(), t.loggingSteps())) {
                    return new Loop(device, model, opt, params, schedule, sinks, data, total, state).run();
                }
            }
        }
    }

    static final String OPTIMIZER_FILE = "optimizer.safetensors";

    /**
     * metrics.jsonl, TensorBoard events unless output.tensorboard is off, and the progress bar;
     * as {@link MetricsSinks#forRun}, a fresh run (start 0) starts both files from empty and a
     * resumed one drops what was logged after its checkpoint.
     */
    private MetricsSinks sinks(long total, long start, long every) {
        if (config.output().tensorboard()) return MetricsSinks.forRun(runDir, total, start, every);
        long keepThrough = start > 0 ? start : -1;
        return new MetricsSinks(List.of(JsonlMetrics.resume(runDir, keepThrough), ProgressBar.forStdout(total, start, every)),
                System.err::println);
    }

    /** The mutable part of one run of the loop. */
    private final class Loop {
        final TrainDevice device;
        final Backend backend;
        final CausalLM model;
        final Optimizer opt;
        final List<Param> params;
        final Schedule schedule;
        final MetricsSinks sinks;
        final TrainData data;
        final long total;
        TrainerState s;
        int[] order;
        int orderEpoch = -1;
        long windowStart = System.nanoTime();
        double firstLoss = Double.NaN, lastLoss = Double.NaN, firstEval = Double.NaN, lastEval = Double.NaN;
        long lastEvalStep = -1;

        Loop(TrainDevice device, CausalLM model, Optimizer opt, List<Param> params, Schedule schedule, MetricsSinks sinks,
             TrainData data, long total, TrainerState s) {
            this.device = device;
            this.backend = device.backend();
            this.model = model;
            this.opt = opt;
            this.params = params;
            this.schedule = schedule;
            this.sinks = sinks;
            this.data = data;
            this.total = total;
            this.s = s;
        }

        Result run() {
            TrainingSection t = config.training();
            boolean evalOn = t.evalStrategy() != TrainingSection.Strategy.NO && !data.eval().isEmpty();
            if (evalOn && s.step() == 0) evaluate(); // the starting point of the eval curve
            boolean stopped = false;
            int nBatches = data.train().size();
            while (s.step() < total && !stopped) {
                if (s.position() >= nBatches) s = with(s.step(), s.epoch() + 1, 0);
                if (orderEpoch != s.epoch()) {
                    order = DataOrder.of(nBatches, s.seed(), s.epoch(), config.data().shuffle());
                    orderEpoch = s.epoch();
                }
                List<Batch> micro = new ArrayList<>();
                int pos = s.position();
                while (micro.size() < t.gradientAccumulationSteps() && pos < nBatches) micro.add(data.train().get(order[pos++]));
                step(micro, pos);
                boolean epochEnd = s.position() >= nBatches;
                long step = s.step();
                boolean last = step >= total;
                if (evalOn && (t.evalStrategy() == TrainingSection.Strategy.STEPS ? step % t.resolvedEvalSteps() == 0 : epochEnd)) {
                    stopped = evaluateAndWatch();
                }
                boolean save = switch (t.saveStrategy()) {
                    case NO -> false;
                    case STEPS -> t.saveSteps() != null && step % t.saveSteps() == 0;
                    case EPOCH -> epochEnd;
                };
                if (save && !last) {
                    saveCheckpoint(step);
                    if (hooks.stopAfterCheckpoint(step)) {
                        return new Result(runDir, null, step, firstLoss, lastLoss, firstEval, lastEval, false, true);
                    }
                }
            }
            if (evalOn && lastEvalStep != s.step()) evaluate();
            boolean restore = t.earlyStopping().enabled() && t.earlyStopping().restoreBest() && s.bestStep() >= 0
                    && s.bestStep() != s.step();
            if (restore) {
                copyAdapter(bestDir(s.bestStep()), model);
                device.pushParameters();
                out.println("restored the adapter of the best eval (step " + s.bestStep() + ", "
                        + t.earlyStopping().metric() + " " + fmt(s.bestMetric()) + ")");
            }
            if (stopped) out.println("early stopping at step " + s.step() + ": " + t.earlyStopping().metric()
                    + " did not improve by more than " + t.earlyStopping().threshold() + " for "
                    + t.earlyStopping().patience() + " evaluation(s)");
            Path adapterDir = saveFinal();
            return new Result(runDir, adapterDir, s.step(), firstLoss, lastLoss, firstEval, lastEval, stopped, false);
        }

        /** One optimizer step over {@code micro}; {@code endPos} is the cursor after it. */
        void step(List<Batch> micro, int endPos) {
            long step = s.step();
            TrainingSection t = config.training();
            long n = 0, tokens = 0;
            for (Batch b : micro) {
                n += b.trainedTokens();
                tokens += b.ids().length;
            }
            double sum = 0;
            model.zeroGradients();
            if (n > 0) {
                float scale = (float) (1.0 / n);
                for (int k = 0; k < micro.size(); k++) {
                    Batch b = micro.get(k);
                    try (Tape tape = new Tape(backend)) {
                        LossSum l = model.loss(b.ids(), b.positions(), b.labels(), tape,
                                step * t.gradientAccumulationSteps() + k);
                        tape.backward(scale);
                        sum += l.sum();
                    }
                }
            }
            hooks.afterBackward(step, model.lora().named(), model.gradients());
            double loss = n > 0 ? sum / n : Double.NaN;
            double norm = device.gradNorm(opt, params, t.maxGradNorm());
            double lr = schedule.lr(config.training().learningRate(), step);
            int nonFinite = s.nonFiniteInARow();
            boolean finite = Double.isFinite(loss) && Double.isFinite(norm);
            if (!finite) {
                nonFinite++;
                String what = n == 0 ? "no trained token in the batch" : "loss " + loss + ", gradient norm " + norm;
                out.println("step " + (step + 1) + ": non-finite (" + what + "); update skipped (" + nonFinite + " in a row)");
                sinks.text(step + 1, "nan_guard", "skipped step: " + what);
                if (nonFinite >= t.nanGuardMaxConsecutive()) {
                    throw new UserError("stopped: " + nonFinite + " steps in a row had a non-finite loss or gradient (last at step "
                            + (step + 1) + "; training.nan_guard_max_consecutive " + t.nanGuardMaxConsecutive()
                            + "); lower training.learning_rate or check the data; the last checkpoint is intact");
                }
            } else {
                nonFinite = 0;
                if (t.maxGradNorm() > 0) device.clip(opt, params, t.maxGradNorm());
                opt.step(lr);
            }
            double wLoss = s.windowLoss(), wTokens = s.windowTokens();
            int wSteps = s.windowSteps();
            if (finite) {
                wLoss += loss;
                wSteps++;
            }
            wTokens += tokens;
            long done = step + 1;
            s = new TrainerState(done, s.epoch(), endPos, s.seed(), nonFinite, wLoss, wSteps, (long) wTokens,
                    s.bestMetric(), s.bestStep(), s.badEvals());
            if (done % t.loggingSteps() == 0 || done == total) {
                long now = System.nanoTime();
                Map<String, Double> m = new LinkedHashMap<>();
                if (wSteps > 0) m.put(MetricNames.LOSS, wLoss / wSteps);
                m.put(MetricNames.LR, lr);
                m.put(MetricNames.EPOCH, s.epoch() + (double) s.position() / data.train().size());
                if (Double.isFinite(norm)) m.put(MetricNames.GRAD_NORM, norm);
                m.put(MetricNames.TOKENS_PER_SEC, wTokens / Math.max(1e-9, (now - windowStart) / 1e9));
                m.putAll(device.memoryMetrics());
                sinks.log(done, m);
                if (wSteps > 0) {
                    if (Double.isNaN(firstLoss)) firstLoss = wLoss / wSteps;
                    lastLoss = wLoss / wSteps;
                }
                windowStart = now;
                s = new TrainerState(done, s.epoch(), s.position(), s.seed(), nonFinite, 0, 0, 0, s.bestMetric(),
                        s.bestStep(), s.badEvals());
            }
        }

        double evaluate() {
            long n = 0;
            double sum = 0;
            for (Batch b : data.eval()) {
                try (Tape tape = new Tape(backend)) {
                    LossSum l = model.loss(b.ids(), b.positions(), b.labels(), tape, 0, false);
                    sum += l.sum();
                    n += l.count();
                }
            }
            double loss = sum / n;
            sinks.log(s.step(), Map.of(MetricNames.EVAL_LOSS, loss));
            if (Double.isNaN(firstEval)) firstEval = loss;
            lastEval = loss;
            lastEvalStep = s.step();
            return loss;
        }

        /** Eval, then the early-stopping rule of transformers' EarlyStoppingCallback; true means stop. */
        boolean evaluateAndWatch() {
            double loss = evaluate();
            EarlyStopping es = config.training().earlyStopping();
            if (!es.enabled()) return false;
            double metric = es.metric().equals("eval_perplexity") ? Math.exp(loss) : loss;
            boolean better = Double.isNaN(s.bestMetric())
                    || (metric < s.bestMetric() && Math.abs(metric - s.bestMetric()) > es.threshold());
            if (better) {
                s = new TrainerState(s.step(), s.epoch(), s.position(), s.seed(), s.nonFiniteInARow(), s.windowLoss(),
                        s.windowSteps(), s.windowTokens(), metric, s.step(), 0);
                if (es.restoreBest()) {
                    Path best = bestDir(s.step());
                    Checkpoints.deleteTree(best);
                    device.pullParameters();
                    PeftAdapter.save(best, model.lora(), setup.modelName(), null, DType.F32);
                }
                return false;
            }
            s = new TrainerState(s.step(), s.epoch(), s.position(), s.seed(), s.nonFiniteInARow(), s.windowLoss(),
                    s.windowSteps(), s.windowTokens(), s.bestMetric(), s.bestStep(), s.badEvals() + 1);
            return s.badEvals() >= es.patience();
        }

        void saveCheckpoint(long step) {
            TrainerState snapshot = s;
            dropOlderBests(snapshot.bestStep());
            device.pullParameters();
            Checkpoints.write(runDir, step, config.training().saveTotalLimit(), dir -> {
                PeftAdapter.save(dir, model.lora(), setup.modelName(), null, DType.F32);
                OptimizerCheckpoint.write(dir.resolve(OPTIMIZER_FILE), opt);
                snapshot.write(dir);
            });
        }

        Path saveFinal() {
            Path dir = runDir.resolve(config.output().adapterDir());
            device.pullParameters();
            PeftAdapter.save(dir, model.lora(), setup.modelName(), null, DType.F32);
            TokenizerFiles.copy(setup.tokenizerDir(), dir);
            return dir;
        }

        TrainerState with(long step, int epoch, int position) {
            return new TrainerState(step, epoch, position, s.seed(), s.nonFiniteInARow(), s.windowLoss(), s.windowSteps(),
                    s.windowTokens(), s.bestMetric(), s.bestStep(), s.badEvals());
        }
    }

    /**
     * The adapter of the best eval so far, kept per step: a resumed run's state may name an older
     * best than the newest one written before a crash, so the older stays until a checkpoint
     * that no longer needs it is written.
     */
    Path bestDir(long step) {
        return runDir.resolve("best").resolve("step-" + step);
    }

    private void dropOlderBests(long keep) {
        Path dir = runDir.resolve("best");
        if (!Files.isDirectory(dir)) return;
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) if (!p.equals(bestDir(keep))) Checkpoints.deleteTree(p);
        } catch (java.io.IOException e) {
            throw new UserError("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Copies an adapter's tensors (a checkpoint or a previous stage's final adapter) into the
     * live LoRA masters, bit for bit. The model keeps its own LoRA config (and so its dropout
     * seed); the shapes must agree.
     */
    static void copyAdapter(Path dir, CausalLM model) {
        Path file = dir.resolve(PeftAdapter.WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) throw new UserError(file + ": missing; not an adapter or checkpoint directory");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (var e : model.lora().named().entrySet()) {
                String name = PeftAdapter.PREFIX + e.getKey();
                Tensor dst = e.getValue();
                if (!f.contains(name)) {
                    throw new UserError(file + ": has no tensor " + name + "; the adapter was trained with other lora settings"
                            + " (target_modules, layers) than this run's");
                }
                Tensor src = f.tensor(name);
                if (src.dtype() != DType.F32 || !src.shape().equals(dst.shape())) {
                    throw new UserError(file + ": " + name + " is " + src.dtype() + " " + src.shape() + ", this run needs F32 "
                            + dst.shape() + "; keep lora.r and target_modules as they were");
                }
                MemorySegment.copy(src.data(), 0, dst.data(), 0, dst.data().byteSize());
            }
        }
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
