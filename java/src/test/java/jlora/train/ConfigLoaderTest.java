package jlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import jlora.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layer precedence (defaults, recipe, user YAML, command line) and the error messages a person
 * sees. Expected messages are written out in full here: the file, the line (counted by hand in
 * the YAML below), the key path and the suggestion.
 */
class ConfigLoaderTest {
    @TempDir
    Path dir;

    private Path yaml(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private static String error(Runnable r) {
        return assertThrows(UserError.class, r::run).getMessage();
    }

    @Test
    void laterLayersWinKeyByKey() throws IOException {
        // recipe: r 64, alpha 128, dropout 0.05, epochs 3, lr 2e-4, seq 4096.
        Path user = yaml("config.yaml", """
                lora:
                  r: 32
                training:
                  learning_rate: 1e-4
                """);
        TrainConfig c = TrainConfig.resolve("qwen2.5-14b-ko-chat", user, List.of("--lora.r", "16"));
        assertEquals(16, c.lora().r(), "command line beats user YAML");
        assertEquals(1e-4, c.training().learningRate(), "user YAML beats recipe");
        assertEquals(128, c.lora().alpha(), "recipe key kept when the user YAML's lora section lacks it");
        assertEquals(0.05, c.lora().dropout());
        assertEquals(4096, c.model().maxSeqLength());
        assertEquals(0.999, c.training().adamBeta2(), "default kept when no layer sets it");

        TrainConfig noCli = TrainConfig.resolve("qwen2.5-14b-ko-chat", user, List.of());
        assertEquals(32, noCli.lora().r());
        TrainConfig recipeOnly = TrainConfig.resolve("qwen2.5-14b-ko-chat", null, null);
        assertEquals(64, recipeOnly.lora().r());
        assertEquals(2e-4, recipeOnly.training().learningRate());
    }

    @Test
    void nestedSectionsMergeAndListsReplace() throws IOException {
        Path user = yaml("c.yaml", """
                training:
                  early_stopping:
                    patience: 5
                lora:
                  target_modules: [q_proj]
                """);
        TrainConfig c = TrainConfig.resolve("qwen2.5-1.5b-tool-calling", user, List.of());
        assertEquals(5, c.training().earlyStopping().patience());
        assertTrue(c.training().earlyStopping().enabled(), "sibling key from the recipe survives");
        assertEquals(List.of("q_proj"), c.lora().targetModules(), "a list replaces, it does not append");
    }

    @Test
    void commandLineValuesAreTypedBySchema() {
        TrainConfig c = TrainConfig.resolve(null, null, List.of(
                "--training.learning_rate", "2e-4", "--lora.target_modules", "q_proj,v_proj,o_proj",
                "--data.packing", "--training.max_steps=30", "--training.epochs", "null",
                "--data.files", "a.jsonl,b.jsonl", "--lora.dropout", ".1", "--model.dtype", "BF16",
                "--training.lr_scheduler", "constant-with-warmup", "--output.tensorboard", "false"));
        assertEquals(2e-4, c.training().learningRate());
        assertEquals(List.of("q_proj", "v_proj", "o_proj"), c.lora().targetModules());
        assertTrue(c.data().packing(), "a bare boolean flag means true");
        assertEquals(30, c.training().maxSteps());
        assertNull(c.training().epochs());
        assertEquals(List.of(DataFile.of("a.jsonl"), DataFile.of("b.jsonl")), c.data().files());
        assertEquals(0.1, c.lora().dropout());
        assertEquals(ModelSection.Precision.BF16, c.model().dtype());
        assertEquals(TrainingSection.Scheduler.CONSTANT_WITH_WARMUP, c.training().lrScheduler());
        assertFalse(c.output().tensorboard());
    }

    @Test
    void yamlScalarsAreTypedBySchema() {
        TrainConfig c = ConfigLoader.fromYaml("""
                training:
                  learning_rate: 2e-4
                  adam_epsilon: 1E-6
                  save_strategy: no
                  epochs: 4_0
                lora:
                  target_modules: all-linear
                data:
                  files:
                    - a.jsonl
                    - {path: b.csv, weight: 2, format: csv, fields: {user: ko, assistant: en}}
                output:
                  run_name: 123
                """, "t.yaml");
        assertEquals(2e-4, c.training().learningRate(), "YAML 1.1 alone reads 2e-4 as a string");
        assertEquals(1e-6, c.training().adamEpsilon());
        assertEquals(TrainingSection.Strategy.NO, c.training().saveStrategy(), "YAML 1.1 alone reads no as false");
        assertEquals(40, c.training().epochs());
        assertEquals(List.of("all-linear"), c.lora().targetModules());
        assertEquals(DataFile.of("a.jsonl"), c.data().files().get(0));
        DataFile b = c.data().files().get(1);
        assertEquals(2.0, b.weight());
        assertEquals(DataFile.Format.CSV, b.format());
        assertEquals("en", b.fields().get("assistant"));
        assertEquals("123", c.output().runName());
    }

    @Test
    void unknownKeyNamesFileLineAndClosestKey() throws IOException {
        Path p = yaml("config.yaml", """
                # my run
                model:
                  max_seq_length: 2048
                training:
                  epochs: 2
                lora:
                  rank: 64
                """);
        assertEquals(p + " line 7: unknown key 'lora.rank'; did you mean 'lora.r'?",
                error(() -> TrainConfig.resolve(null, p, List.of())));

        Path typo = yaml("typo.yaml", "lora:\n  alpah: 32\n");
        assertEquals(typo + " line 2: unknown key 'lora.alpah'; did you mean 'lora.alpha'?",
                error(() -> TrainConfig.resolve(null, typo, List.of())));

        Path wrongSection = yaml("ws.yaml", "training:\n  max_seq_length: 512\n");
        assertEquals(wrongSection + " line 2: unknown key 'training.max_seq_length'; did you mean 'model.max_seq_length'?",
                error(() -> TrainConfig.resolve(null, wrongSection, List.of())));

        Path top = yaml("top.yaml", "traning:\n  epochs: 1\n");
        assertEquals(top + " line 1: unknown key 'traning'; did you mean 'training'?",
                error(() -> TrainConfig.resolve(null, top, List.of())));

        Path far = yaml("far.yaml", "lora:\n  zzzzzzzzzzzz: 1\n");
        String msg = error(() -> TrainConfig.resolve(null, far, List.of()));
        assertTrue(msg.startsWith(far + " line 2: unknown key 'lora.zzzzzzzzzzzz'; valid keys under 'lora': r, alpha"), msg);

        assertEquals("command line: unknown key 'lora.rnk'; did you mean 'lora.r'?",
                error(() -> TrainConfig.resolve(null, null, List.of("--lora.rnk", "8"))));
        assertEquals("command line: unknown key 'training.num_train_epochs'; did you mean 'training.epochs'?",
                error(() -> TrainConfig.resolve(null, null, List.of("--training.num_train_epochs", "8"))));
    }

    @Test
    void unknownKeysInsideStagesAndDataFiles() throws IOException {
        Path p = yaml("s.yaml", """
                stages:
                  - name: one
                  - name: two
                    lora:
                      dropuot: 0.1
                data:
                  files:
                    - path: a.jsonl
                      wieght: 2
                """);
        assertEquals(p + " line 5: unknown key 'stages.1.lora.dropuot'; did you mean 'stages.1.lora.dropout'?",
                error(() -> TrainConfig.resolve(null, p, List.of())));
        Path q = yaml("q.yaml", "stages:\n  - name: one\n    r: 8\n");
        assertEquals(q + " line 3: unknown key 'stages.0.r'; did you mean 'stages.0.lora.r'?",
                error(() -> TrainConfig.resolve(null, q, List.of())));
        Path d = yaml("dup.yaml", "lora:\n  r: 8\n  alpha: 16\n  r: 16\n");
        assertEquals(d + " line 4: key 'lora.r' appears twice in this mapping; keep one",
                error(() -> TrainConfig.resolve(null, d, List.of())));
        Path f = yaml("f.yaml", "data:\n  files:\n    - path: a.jsonl\n      wieght: 2\n");
        assertEquals(f + " line 4: unknown key 'data.files.0.wieght'; did you mean 'data.files.0.weight'?",
                error(() -> TrainConfig.resolve(null, f, List.of())));
    }

    @Test
    void wrongTypesSayWhatWasExpected() throws IOException {
        Path p = yaml("config.yaml", "lora:\n  r: sixty\n");
        assertEquals(p + " line 2: 'lora.r' expected a whole number, got 'sixty'",
                error(() -> TrainConfig.resolve(null, p, List.of())));
        Path lr = yaml("lr.yaml", "training:\n  epochs: 1\n  learning_rate: fast\n");
        assertEquals(lr + " line 3: 'training.learning_rate' expected a number (like 0.05 or 2e-4), got 'fast'",
                error(() -> TrainConfig.resolve(null, lr, List.of())));
        Path en = yaml("en.yaml", "training:\n  optimizer: sgd\n");
        assertEquals(en + " line 2: 'training.optimizer' expected one of adamw, adamw_8bit, paged_adamw_8bit, "
                + "paged_adamw_32bit, got 'sgd'", error(() -> TrainConfig.resolve(null, en, List.of())));
        Path sec = yaml("sec.yaml", "lora: 16\n");
        assertTrue(error(() -> TrainConfig.resolve(null, sec, List.of()))
                .startsWith(sec + " line 1: 'lora' expected a mapping with keys r, alpha,"));
        Path nul = yaml("nul.yaml", "lora:\n  r:\n");
        assertEquals(nul + " line 2: 'lora.r' needs a value: a whole number",
                error(() -> TrainConfig.resolve(null, nul, List.of())));
        Path nan = yaml("nan.yaml", "lora:\n  dropout: .nan\n");
        assertTrue(error(() -> TrainConfig.resolve(null, nan, List.of())).startsWith(nan + " line 2: 'lora.dropout' expected a number"));
        Path bad = yaml("bad.yaml", "lora:\n  r: 8\n   alpha: 3\n");
        assertTrue(error(() -> TrainConfig.resolve(null, bad, List.of())).startsWith(bad + " line 3: not valid YAML"));

        assertEquals("command line: --training.micro_batch_size expected a whole number, got '4.5'",
                error(() -> TrainConfig.resolve(null, null, List.of("--training.micro_batch_size", "4.5"))));
        assertEquals("command line: --data.packing expected true or false, got 'maybe'",
                error(() -> TrainConfig.resolve(null, null, List.of("--data.packing", "maybe"))));
        assertEquals("command line: --quantization.mode expected one of none, nf4, got 'null'",
                error(() -> TrainConfig.resolve(null, null, List.of("--quantization.mode", "null"))));
        Path nulMode = yaml("nm.yaml", "training:\n  optimizer: ~\n");
        assertEquals(nulMode + " line 2: 'training.optimizer' needs a value: one of adamw, adamw_8bit, paged_adamw_8bit, "
                + "paged_adamw_32bit", error(() -> TrainConfig.resolve(null, nulMode, List.of())));
        assertEquals("command line: --lora.r needs a value: a whole number",
                error(() -> TrainConfig.resolve(null, null, List.of("--lora.r"))));
        assertEquals("command line: --lora.r needs a value: a whole number",
                error(() -> TrainConfig.resolve(null, null, List.of("--lora.r", "--lora.alpha", "16"))));
        assertEquals("command line: expected an option like '--lora.r 64', got 'lora.r'",
                error(() -> TrainConfig.resolve(null, null, List.of("lora.r", "8"))));
    }

    @Test
    void crossFieldRulesNameTheKeyAndWhereItWasSet() throws IOException {
        Path p = yaml("config.yaml", "training:\n  warmup_ratio: 1.5\n");
        assertEquals(p + " line 2: training.warmup_ratio is 1.5; it must be in [0, 1)",
                error(() -> TrainConfig.resolve(null, p, List.of())));
        assertEquals("command line --training.epochs: training.epochs and training.max_steps are both unset; "
                        + "set one (e.g. --training.epochs 3)",
                error(() -> TrainConfig.resolve(null, null, List.of("--training.epochs", "null"))));
        assertEquals("command line --lora.r: lora.r is 0; the rank must be positive (8, 16, 64 are usual)",
                error(() -> TrainConfig.resolve(null, null, List.of("--lora.r", "0"))));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--lora.alpha", "-1")))
                .contains("lora.alpha is -1; alpha must be positive"));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--training.embedding_learning_rate", "0")))
                .startsWith("command line --training.embedding_learning_rate: training.embedding_learning_rate is 0.0; it must be positive"));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--quantization.double_quant")))
                .contains("set quantization.mode nf4 or double_quant false"));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--quantization.mode", "nf4",
                "--quantization.block_size", "100"))).contains("NF4 needs a power of two from 64 to 4096"));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--training.eval_strategy", "epoch")))
                .contains("there is no eval data; set data.eval_split (e.g. 0.1) or data.eval_files"));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--training.early_stopping.enabled")))
                .contains("early stopping watches evaluations"));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--training.warmup_steps", "5",
                "--training.warmup_ratio", "0.1"))).contains("both set; keep one"));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--data.files", "a.jsonl",
                "--data.data_files", "b.jsonl"))).contains("keeps 'b.jsonl' but no file in data.files is named so"));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--output.adapter_dir", "{modle}/x")))
                .contains("unknown placeholder"));
        assertTrue(error(() -> TrainConfig.resolve(null, null, List.of("--output.merged_dir", "../final")))
                .contains("must be a relative path inside the run dir"));
        // data_files keeps by file name, as the 14B seed's filter does.
        TrainConfig keep = TrainConfig.resolve(null, null, List.of("--data.files", "d/a.jsonl,d/b.jsonl",
                "--data.data_files", "a.jsonl"));
        assertEquals(List.of("a.jsonl"), keep.data().dataFiles());
    }

    @Test
    void stagesOverrideFromTheCommandLineAndValidateEach() {
        TrainConfig c = TrainConfig.resolve("r1-distill-qwen-32b-reasoning", null,
                List.of("--stages.1.training.max_steps", "30", "--stages.0.data.files", "med.jsonl"));
        assertEquals(60, c.stageConfigs().get(0).training().maxSteps());
        assertEquals(30, c.stageConfigs().get(1).training().maxSteps());
        assertEquals(List.of(DataFile.of("med.jsonl")), c.stageConfigs().get(0).data().files());
        assertTrue(c.stageConfigs().get(1).data().files().isEmpty());

        // A column mapping for a file given on the command line: the medical-o1 dataset's names.
        TrainConfig m = TrainConfig.resolve("r1-distill-qwen-32b-reasoning", null, List.of(
                "--stages.0.data.files", "med.jsonl,more.jsonl",
                "--stages.0.data.files.1.fields", "question=Question,reasoning=Complex_CoT,answer=Response",
                "--stages.0.data.files.1.weight", "0.5"));
        DataFile more = m.stageConfigs().get(0).data().files().get(1);
        assertEquals(new DataFile("more.jsonl", 0.5, DataFile.Format.AUTO,
                java.util.Map.of("question", "Question", "reasoning", "Complex_CoT", "answer", "Response")), more);
        assertEquals(DataFile.of("med.jsonl"), m.stageConfigs().get(0).data().files().get(0));

        assertEquals("command line: --stages.5.lora.r: 'stages' has 2 entries, so index 5 does not exist; use 0 to 1",
                error(() -> TrainConfig.resolve("r1-distill-qwen-32b-reasoning", null, List.of("--stages.5.lora.r", "8"))));
        String bad = error(() -> TrainConfig.resolve("r1-distill-qwen-32b-reasoning", null,
                List.of("--stages.1.lora.r", "0")));
        assertEquals("command line --stages.1.lora.r: stage 'korean': stages.1.lora.r is 0; the rank must be positive "
                + "(8, 16, 64 are usual)", bad);
        String first = error(() -> TrainConfig.resolve("r1-distill-qwen-32b-reasoning", null,
                List.of("--stages.0.start_from", "merged")));
        assertTrue(first.contains("the first stage has no previous stage; use 'base'"), first);
    }

    @Test
    void usageLineShortcuts() {
        TrainConfig c = TrainConfig.resolve("generic-qlora", null, List.of("--model", "/models/Qwen2.5-7B",
                "--data", "a.jsonl,b.jsonl", "--device", "cpu"));
        assertEquals("/models/Qwen2.5-7B", c.model().path());
        assertEquals(List.of(DataFile.of("a.jsonl"), DataFile.of("b.jsonl")), c.data().files());
        assertEquals(TrainingSection.Device.CPU, c.training().device());
    }

    @Test
    void emptyYamlIsTheDefaults() throws IOException {
        Path p = yaml("empty.yaml", "# nothing set\n");
        assertEquals(TrainConfig.defaults(), TrainConfig.resolve(null, p, List.of()));
    }

    @Test
    void keyReferenceCoversEveryKeyWithItsDefault() {
        var keys = ConfigKeys.all();
        var byPath = new java.util.HashMap<String, ConfigKeys.Key>();
        keys.forEach(k -> byPath.put(k.path(), k));
        // Defaults as TRL SFTConfig / PEFT LoraConfig document them.
        assertEquals("8", byPath.get("lora.r").defaultValue());
        assertEquals("2.0E-5", byPath.get("training.learning_rate").defaultValue());
        assertEquals("1024", byPath.get("model.max_seq_length").defaultValue());
        assertEquals("42", byPath.get("training.seed").defaultValue());
        assertEquals("unset", byPath.get("training.max_steps").defaultValue());
        assertEquals("one of linear, cosine, constant, constant_with_warmup", byPath.get("training.lr_scheduler").takes());
        assertEquals("q_proj,v_proj", byPath.get("lora.target_modules").defaultValue());
        assertTrue(byPath.containsKey("training.early_stopping.patience"));
        for (var k : keys) {
            // Every key the reference lists is accepted on the command line with its own default.
            if (k.defaultValue().equals("unset") || k.path().equals("stages")) continue;
            String v = k.defaultValue().equals("[]") ? "" : k.defaultValue();
            TrainConfig.resolve(null, null, List.of("--" + k.path(), v));
        }
    }

    @Test
    void dataFileRules() throws IOException {
        Path p = yaml("d.yaml", "data:\n  files:\n    - weight: 2\n");
        assertEquals(p + " line 3: data.files.0.path is missing; every data file needs a path",
                error(() -> TrainConfig.resolve(null, p, List.of())));
        Path w = yaml("w.yaml", "data:\n  files:\n    - {path: a.jsonl, weight: 0}\n");
        assertEquals(w + " line 3: data.files.0.weight is 0.0; weights must be positive (1.0 = every row once)",
                error(() -> TrainConfig.resolve(null, w, List.of())));
    }

    @Test
    void levenshteinDistance() {
        // Textbook values: kitten -> sitting is 3 edits; identical strings 0; to empty, the length.
        assertEquals(3, KeySuggestion.distance("kitten", "sitting"));
        assertEquals(0, KeySuggestion.distance("lora", "lora"));
        assertEquals(5, KeySuggestion.distance("alpha", ""));
        assertEquals(2, KeySuggestion.distance("alpah", "alpha"));
    }

    @Test
    void recipeByNameOrPath() throws IOException {
        assertEquals("unknown recipe 'tinny': did you mean 'tiny'? built-in recipes are tiny, qwen2.5-14b-ko-chat, "
                        + "qwen2.5-1.5b-tool-calling, generic-lora, generic-qlora, llama2-7b-korquad-qlora, "
                        + "r1-distill-qwen-32b-reasoning; or give the path of a YAML file",
                error(() -> TrainConfig.resolve("tinny", null, List.of())));
        Path p = yaml("mine.yaml", "lora:\n  r: 4\n");
        assertEquals(4, TrainConfig.resolve(p.toString(), null, List.of()).lora().r());
        Path missing = dir.resolve("nope.yaml");
        assertEquals(missing + ": no such config file; check the path",
                error(() -> TrainConfig.resolve(null, missing, List.of())));
    }
}
