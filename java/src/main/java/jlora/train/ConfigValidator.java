package jlora.train;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jlora.UserError;

/**
 * Rules that span keys or ranges the types cannot express. Each message names the key, where
 * it was set (file and line, or the command line), the value, and what to do.
 */
final class ConfigValidator {
    private final Map<String, String> origins;
    private final String stagePrefix;
    private final String stageLabel;

    private ConfigValidator(Map<String, String> origins, String stagePrefix, String stageLabel) {
        this.origins = origins;
        this.stagePrefix = stagePrefix;
        this.stageLabel = stageLabel;
    }

    static void validate(TrainConfig c, Map<String, String> origins) {
        new ConfigValidator(origins, "", "").check(c);
        Set<String> names = new HashSet<>();
        List<Stage> stages = c.stages();
        for (int i = 0; i < stages.size(); i++) {
            Stage s = stages.get(i);
            ConfigValidator v = new ConfigValidator(origins, "stages." + i + ".", "stage '" + s.name() + "': ");
            if (!names.add(s.name())) v.fail("name", "'" + s.name() + "' names two stages; give each stage its own name");
            if (s.name().isBlank() || s.name().contains("/")) v.fail("name", "must be a plain directory name");
            if (i == 0 && s.startFrom() != Stage.StartFrom.BASE) {
                v.fail("start_from", "is '" + ConfigSchema.enumName(s.startFrom())
                        + "' but the first stage has no previous stage; use 'base'");
            }
            v.check(c.stageConfig(s));
        }
    }

    private void check(TrainConfig c) {
        ModelSection m = c.model();
        if (m.maxSeqLength() <= 0) fail("model.max_seq_length", "is " + m.maxSeqLength() + "; it must be positive");

        QuantizationSection q = c.quantization();
        if (q.mode() == QuantizationSection.Mode.NF4) {
            int b = q.blockSize();
            // bitsandbytes' 4-bit kernels take power-of-two blocks from 64 to 4096.
            if (b < 64 || b > 4096 || Integer.bitCount(b) != 1) {
                fail("quantization.block_size", "is " + b
                        + "; NF4 needs a power of two from 64 to 4096 (64 is bitsandbytes' default)");
            }
            if (q.computeDtype() == ModelSection.Precision.AUTO) {
                fail("quantization.compute_dtype", "is auto; NF4 needs a concrete compute dtype: bf16, fp16 or fp32");
            }
        } else if (q.doubleQuant()) {
            fail("quantization.double_quant", "is true but quantization.mode is none; double quantization only "
                    + "applies to NF4: set quantization.mode nf4 or double_quant false");
        }

        LoraSection l = c.lora();
        if (l.r() <= 0) fail("lora.r", "is " + l.r() + "; the rank must be positive (8, 16, 64 are usual)");
        if (l.alpha() <= 0) fail("lora.alpha", "is " + l.alpha() + "; alpha must be positive (often r or 2r)");
        unitInterval("lora.dropout", l.dropout());
        if (l.targetModules().isEmpty()) {
            fail("lora.target_modules", "is empty; name the modules to adapt (q_proj, v_proj, ...) or all-linear");
        }
        if (l.targetModules().contains(LoraSection.ALL_LINEAR) && l.targetModules().size() > 1) {
            fail("lora.target_modules", "mixes all-linear with module names; use all-linear alone or list modules");
        }
        if (l.layersToTransform() != null) {
            if (l.layersToTransform().isEmpty()) fail("lora.layers_to_transform", "is empty; use null to adapt every layer");
            for (int layer : l.layersToTransform()) {
                if (layer < 0) fail("lora.layers_to_transform", "holds " + layer + "; layer indices start at 0");
            }
            if (new HashSet<>(l.layersToTransform()).size() != l.layersToTransform().size()) {
                fail("lora.layers_to_transform", "lists a layer twice");
            }
        }

        checkData(c.data());
        checkTraining(c.training(), c.data());

        OutputSection o = c.output();
        if (o.dir() == null || o.dir().isBlank()) fail("output.dir", "is empty; give the folder runs are written under");
        placeholders("output.run_name", o.runName());
        if (o.adapterDir() == null || o.adapterDir().isBlank()) fail("output.adapter_dir", "is empty; 'final' is usual");
        placeholders("output.adapter_dir", o.adapterDir());
        placeholders("output.merged_dir", o.mergedDir());
        insideRunDir("output.adapter_dir", o.adapterDir());
        insideRunDir("output.merged_dir", o.mergedDir());
        insideRunDir("output.run_name", o.runName());
    }

    private void checkData(DataSection d) {
        for (int i = 0; i < d.files().size(); i++) checkFile("data.files." + i, d.files().get(i));
        for (int i = 0; i < d.evalFiles().size(); i++) checkFile("data.eval_files." + i, d.evalFiles().get(i));
        unitInterval("data.eval_split", d.evalSplit());
        unitInterval("data.test_split", d.testSplit());
        if (d.evalSplit() + d.testSplit() >= 1) {
            fail("data.eval_split", "plus data.test_split is " + (d.evalSplit() + d.testSplit())
                    + ", leaving no training rows; keep their sum below 1 (0.1 each is usual)");
        }
        if (!d.files().isEmpty()) {
            for (String keep : d.dataFiles()) {
                boolean hit = d.files().stream().anyMatch(f -> matches(f.path(), keep));
                if (!hit) fail("data.data_files", "keeps '" + keep + "' but no file in data.files is named so; "
                        + "the files are " + d.files().stream().map(DataFile::path).toList());
            }
        }
    }

    private void checkFile(String path, DataFile f) {
        if (f.path() == null || f.path().isBlank()) fail(path + ".path", "is missing; every data file needs a path");
        if (!(f.weight() > 0)) fail(path + ".weight", "is " + f.weight() + "; weights must be positive (1.0 = every row once)");
    }

    static boolean matches(String path, String keep) {
        if (path == null) return false;
        String name = path.substring(path.lastIndexOf('/') + 1);
        return path.equals(keep) || name.equals(keep);
    }

    private void checkTraining(TrainingSection t, DataSection d) {
        if (t.epochs() == null && t.maxSteps() == null) {
            fail("training.epochs", "and training.max_steps are both unset; set one (e.g. --training.epochs 3)");
        }
        if (t.epochs() != null && t.epochs() <= 0) fail("training.epochs", "is " + t.epochs() + "; it must be positive");
        if (t.maxSteps() != null && t.maxSteps() <= 0) {
            fail("training.max_steps", "is " + t.maxSteps() + "; it must be positive, or null to train by epochs");
        }
        if (t.microBatchSize() <= 0) fail("training.micro_batch_size", "is " + t.microBatchSize() + "; it must be positive");
        if (t.gradientAccumulationSteps() <= 0) {
            fail("training.gradient_accumulation_steps", "is " + t.gradientAccumulationSteps() + "; it must be positive");
        }
        if (!(t.learningRate() > 0)) {
            fail("training.learning_rate", "is " + t.learningRate() + "; it must be positive (2e-4 is usual for LoRA)");
        }
        if (t.embeddingLearningRate() != null && !(t.embeddingLearningRate() > 0 && Double.isFinite(t.embeddingLearningRate()))) {
            fail("training.embedding_learning_rate", "is " + t.embeddingLearningRate()
                    + "; it must be positive (or null for training.learning_rate), e.g. 5e-5");
        }
        if (t.warmupSteps() != null && t.warmupRatio() != null) {
            fail("training.warmup_ratio", "and training.warmup_steps are both set; keep one (set the other to null)");
        }
        if (t.warmupSteps() != null && t.warmupSteps() < 0) {
            fail("training.warmup_steps", "is " + t.warmupSteps() + "; it must be 0 or more");
        }
        if (t.warmupRatio() != null) unitInterval("training.warmup_ratio", t.warmupRatio());
        if (t.weightDecay() < 0) fail("training.weight_decay", "is " + t.weightDecay() + "; it must be 0 or more");
        unitInterval("training.adam_beta1", t.adamBeta1());
        unitInterval("training.adam_beta2", t.adamBeta2());
        if (!(t.adamEpsilon() > 0)) fail("training.adam_epsilon", "is " + t.adamEpsilon() + "; it must be positive (1e-8)");
        if (t.maxGradNorm() < 0) fail("training.max_grad_norm", "is " + t.maxGradNorm() + "; use 0 to disable clipping");
        if (t.loggingSteps() <= 0) fail("training.logging_steps", "is " + t.loggingSteps() + "; it must be positive");
        if (t.nanGuardMaxConsecutive() <= 0) {
            fail("training.nan_guard_max_consecutive", "is " + t.nanGuardMaxConsecutive() + "; it must be positive");
        }
        if (t.evalSteps() != null && t.evalSteps() <= 0) {
            fail("training.eval_steps", "is " + t.evalSteps() + "; it must be positive");
        }
        if (t.saveStrategy() == TrainingSection.Strategy.STEPS && (t.saveSteps() == null || t.saveSteps() <= 0)) {
            fail("training.save_steps", "is " + t.saveSteps() + " but save_strategy is steps; give a positive step count");
        }
        if (t.saveTotalLimit() != null && t.saveTotalLimit() <= 0) {
            fail("training.save_total_limit", "is " + t.saveTotalLimit() + "; keep at least 1 checkpoint, or null to keep all");
        }
        boolean evalData = d.evalSplit() > 0 || !d.evalFiles().isEmpty();
        if (t.evalStrategy() != TrainingSection.Strategy.NO && !evalData) {
            fail("training.eval_strategy", "is " + ConfigSchema.enumName(t.evalStrategy()) + " but there is no eval data; "
                    + "set data.eval_split (e.g. 0.1) or data.eval_files, or eval_strategy no");
        }
        EarlyStopping e = t.earlyStopping();
        if (e.enabled()) {
            if (t.evalStrategy() == TrainingSection.Strategy.NO) {
                fail("training.early_stopping.enabled", "is true but training.eval_strategy is no; early stopping "
                        + "watches evaluations: set eval_strategy steps or epoch");
            }
            if (!List.of("eval_loss", "eval_perplexity").contains(e.metric())) {
                fail("training.early_stopping.metric", "is '" + e.metric() + "'; use eval_loss or eval_perplexity");
            }
            if (e.patience() <= 0) fail("training.early_stopping.patience", "is " + e.patience() + "; it must be 1 or more");
            if (e.threshold() < 0) fail("training.early_stopping.threshold", "is " + e.threshold() + "; it must be 0 or more");
        }
    }

    private void unitInterval(String path, double v) {
        if (!(v >= 0 && v < 1)) fail(path, "is " + v + "; it must be in [0, 1)");
    }

    /** A run writes only under its run dir, so deleting the run dir removes all of it. */
    private void insideRunDir(String path, String v) {
        if (v == null) return;
        String norm = v.replace('\\', '/');
        boolean escapes = norm.startsWith("/") || norm.matches("^[A-Za-z]:(/.*)?$")
                || java.util.Arrays.asList(norm.split("/")).contains("..");
        if (escapes) fail(path, "is '" + v + "'; it must be a relative path inside the run dir, without '..'");
    }

    private void placeholders(String path, String v) {
        if (v == null) return;
        String rest = v;
        for (String p : OutputSection.PLACEHOLDERS) rest = rest.replace(p, "");
        int open = rest.indexOf('{');
        if (open >= 0 || rest.contains("}")) {
            fail(path, "is '" + v + "' with an unknown placeholder; the known ones are "
                    + String.join(", ", OutputSection.PLACEHOLDERS));
        }
    }

    /** Where a key was set; for a key left out, where its enclosing mapping was (a data file's line). */
    private String origin(String path) {
        for (String p = path; !p.isEmpty(); p = p.contains(".") ? p.substring(0, p.lastIndexOf('.')) : "") {
            String at = origins.get(p);
            if (at != null) return at;
        }
        return null;
    }

    private void fail(String path, String message) {
        String full = stagePrefix + path;
        String at = origin(full);
        // A stage's value may come from the top-level key it inherits.
        if (at == null && !stagePrefix.isEmpty()) at = origin(path);
        String where = at != null ? at + ": " : "";
        throw new UserError(where + stageLabel + full + " " + message);
    }
}
