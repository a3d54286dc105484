package jlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Oracle: values worked out by hand from the KorQuAD v1.0 official evaluator's definitions
 * (normalize_answer, character-level F1, max over answers) and seed 003's raw substring check.
 * Tolerance 1e-12: each expected F1 is an exact fraction.
 */
class QaMetricsTest {
    private static void check(String pred, List<String> answers, boolean em, boolean contains, double f1) {
        String what = "prediction \"" + pred + "\" vs " + answers;
        assertEquals(em, QaMetrics.exactMatch(pred, answers), what + ": exact match");
        assertEquals(contains, QaMetrics.contains(pred, answers), what + ": contains");
        assertEquals(f1, QaMetrics.f1(pred, answers), 1e-12, what + ": F1");
    }

    @Test
    void identicalAnswer() {
        check("세종", List.of("세종"), true, true, 1.0);
    }

    @Test
    void particleCostsPrecisionOnly() {
        // 세,종,이 vs 세,종: 2 common; P = 2/3, R = 1, F1 = 2(2/3)/(5/3) = 4/5.
        check("세종이", List.of("세종"), false, true, 4.0 / 5);
    }

    @Test
    void quotesAndPunctuationAreNormalisedAway() {
        // ' → space, . removed: "세종" after whitespace folding.
        check("'세종'.", List.of("세종"), true, true, 1.0);
        check("(1446년)", List.of("1446년"), true, true, 1.0);
    }

    @Test
    void koreanBracketsSplitTokens() {
        // 《》 become spaces: "훈민정음 을" ≠ "훈민정음"; chars 훈민정음을 (5) vs 훈민정음 (4):
        // P = 4/5, R = 1, F1 = 2(4/5)/(9/5) = 8/9. The raw text does contain the answer.
        check("《훈민정음》을", List.of("훈민정음"), false, true, 8.0 / 9);
    }

    @Test
    void spacesDoNotCountInF1() {
        // 1989년2월15일 (10 chars) vs 1989년2월15일에 (11): P = 1, R = 10/11, F1 = 20/21.
        check("1989년 2월 15일", List.of("1989년 2월 15일에"), false, false, 20.0 / 21);
    }

    @Test
    void whitespaceRunsAndNbspFold() {
        check("세종\u00a0  대왕\n", List.of("세종 대왕"), true, false, 1.0);
    }

    @Test
    void bestOfSeveralAnswers() {
        // vs "세종": 2 common of 4 predicted, P = 1/2, R = 1, F1 = 2/3; vs "세종대왕": exact.
        check("세종대왕", List.of("세종", "세종대왕"), true, true, 1.0);
        check("세종대왕", List.of("세종"), false, true, 2.0 / 3);
    }

    @Test
    void caseFoldsLatin() {
        check("KorQuAD", List.of("korquad"), true, false, 1.0);
    }

    @Test
    void nothingInCommon() {
        check("모름", List.of("세종"), false, false, 0.0);
        check("", List.of("세종"), false, false, 0.0);
    }

    @Test
    void containsIsRawSubstring() {
        // Seed 003: `answer in result`, so spacing inside the answer matters.
        // 정답은세종 (5 chars) vs 세종: P = 2/5, R = 1, F1 = 4/7.
        check("정답은 세 종", List.of("세종"), false, false, 4.0 / 7);
    }
}
