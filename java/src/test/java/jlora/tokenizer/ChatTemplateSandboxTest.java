package jlora.tokenizer;

import jlora.UserError;
import jlora.data.Conversation;
import jlora.data.Message;
import jlora.tokenizer.jinja.TemplateEngine;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sandbox: a hostile or broken template stops with a UserError (never hangs, never
 * reaches a Java class or a file), and raise_exception surfaces the template's own message.
 * The oracle is the contract itself: each template below must be refused, with a message
 * that says why.
 */
class ChatTemplateSandboxTest {
    /** Small limits so the refusals come quickly; real renders use Limits.DEFAULT. */
    private static final TemplateEngine TIGHT =
            new TemplateEngine(new TemplateEngine.Limits(1 << 20, Duration.ofMillis(300), 100_000, 100_000));

    private static final Conversation CHAT = Conversation.of(Message.user("안녕"), Message.assistant("hi"));

    private static UserError refused(String template) {
        ChatTemplate t = ChatTemplate.of(template, Map.of(), "test template", TIGHT);
        return assertThrows(UserError.class, () -> t.render(CHAT, false, Map.of()),
                () -> "template was not refused: " + template);
    }

    private static void assertMentions(UserError e, String... words) {
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), "message \"" + e.getMessage() + "\" does not mention \"" + w + "\"");
        }
    }

    @Test
    void aLoopThatRunsTooLongIsStopped() {
        // 1e10 iterations: nested loops each within the range limit, so only the deadline stops it.
        UserError e = refused("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
        assertMentions(e, "test template", "ran longer than 300 ms");
    }

    @Test
    void hugeOutputIsStopped() {
        // 3 MB against a 1 MiB limit, with time enough that the size limit, not the clock, stops it.
        TemplateEngine small = new TemplateEngine(new TemplateEngine.Limits(1 << 20, Duration.ofSeconds(30), 100_000, 100_000));
        ChatTemplate t = ChatTemplate.of("{% for i in range(3000) %}{% for m in messages %}{{ m.content }}"
                + "0123456789".repeat(50) + "{% endfor %}{% endfor %}", Map.of(), "test template", small);
        UserError e = assertThrows(UserError.class, () -> t.render(CHAT, false, Map.of()));
        assertMentions(e, "test template", "more than 1048576 characters");
    }

    @Test
    void aRangeBeyondTheLimitIsRefusedOrBounded() {
        // Jinjava truncates range() at the limit; the render must stay bounded either way.
        ChatTemplate t = ChatTemplate.of("{% for i in range(10000000000) %}x{% endfor %}", Map.of(), "test template", TIGHT);
        try {
            String out = t.render(CHAT, false, Map.of());
            assertTrue(out.length() <= 100_000, "range was not bounded: " + out.length() + " characters");
        } catch (UserError expected) {
            assertMentions(expected, "test template");
        }
    }

    @Test
    void recursionIsRefused() {
        refused("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    }

    @Test
    void javaClassesAreUnreachable() {
        assertMentions(refused("{{ messages[0].content.getClass().forName('java.lang.Runtime') }}"), "getClass");
        assertMentions(refused("{{ messages.getClass() }}"), "getClass");
        assertMentions(refused("{{ messages[0].getClass() }}"), "getClass");
        assertMentions(refused("{% for m in messages %}{{ loop.getClass() }}{% endfor %}"), "getClass");
        assertMentions(refused("{{ (1).getClass() }}"), "getClass");
        assertMentions(refused("{{ messages[0].content.getBytes() }}"), "getBytes");
    }

    @Test
    void otherTemplatesAndFilesAreUnreachable() {
        refused("{% include '/etc/passwd' %}");
        refused("{% import 'macros.jinja' as m %}{{ m.x() }}");
        refused("{% extends 'base.jinja' %}");
    }

    @Test
    void raiseExceptionBecomesAUserErrorWithTheTemplatesMessage() {
        UserError e = refused("{% if messages[1].role == 'assistant' %}{{ raise_exception('Only user turns here: 한국어 message') }}{% endif %}");
        assertMentions(e, "test template", "rejected the conversation", "Only user turns here: 한국어 message");
    }

    @Test
    void contentIsNeverInterpretedAsATemplate() {
        ChatTemplate t = ChatTemplate.chatml();
        String content = "{{ raise_exception('boom') }} {% for i in range(9) %}x{% endfor %}";
        String out = t.render(Conversation.of(Message.user(content)), false, Map.of());
        assertTrue(out.contains(content), "content was altered: " + out);
    }
}
