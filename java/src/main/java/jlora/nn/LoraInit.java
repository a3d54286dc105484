package jlora.nn;

import java.nio.charset.StandardCharsets;

/**
 * PEFT's default initialisation of lora_A: torch.nn.init.kaiming_uniform_(w, a=sqrt(5)), i.e.
 * U(-bound, bound) with bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) (torch's
 * calculate_gain("leaky_relu", a)), fan_in = in_features; with a = sqrt(5) that is
 * 1 / sqrt(in_features), the same as nn.Linear's default weight init. lora_B starts at zero, so the
 * adapted model equals the base model at step 0.
 *
 * <p>The random numbers are counter-based: element i of a tensor is a pure function of (seed,
 * tensor name, i), a SplitMix64 finaliser over a Weyl sequence. No generator state is shared, so the
 * values do not depend on the order modules are visited, on which layers are selected, or on the
 * number of threads. (They are not torch's Mersenne-Twister values; PEFT promises the distribution,
 * not the bits.)
 */
public final class LoraInit {
    private LoraInit() {}

    /** The negative slope PEFT passes: kaiming_uniform_(lora_A.weight, a=math.sqrt(5)). */
    public static final double PEFT_A = Math.sqrt(5);

    /** torch.nn.init.kaiming_uniform_ bound for fan_in and negative slope {@code a}. */
    public static double kaimingUniformBound(long fanIn, double a) {
        double gain = Math.sqrt(2.0 / (1 + a * a));
        return gain * Math.sqrt(3.0 / fanIn);
    }

    /** A stream key for one tensor: FNV-1a 64 of its UTF-8 name, mixed with the seed. */
    public static long streamKey(long seed, String tensorName) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64 offset basis
        for (byte b : tensorName.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L; // FNV-1a 64 prime
        }
        return mix64(mix64(seed) ^ h);
    }

    /** Element {@code i} of the stream, uniform on [0, 1) with 24 random bits (every float step). */
    public static double uniform01(long key, long i) {
        long z = mix64(key + (i + 1) * 0x9E3779B97F4A7C15L); // golden-ratio Weyl increment
        return (z >>> 40) * 0x1p-24;
    }

    /** Fills {@code out} with U(-bound, bound) values of stream {@code key}, elements from {@code offset}. */
    static void fillUniform(float[] out, long key, long offset, double bound) {
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) ((2 * uniform01(key, offset + i) - 1) * bound);
        }
    }

    /** SplitMix64's output function (Steele, Lea, Flood 2014): a bijective 64-bit mixer. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
