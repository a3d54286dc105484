package jlora.train;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import jlora.quant.Blockwise8bit;
import jlora.quant.DynamicMap;
import org.junit.jupiter.api.Test;

/**
 * The table-driven code search against {@link Blockwise8bit#quantizeValue} (the transcription of
 * bitsandbytes' kernel search) for both dynamic maps: at every code value, every fp32 midpoint and
 * the floats one ulp around each, both ends of every 16-bit slice of the float line, special values
 * (signed zeros, infinities, NaN, subnormals) and random bit patterns.
 */
class CodeSearchTest {
    @Test
    void equalsTheKernelSearch() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        for (float[] code : new float[][] {DynamicMap.signed(), DynamicMap.unsigned()}) {
            CodeSearch search = new CodeSearch(code);
            for (int k = 0; k < 256; k++) {
                for (float x : around(code[k])) check(code, search, x, seed);
                if (k < 255) for (float x : around((code[k] + code[k + 1]) * 0.5f)) check(code, search, x, seed);
            }
            for (int prefix = 0; prefix < (1 << 16); prefix++) {
                check(code, search, Float.intBitsToFloat(prefix << 16), seed);
                check(code, search, Float.intBitsToFloat((prefix << 16) | 0xFFFF), seed);
            }
            for (float x : new float[] {-2f, -1f, 1f, 2f, 0f, -0f, Float.NaN, Float.MIN_VALUE, -Float.MIN_VALUE,
                    Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE, -Float.MAX_VALUE}) {
                check(code, search, x, seed);
            }
            for (int i = 0; i < 300_000; i++) {
                check(code, search, Float.intBitsToFloat(rnd.nextInt()), seed);
                check(code, search, (float) ((rnd.nextDouble() * 2 - 1) * Math.pow(10, -rnd.nextInt(9))), seed);
            }
        }
    }

    private static float[] around(float x) {
        return new float[] {x, Math.nextUp(x), Math.nextDown(x)};
    }

    private static void check(float[] code, CodeSearch search, float x, long seed) {
        int want = Blockwise8bit.quantizeValue(code, x);
        int got = search.quantize(x);
        if (want != got) {
            fail("seed " + seed + " x " + x + " (bits " + Integer.toHexString(Float.floatToRawIntBits(x)) + "): kernel search "
                    + want + ", table " + got + (code[0] < 0 ? " (signed map)" : " (unsigned map)"));
        }
    }
}
