package jlora.train;

import java.util.List;

/**
 * {@code data:} what to train on and how examples become token sequences.
 *
 * @param files training files with their mixture weights; recipes leave this empty and
 *     {@code --data FILES} fills it
 * @param dataFiles keep only the files whose name (or path) is listed here: the 14B seed's
 *     {@code data_files} filter; empty keeps all
 * @param evalFiles held-out files evaluated instead of a split; empty means split
 * @param evalSplit fraction of the training rows held out for eval (seeded by training.seed);
 *     used when evalFiles is empty
 * @param testSplit fraction held out as a test set that training never sees (the tool-calling
 *     seed splits 0.8/0.1/0.1)
 * @param packing concatenate short examples into max_seq_length sequences with per-example
 *     positions and attention boundaries; default false as in TRL SFTConfig
 * @param lossOn which tokens carry loss: {@code assistant} turns (default), {@code all}
 *     tokens (TRL on plain text), or {@code last_assistant} turn only
 * @param truncation an example longer than max_seq_length is dropped and counted ({@code drop},
 *     default: no silent loss of answers) or cut from the left keeping the system prompt
 *     ({@code truncate_left})
 * @param systemPrompt a system turn added to conversations that have none; null adds none
 * @param chatTemplate a Jinja template file (or inline template) used instead of the
 *     tokenizer's chat_template; null uses the model's own
 * @param promptFormat {@code chat_template} renders turns with the chat template;
 *     {@code alpaca} is "Below is an instruction ... ### Instruction: q ### Response: a" (the
 *     KorQuAD seed); {@code think} is "### Instruction / ### Question / ### Response: &lt;think&gt;
 *     reasoning &lt;/think&gt; answer" (the R1-distill seed)
 * @param shuffle shuffle example order each epoch (seeded by training.seed), as HF Trainer does
 */
public record DataSection(
        List<DataFile> files, List<String> dataFiles, List<DataFile> evalFiles, double evalSplit, double testSplit,
        boolean packing, LossOn lossOn, Truncation truncation, @Nullable String systemPrompt,
        @Nullable String chatTemplate, PromptFormat promptFormat, boolean shuffle) {

    /** Which tokens the loss is computed on. */
    public enum LossOn { ASSISTANT, ALL, LAST_ASSISTANT }

    /** What happens to an example longer than max_seq_length. */
    public enum Truncation { DROP, TRUNCATE_LEFT }

    /** How a row becomes text before tokenization. */
    public enum PromptFormat { CHAT_TEMPLATE, ALPACA, THINK }

    public DataSection {
        files = files == null ? null : List.copyOf(files);
        dataFiles = dataFiles == null ? null : List.copyOf(dataFiles);
        evalFiles = evalFiles == null ? null : List.copyOf(evalFiles);
    }

    static DataSection defaults() {
        return new DataSection(List.of(), List.of(), List.of(), 0.0, 0.0, false, LossOn.ASSISTANT, Truncation.DROP,
                null, null, PromptFormat.CHAT_TEMPLATE, true);
    }
}
