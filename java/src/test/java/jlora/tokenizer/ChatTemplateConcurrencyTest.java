package jlora.tokenizer;

import jlora.data.Conversation;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A ChatTemplate is shared by the data-loading threads: renders from several threads at once
 * (parsed tree, deadline and loop state shared or thread-local) must equal the same renders
 * done one at a time on one thread, which is the oracle here.
 */
class ChatTemplateConcurrencyTest {
    @Test
    void concurrentRendersEqualSequentialOnes() throws Exception {
        String template = "{% set ns = namespace(n=0) %}{% for m in messages[::-1] %}{% set ns.n = ns.n + 1 %}"
                + "{{ m.role }}:{{ m.content.strip() }}<{% if loop.previtem %}{{ loop.previtem.role }}{% endif %}>{% endfor %}"
                + "{{ tools | tojson }}{{ ns.n }}";
        ChatTemplate t = ChatTemplate.of(template, Map.of(), "concurrency test");
        List<Conversation> convs = new ArrayList<>();
        convs.addAll(ChatConversations.plain());
        convs.addAll(ChatConversations.thinking());
        convs.addAll(ChatConversations.toolCalls());
        List<String> expected = convs.stream().map(c -> t.render(c, false, Map.of())).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<String>>> futures = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                futures.add(pool.submit(() -> {
                    List<String> out = new ArrayList<>();
                    for (int round = 0; round < 8; round++) {
                        for (Conversation c : convs) out.add(t.render(c, false, Map.of()));
                    }
                    return out;
                }));
            }
            for (Future<List<String>> f : futures) {
                List<String> got = f.get();
                for (int i = 0; i < got.size(); i++) {
                    assertEquals(expected.get(i % convs.size()), got.get(i), "render " + i + " (conversation " + i % convs.size() + ")");
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
