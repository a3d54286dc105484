package jlora.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The tokenizer test corpus: fixed strings that hit known hard cases, plus random strings
 * mixed from the same alphabets. Left out on purpose: U+0085 and U+FEFF (\s in Rust's regex,
 * which jlora follows, differs from JavaScript's there) and U+017F long s (Rust's (?i) folds
 * it to 's', transformers.js's rewritten contraction group does not). A one-off comparison
 * with HF tokenizers 0.23.2 (the Rust library, via its Python wheel) on 6,052 strings from
 * this corpus plus 3,000 strings dense in exactly those code points gave identical ids for
 * all three files, with and without special tokens (2026-11-24).
 */
final class TestStrings {
    private TestStrings() {}

    static final List<String> FIXED = List.of(
            "Hello, world! This is a test.",
            "안녕하세요. 오늘 날씨가 정말 좋네요! 한국어 토크나이저 테스트입니다.",
            "서울특별시 강남구 테헤란로 123번길 45, 3층 (우편번호 06234)",
            "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
            "for (int i = 0; i < 10; i++) {\n\tSystem.out.println(i);\n}",
            "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 🇰🇷🇺🇸 flags, ❤️‍🔥",
            "   leading spaces and trailing   ",
            "tabs\t\tand\n\n\nnewlines\r\n\r\nwindows",
            "\n", " ", "  ", "\t", "",
            "1234567890 12 123 1234 3.14159 1,000,000 0x7FFF",
            "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n안녕?<|im_end|>\n",
            "text<|endoftext|>more text<|endoftext|><|endoftext|>",
            "<s>[INST] 질문입니다 [/INST] 답변입니다 </s><s>",
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
            "I'm sure you'll see they've done it, we'd say it's John's. DON'T YOU'LL I'M",
            "中文测试，这是一个句子。日本語のテキスト、カタカナ。",
            "e\u0301 a\u0300 \u1100\u1161\u11A8 n\u0303 combining: Z\u0351\u036b\u0343",
            "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ﬁ ligature ① ² Ⅳ",
            "Привет мир! مرحبا بالعالم नमस्ते दुनिया ελληνικά",
            "\u00a0non\u00a0breaking\u3000ideographic\u2003em\u2009thin\u200bzero\u200dwidth",
            "line\u2028sep\u2029para\u000bvt\u000cff",
            "▁already▁has▁metaspace ▁ ▁▁",
            "<0x41> <unk> <s <|im_start| |>",
            "lone \uD800 high and \uDC00 low surrogates",
            "💩💩💩 𝕳𝖊𝖑𝖑𝖔 𠀀𠀁 (supplementary)",
            "mixed한국어English123숫자!@#$%^&*()_+-=[]{}|;':\",./<>?`~",
            "    indented\n        more\n\t\tdeep   \n   ",
            "a" + "ㅋ".repeat(40) + " " + "하".repeat(30) + " " + "!".repeat(20),
            "https://example.com/path?query=값&x=1#frag user@example.co.kr"
    );

    private static final String[] WORDS = {
        "the", "The", "of", "and", "안녕", "하세요", "토큰", "는", "을", "데이터", "학습", "모델", "한국어",
        "Java", "func", "return", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "<|im_start|>",
        "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<|begin_of_text|>", "<|eot_id|>", "😀", "👍🏽", "👨‍💻",
        "🇰🇷", "中文", "日本", "2024", "3.14", "ㅋㅋ", "ㅎㅎ", "...", "!!", "?", "—", "“quoted”", "e\u0301",
    };

    private static final int[][] RANGES = {
        {'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'},
        {0xAC00, 0xD7A3}, {0x3131, 0x318E}, {0x1100, 0x1112}, {0x1161, 0x1175}, {0x4E00, 0x9FFF},
        {0x3040, 0x30FF}, {0x00C0, 0x00FF}, {0x0400, 0x044F}, {0x0600, 0x064A}, {0x0900, 0x097F},
        {0x0300, 0x036F}, {0x1F300, 0x1F64F}, {0x1F900, 0x1F9FF}, {0x1F3FB, 0x1F3FF}, {0xFF01, 0xFF5E},
        {0x2000, 0x200D}, {0x2460, 0x24FF}, {0x1D400, 0x1D4FF}, {0x20000, 0x2000F},
    };

    private static final String[] SPACES = {" ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", "   ", " \n", "\u00a0", "\u3000"};

    /** A random string of mixed scripts, words, spaces and special tokens. */
    static String random(SplittableRandom rnd, int maxParts) {
        StringBuilder sb = new StringBuilder();
        int parts = 1 + rnd.nextInt(maxParts);
        for (int p = 0; p < parts; p++) {
            switch (rnd.nextInt(4)) {
                case 0 -> sb.append(WORDS[rnd.nextInt(WORDS.length)]);
                case 1 -> sb.append(SPACES[rnd.nextInt(SPACES.length)]);
                default -> {
                    int[] r = RANGES[rnd.nextInt(RANGES.length)];
                    int n = 1 + rnd.nextInt(6);
                    for (int i = 0; i < n; i++) sb.appendCodePoint(r[0] + rnd.nextInt(r[1] - r[0] + 1));
                }
            }
        }
        return sb.toString();
    }

    static List<String> random(long seed, int count, int maxParts) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) out.add(random(rnd, maxParts));
        return out;
    }

    /** Java source-like escaping so a failing string can be read and pasted back. */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') sb.append(c);
            else if (c == '\n') sb.append("\\n");
            else if (c == '\t') sb.append("\\t");
            else if (c >= 0xAC00 && c <= 0xD7A3) sb.append(c);
            else sb.append(String.format("\\u%04X", (int) c));
        }
        return sb.append('"').toString();
    }
}
