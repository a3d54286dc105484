package jlora.train;

import java.util.Map;

/**
 * "did you mean" for unknown keys: first the names TRL / PEFT / bitsandbytes users type from
 * habit, then the key of the same name in another section, then the nearest key at the same
 * level by edit distance.
 */
final class KeySuggestion {
    /** Peer names (TRL SFTConfig, PEFT LoraConfig, BitsAndBytesConfig, Unsloth) to our paths. */
    private static final Map<String, String> PEER_NAMES = Map.ofEntries(
            Map.entry("rank", "lora.r"), Map.entry("lora_r", "lora.r"), Map.entry("lora_rank", "lora.r"),
            Map.entry("lora_alpha", "lora.alpha"), Map.entry("lora_dropout", "lora.dropout"),
            Map.entry("random_state", "lora.init_seed"),
            Map.entry("num_train_epochs", "training.epochs"), Map.entry("num_epochs", "training.epochs"),
            Map.entry("per_device_train_batch_size", "training.micro_batch_size"),
            Map.entry("batch_size", "training.micro_batch_size"),
            Map.entry("lr", "training.learning_rate"), Map.entry("lr_scheduler_type", "training.lr_scheduler"),
            Map.entry("optim", "training.optimizer"), Map.entry("max_length", "model.max_seq_length"),
            Map.entry("save_strategy", "training.save_strategy"), Map.entry("eval_strategy", "training.eval_strategy"),
            Map.entry("evaluation_strategy", "training.eval_strategy"),
            Map.entry("output_dir", "output.dir"), Map.entry("report_to", "output.tensorboard"),
            Map.entry("load_in_4bit", "quantization.mode"), Map.entry("bnb_4bit_quant_type", "quantization.mode"),
            Map.entry("bnb_4bit_use_double_quant", "quantization.double_quant"),
            Map.entry("bnb_4bit_compute_dtype", "quantization.compute_dtype"),
            Map.entry("torch_dtype", "model.dtype"), Map.entry("model_name", "model.path"),
            Map.entry("base_model", "model.path"), Map.entry("dataset_path", "data.files"),
            Map.entry("assistant_only_loss", "data.loss_on"), Map.entry("completion_only_loss", "data.loss_on"),
            Map.entry("use_gradient_checkpointing", "training.gradient_checkpointing"),
            Map.entry("warmup", "training.warmup_steps"), Map.entry("max_seq_len", "model.max_seq_length"));

    private KeySuggestion() {
    }

    /**
     * The full path to suggest for {@code key} found in a mapping of type {@code where} at
     * {@code prefix} (e.g. prefix "lora", key "rank"), or null if nothing is close.
     */
    static String suggest(Class<?> where, String prefix, String key) {
        // Inside a stage the sections sit under "stages.N."; suggestions keep that prefix.
        var stage = java.util.regex.Pattern.compile("^stages\\.\\d+").matcher(prefix);
        String stagePrefix = stage.find() ? stage.group() + "." : "";
        String peer = PEER_NAMES.get(key);
        if (peer != null) return stagePrefix + peer;
        String dotted = prefix.isEmpty() ? key : prefix + "." + key;
        for (String path : ConfigSchema.leafPaths(TrainConfig.class, "")) {
            if (path.endsWith("." + key) && !(stagePrefix + path).equals(dotted)) return stagePrefix + path;
        }
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : ConfigSchema.keys(where)) {
            int d = distance(key, k);
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        // A suggestion that shares almost nothing with what was typed misleads more than it helps.
        if (best == null || bestDistance >= Math.max(key.length(), 2)) return null;
        return prefix.isEmpty() ? best : prefix + "." + best;
    }

    /** Levenshtein distance with unit costs. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** The message tail: "; did you mean 'x'?" or the list of valid keys. */
    static String hint(Class<?> where, String prefix, String key) {
        String s = suggest(where, prefix, key);
        if (s != null) return "; did you mean '" + s + "'?";
        return "; valid keys" + (prefix.isEmpty() ? "" : " under '" + prefix + "'") + ": "
                + String.join(", ", ConfigSchema.keys(where));
    }
}
