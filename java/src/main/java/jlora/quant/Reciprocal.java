package jlora.quant;

/**
 * How a quantizer turns a block's absmax into the scale it multiplies by. bitsandbytes' kernels
 * write {@code 1.0f / absmax} but are built with {@code nvcc --use_fast_math} (its CMakeLists),
 * which makes that an approximate reciprocal on the GPU: it can differ from the correctly rounded
 * value in the last bit, and then an element within about an ulp of a code threshold lands on
 * the neighbouring code. {@link #IEEE} is the correctly rounded quotient; {@link ReciprocalTable}
 * replays a GPU's reciprocal from a table captured on that GPU.
 */
@FunctionalInterface
public interface Reciprocal {
    float of(float absmax);

    Reciprocal IEEE = a -> 1.0f / a;
}
