package jlora.nn;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import jlora.UserError;
import jlora.backend.DenseWeight;
import jlora.backend.LinearWeight;
import jlora.io.SafetensorsDir;
import jlora.quant.Bnb4bitFormat;
import jlora.quant.Nf4;
import jlora.quant.Nf4Tensor;
import jlora.tensor.DType;
import jlora.tensor.Tensor;

/**
 * Turns the tensors of a safetensors directory into what the modules hold: dense weights in the
 * requested dtype (the mapped file itself when it already has that dtype), NF4 weights quantized
 * here or read from a bitsandbytes 4-bit checkpoint, and small F32 vectors.
 */
final class WeightLoader {
    /** The suffixes under which bitsandbytes stores the state of a 4-bit weight W ("W.absmax" ...). */
    private static final String[] BNB_PARTS = {Bnb4bitFormat.ABSMAX, Bnb4bitFormat.QUANT_MAP, Bnb4bitFormat.NESTED_ABSMAX,
            Bnb4bitFormat.NESTED_QUANT_MAP, Bnb4bitFormat.QUANT_STATE_NF4, Bnb4bitFormat.QUANT_STATE_FP4};

    private final SafetensorsDir dir;
    private final LoadOptions options;
    private final Arena arena;

    WeightLoader(SafetensorsDir dir, LoadOptions options, Arena arena) {
        this.dir = dir;
        this.options = options;
        this.arena = arena;
    }

    /** A weight in the load dtype; zero-copy when the file already stores it so. */
    Tensor dense(String name) {
        Tensor src = dir.tensor(name);
        requireFloat(name, src);
        if (src.dtype() == options.dtype()) return src;
        Tensor out = Tensor.allocate(options.dtype(), src.shape(), arena);
        for (long i = 0; i < src.numel(); i++) out.setFloat(i, src.getFloat(i)); // one rounding to nearest even
        return out;
    }

    /** A norm weight or bias: rounded to the load dtype (what the model holds), stored F32. */
    Tensor vector(String name) {
        Tensor src = dir.tensor(name);
        requireFloat(name, src);
        Tensor out = Tensor.allocate(DType.F32, src.shape(), arena);
        boolean bf16 = options.dtype() == DType.BF16;
        for (long i = 0; i < src.numel(); i++) {
            float v = src.getFloat(i);
            out.setFloat(i, bf16 ? jlora.tensor.HalfFloats.bf16ToF32(jlora.tensor.HalfFloats.f32ToBf16(v)) : v);
        }
        return out;
    }

    Tensor optionalVector(String name) {
        return dir.contains(name) ? vector(name) : null;
    }

    /** A linear projection: pre-quantized bitsandbytes NF4, NF4 quantized now, or dense. */
    LinearWeight linear(String name) {
        Map<String, Tensor> parts = new LinkedHashMap<>();
        for (String suffix : BNB_PARTS) if (dir.contains(name + suffix)) parts.put(name + suffix, dir.tensor(name + suffix));
        if (Bnb4bitFormat.isQuantized(parts, name)) {
            parts.put(name, dir.tensor(name));
            return new Nf4Weight(Nf4Tensor.fromBitsandbytes(parts, name));
        }
        Tensor w = dense(name);
        if (!options.nf4()) return new DenseWeight(w);
        return new Nf4Weight(Nf4Tensor.quantize(w, Nf4.DEFAULT_BLOCKSIZE, options.doubleQuant(), arena));
    }

    private void requireFloat(String name, Tensor t) {
        DType d = t.dtype();
        if (d != DType.F32 && d != DType.BF16 && d != DType.F16) {
            throw new UserError(dir.path() + ": tensor '" + name + "' is " + d + "; expected F32, BF16 or F16"
                    + " (a quantized checkpoint other than bitsandbytes 4-bit cannot be loaded)");
        }
    }
}
