package jlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import jlora.data.Conversation;
import jlora.data.Message;
import jlora.tokenizer.AssistantSpans;
import jlora.tokenizer.ChatTemplate;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;

/**
 * The prompt formats against the seed projects' format strings written out by hand here, and
 * the trained span: exactly the assistant text and EOS (the tiny model's EOS is &lt;|im_end|&gt;).
 */
class PromptFormatsTest {
    @TempDir
    Path tmp;

    ChatTemplate template(String format) {
        TrainConfig c = TrainFixtures.config(tmp, "x", "--data.prompt_format", format);
        return RunSetup.check(c).template();
    }

    static String trained(AssistantSpans.Result r) {
        StringBuilder sb = new StringBuilder();
        r.spans().forEach(s -> sb.append(r.text(), s.start(), s.end()));
        return sb.toString();
    }

    @Test
    void alpaca() {
        Conversation c = Conversation.of(Message.user("서울은 어디?"), Message.assistant("한국의 수도."));
        AssistantSpans.Result r = template("alpaca").assistantSpans(c, Map.of());
        assertEquals("Below is an instruction that describes a task. Write a response that appropriately completes the request."
                + " ### Instruction: 서울은 어디? ### Response: 한국의 수도.<|im_end|>", r.text());
        assertEquals("한국의 수도.<|im_end|>", trained(r));
    }

    @Test
    void think() {
        Conversation c = Conversation.of(Message.system("You are a doctor."), Message.user("Q?"),
                Message.assistant("A.").withReasoning("because"));
        AssistantSpans.Result r = template("think").assistantSpans(c, Map.of());
        assertEquals("### Instruction:\nYou are a doctor.\n\n### Question:\nQ?\n\n### Response:\n<think>\nbecause\n</think>\nA.<|im_end|>",
                r.text());
        assertEquals("<think>\nbecause\n</think>\nA.<|im_end|>", trained(r));
    }
}
