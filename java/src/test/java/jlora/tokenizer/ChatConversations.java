package jlora.tokenizer;

import jlora.data.Conversation;
import jlora.data.Message;
import jlora.data.ToolCall;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Conversations in Korean and English that the chat-template tests render. No assistant turn
 * that Qwen3 renders after the last user query starts with spaces: the template applies
 * {@code content.lstrip('\n')} there, and transformers.js' Jinja ignores strip's argument
 * (strips all whitespace) where Python strips only newlines; we follow Python.
 */
final class ChatConversations {
    private ChatConversations() {}

    static final List<Map<String, Object>> TOOLS = List.of(
            function("get_weather", "도시의 현재 날씨를 알려 줍니다. Returns the current weather.",
                    Map.of("city", Map.of("type", "string", "description", "도시 이름, 예: 서울"),
                            "unit", Map.of("type", "string", "enum", List.of("celsius", "fahrenheit"))),
                    List.of("city")),
            function("search_restaurants", "Find restaurants near a location.",
                    Map.of("location", Map.of("type", "string"),
                            "max_results", Map.of("type", "integer", "minimum", 1)),
                    List.of("location")));

    private static Map<String, Object> function(String name, String description, Map<String, Object> props, List<String> required) {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("type", "object");
        params.put("properties", new java.util.TreeMap<>(props));
        params.put("required", required);
        Map<String, Object> fn = new LinkedHashMap<>();
        fn.put("name", name);
        fn.put("description", description);
        fn.put("parameters", params);
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", fn);
        return tool;
    }

    static Map<String, Object> args(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    /** Plain chats: no tools, roles alternate after an optional system message. */
    static List<Conversation> plain() {
        return List.of(
                Conversation.of(Message.user("안녕하세요! 오늘 서울 날씨 어때요?")),
                Conversation.of(
                        Message.system("당신은 친절한 한국어 비서입니다. Answer briefly."),
                        Message.user("김치찌개 만드는 법을 알려 주세요."),
                        Message.assistant("김치, 돼지고기, 두부를 준비하고 20분 끓이면 됩니다.  ")),
                Conversation.of(
                        Message.system("You are a helpful assistant."),
                        Message.user("What is 2 + 2?"),
                        Message.assistant("2 + 2 = 4."),
                        Message.user("그럼 3 곱하기 7은요?\n한 줄로 답해 주세요."),
                        Message.assistant("21입니다. 😊")),
                Conversation.of(
                        Message.user("Quote this: \"back\\slash\" and {{ not a template }} {% raw %}"),
                        Message.assistant("  Done: \"back\\slash\"\tand {{ not a template }}\n\n"),
                        Message.user("   leading and trailing spaces   ")));
    }

    /** Qwen3-style thinking: reasoning as a field and inline in the content. */
    static List<Conversation> thinking() {
        return List.of(
                Conversation.of(
                        Message.user("17 × 23은 얼마인가요?"),
                        Message.assistant("391입니다.").withReasoning("17 × 20 = 340, 17 × 3 = 51, 합은 391.")),
                Conversation.of(
                        Message.system("Think step by step."),
                        Message.user("Is 97 prime?"),
                        Message.assistant("<think>\nCheck divisors up to 9: 2, 3, 5, 7 do not divide 97.\n</think>\n\nYes, 97 is prime."),
                        Message.user("그럼 91은요?"),
                        Message.assistant("아니요, 91 = 7 × 13입니다.").withReasoning("91 / 7 = 13")));
    }

    /** Tool calling in TRL's format: tools per conversation, tool_calls, tool results. */
    static List<Conversation> toolCalls() {
        ToolCall weather = new ToolCall("call_1", "get_weather", args("city", "서울", "unit", "celsius"));
        ToolCall weatherBusan = new ToolCall("call_2", "get_weather", args("city", "부산"));
        ToolCall food = new ToolCall(null, "search_restaurants",
                args("location", "Gangnam \"station\"", "max_results", 3, "filters", List.of("korean", "open-now"),
                        "price", args("min", 10000, "max", 35.5), "reserve", true, "note", null));
        return List.of(
                new Conversation(List.of(
                        Message.system("날씨 도우미입니다."),
                        Message.user("서울 날씨 알려 줘."),
                        Message.assistant("", List.of(weather)),
                        Message.tool("{\"temperature\": 3, \"condition\": \"맑음\"}", "call_1", "get_weather"),
                        Message.assistant("서울은 지금 3°C이고 맑습니다.")), TOOLS, "test:1"),
                new Conversation(List.of(
                        Message.user("Compare the weather in Seoul and Busan, then find food near Gangnam."),
                        Message.assistant("Let me check both cities.", List.of(weather, weatherBusan)),
                        Message.tool("{\"temperature\": 3}", "call_1", "get_weather"),
                        Message.tool("{\"temperature\": 9}", "call_2", "get_weather"),
                        Message.assistant("", List.of(food)),
                        Message.tool("[\"한식당 A\", \"한식당 B\"]", null, "search_restaurants"),
                        Message.assistant("Busan is warmer (9°C vs 3°C). Try 한식당 A."),
                        Message.user("고마워요!")), TOOLS, "test:2"),
                new Conversation(List.of(Message.user("What's the weather in Jeju?")), TOOLS, "test:3"));
    }
}
