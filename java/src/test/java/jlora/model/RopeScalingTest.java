package jlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * RoPE scaling against properties that hold for any correct implementation (linear is default
 * divided by factor; dynamic equals default within the trained length; yarn at factor 1 is
 * default; llama3 keeps high frequencies, divides low ones by factor, blends monotonically in
 * between) and against a few values worked out by hand from the formulas of transformers'
 * modeling_rope_utils. Random parameters use a fresh seed, printed on failure.
 */
class RopeScalingTest {
    private static final double TOL = 1e-12;

    private static RopeScaling parse(String ropeScalingJson, int maxPos) {
        String json = TinyJson.llama(", \"max_position_embeddings\": " + maxPos + ", \"rope_scaling\": " + ropeScalingJson);
        return ModelConfig.parse(json, Path.of("config.json")).ropeScaling();
    }

    /** Relative comparison; the message names the worst index and both values. */
    private static void assertClose(double[] want, double[] got, double tol, String what) {
        assertEquals(want.length, got.length, what + ": length");
        int worst = -1;
        double worstErr = 0;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-300);
            if (Double.isNaN(got[i]) || Double.isNaN(err)) fail(what + ": NaN at index " + i);
            if (err > worstErr) {
                worstErr = err;
                worst = i;
            }
        }
        if (worstErr > tol) {
            fail(what + ": worst index " + worst + " expected " + want[worst] + " got " + got[worst] + " rel err " + worstErr);
        }
    }

    @Test
    void defaultFrequenciesByHand() {
        // theta^(-2i/d) with theta = 10000, d = 8: 1, 10^-1, 10^-2, 10^-3.
        assertClose(new double[] {1, 0.1, 0.01, 0.001},
                RopeScaling.none(100).inverseFrequencies(8, 10000, 10), TOL, "default d=8");
        assertEquals(1.0, RopeScaling.none(100).attentionScaling());
    }

    @Test
    void linearIsDefaultDividedByFactor() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        for (int trial = 0; trial < 20; trial++) {
            int dim = 2 * (1 + r.nextInt(128));
            double theta = 100 + r.nextDouble() * 1e6;
            double factor = 1 + r.nextDouble() * 31;
            RopeScaling s = parse("{\"rope_type\": \"linear\", \"factor\": " + factor + "}", 4096);
            double[] want = RopeScaling.none(4096).inverseFrequencies(dim, theta, 1);
            for (int i = 0; i < want.length; i++) want[i] /= factor;
            assertClose(want, s.inverseFrequencies(dim, theta, 1 + r.nextInt(100_000)), TOL,
                    "linear seed=" + seed + " dim=" + dim + " theta=" + theta + " factor=" + factor);
            assertEquals(1.0, s.attentionScaling());
        }
    }

    @Test
    void dynamicEqualsDefaultWithinTrainedLength() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        int trained = 4096;
        RopeScaling s = parse("{\"type\": \"dynamic\", \"factor\": 4.0}", trained);
        for (int trial = 0; trial < 20; trial++) {
            int dim = 2 * (2 + r.nextInt(64));
            double theta = 100 + r.nextDouble() * 1e6;
            int seqLen = 1 + r.nextInt(trained);
            assertClose(RopeScaling.none(trained).inverseFrequencies(dim, theta, seqLen),
                    s.inverseFrequencies(dim, theta, seqLen), 0, "dynamic seed=" + seed + " seqLen=" + seqLen);
        }
    }

    @Test
    void dynamicBeyondTrainedLengthByHand() {
        // L = 100, factor 2, seqLen 200, d = 4: base = 1e4 * (2*200/100 - 1)^(4/2) = 9e4,
        // so inv = {1, 90000^(-1/2)} = {1, 1/300}.
        RopeScaling s = parse("{\"rope_type\": \"dynamic\", \"factor\": 2.0}", 100);
        assertClose(new double[] {1, 1.0 / 300}, s.inverseFrequencies(4, 10000, 200), TOL, "dynamic by hand");
    }

    @Test
    void llama3KeepsHighDividesLowAndBlendsMonotonically() {
        ModelConfig c = Configs.load("Llama-3.1-8B-Instruct");
        RopeScaling s = c.ropeScaling();
        double[] base = RopeScaling.none(c.maxPositionEmbeddings()).inverseFrequencies(c.headDim(), c.ropeTheta(), 1);
        double[] got = s.inverseFrequencies(c.headDim(), c.ropeTheta(), 1);
        double highWavelen = 8192 / 4.0, lowWavelen = 8192 / 1.0;
        int kept = 0, divided = 0, blended = 0;
        double previousRatio = 1;
        for (int i = 0; i < base.length; i++) {
            double wavelen = 2 * Math.PI / base[i];
            double ratio = got[i] / base[i];
            if (wavelen < highWavelen) {
                assertEquals(1.0, ratio, TOL, "high frequency " + i + " must be kept");
                kept++;
            } else if (wavelen > lowWavelen) {
                assertEquals(1 / 8.0, ratio, TOL, "low frequency " + i + " must be divided by 8");
                divided++;
            } else {
                assertTrue(ratio > 1 / 8.0 && ratio < 1, "band " + i + " ratio " + ratio);
                blended++;
            }
            assertTrue(ratio <= previousRatio + TOL, "ratio must not grow with wavelength at " + i
                    + ": " + previousRatio + " then " + ratio);
            previousRatio = ratio;
        }
        assertTrue(kept > 0 && divided > 0 && blended > 0, kept + " kept, " + divided + " divided, " + blended + " blended");
    }

    @Test
    void llama3ByHand() {
        // d = 4, theta = 100: base {1, 0.1}, wavelengths {2pi, 20pi}. L = 100, low 1, high 4, factor 8:
        // 2pi < 25 is kept; 20pi = 62.83 lies in [25, 100]: s = (100 / 62.83 - 1) / 3 = 0.197183,
        // inv = (1 - s) * 0.1 / 8 + s * 0.1 = 0.0297535.
        RopeScaling s = parse("{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,"
                + " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 100}", 800);
        assertClose(new double[] {1, 0.02975352506846948}, s.inverseFrequencies(4, 100, 1), 1e-12, "llama3 by hand");
    }

    @Test
    void yarnAtFactorOneIsDefault() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        RopeScaling s = parse("{\"rope_type\": \"yarn\", \"factor\": 1.0}", 32768);
        assertEquals(1.0, s.attentionScaling());
        for (int trial = 0; trial < 20; trial++) {
            int dim = 2 * (2 + r.nextInt(128));
            double theta = 1000 + r.nextDouble() * 1e6;
            assertClose(RopeScaling.none(32768).inverseFrequencies(dim, theta, 1),
                    s.inverseFrequencies(dim, theta, 1), 1e-15, "yarn factor 1 seed=" + seed + " dim=" + dim);
        }
    }

    @Test
    void yarnByHand() {
        // d = 128, theta = 1e6, L = 32768, beta 32 / 1: the correction dimensions are
        // 128 ln(L / (2 pi beta)) / (2 ln 1e6) = 23.596 and 39.651 -> floor 23, ceil 40.
        // Dimensions i <= 23 keep theta^(-2i/d); i >= 40 are divided by factor 4; i = 30 has
        // ramp (30 - 23) / 17, inv = d30 * ((1 - ramp) + ramp / 4) = 0.001064360981247002.
        RopeScaling s = parse("{\"rope_type\": \"yarn\", \"factor\": 4.0, \"original_max_position_embeddings\": 32768}",
                131072);
        double[] base = RopeScaling.none(131072).inverseFrequencies(128, 1e6, 1);
        double[] got = s.inverseFrequencies(128, 1e6, 1);
        for (int i = 0; i <= 23; i++) assertEquals(base[i], got[i], base[i] * TOL, "kept dim " + i);
        for (int i = 40; i < 64; i++) assertEquals(base[i] / 4, got[i], base[i] * TOL, "interpolated dim " + i);
        assertEquals(0.001064360981247002, got[30], 1e-12 * got[30], "ramp dim 30");
        // attention factor 0.1 ln 4 + 1 (YaRN paper).
        assertEquals(1.138629436111989, s.attentionScaling(), 1e-12);
    }

    @Test
    void yarnAttentionFactorSources() {
        assertEquals(0.7, parse("{\"rope_type\": \"yarn\", \"factor\": 4.0, \"attention_factor\": 0.7}", 4096)
                .attentionScaling());
        // mscale == mscale_all_dim (DeepSeek-V3 style) cancels to 1.
        assertEquals(1.0, parse("{\"rope_type\": \"yarn\", \"factor\": 40, \"mscale\": 1.0, \"mscale_all_dim\": 1.0}",
                4096).attentionScaling(), 1e-15);
        // mscale 1, mscale_all_dim 0.5 at factor e: (0.1 + 1) / (0.05 + 1).
        assertEquals(1.1 / 1.05, parse("{\"rope_type\": \"yarn\", \"factor\": " + Math.E
                + ", \"mscale\": 1.0, \"mscale_all_dim\": 0.5}", 4096).attentionScaling(), 1e-12);
    }

    @Test
    void yarnFactorDefaultsToContextRatioOnlyWhenAbsent() {
        // transformers 5: factor = max_position_embeddings / original when factor is missing.
        assertEquals(4.0, parse("{\"rope_type\": \"yarn\", \"original_max_position_embeddings\": 1024}", 4096).factor());
        assertEquals(2.0, parse("{\"rope_type\": \"yarn\", \"factor\": 2.0,"
                + " \"original_max_position_embeddings\": 1024}", 4096).factor());
    }

    @Test
    void typeAndRopeTypeKeysAreEquivalent() {
        assertEquals(parse("{\"type\": \"yarn\", \"factor\": 4.0}", 4096),
                parse("{\"rope_type\": \"yarn\", \"factor\": 4.0}", 4096));
        // rope_type wins over type, as in transformers.
        assertEquals(RopeScaling.Type.LINEAR, parse("{\"rope_type\": \"linear\", \"type\": \"dynamic\", \"factor\": 2}",
                4096).type());
    }
}
