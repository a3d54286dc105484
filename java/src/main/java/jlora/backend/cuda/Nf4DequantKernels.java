package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import jlora.quant.Nf4Tensor;

/**
 * NF4 (+ double quant) → bf16 on the device (cuda/nf4_dequant.cu), bit-exact with
 * {@link Nf4Tensor#dequantize(jlora.tensor.DType, java.lang.foreign.Arena)} to BF16. The output
 * is the reusable scratch the LoRA GEMM reads: {@code numel} bf16 values.
 */
public final class Nf4DequantKernels {
    private final CudaApi api;
    private final MethodHandle plain, nested;

    public Nf4DequantKernels(CudaApi api) {
        this.api = api;
        plain = api.bindStatus("jl_nf4_dequant_bf16", ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
        nested = api.bindStatus("jl_nf4_dequant_dq_bf16", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_FLOAT, JAVA_INT,
                JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
    }

    /**
     * An NF4 weight's parts on the device. Without double quant {@code absmax} holds f32 and
     * {@code nestedAbsmax} / {@code code} are null; with it {@code absmax} holds the u8 codes.
     */
    public record Weight(DeviceBuffer packed, DeviceBuffer absmax, DeviceBuffer nestedAbsmax, DeviceBuffer code,
            float offset, int nestedBlocksize, long numel, int blocksize) implements AutoCloseable {

        public boolean doubleQuant() {
            return code != null;
        }

        /** Copies {@code w}'s storage to the device. */
        public static Weight upload(CudaApi api, Nf4Tensor w) {
            DeviceBuffer packed = upload(api, w.packed().data());
            DeviceBuffer absmax = upload(api, w.absmax().data());
            if (w.nested().isEmpty()) return new Weight(packed, absmax, null, null, 0f, 1, w.numel(), w.blocksize());
            Nf4Tensor.Nested n = w.nested().get();
            return new Weight(packed, absmax, upload(api, n.nestedAbsmax().data()), upload(api, n.code().data()),
                    n.offset(), n.blocksize(), w.numel(), w.blocksize());
        }

        private static DeviceBuffer upload(CudaApi api, MemorySegment host) {
            DeviceBuffer b = new DeviceBuffer(api, host.byteSize());
            b.copyFrom(host);
            return b;
        }

        @Override
        public void close() {
            for (DeviceBuffer b : new DeviceBuffer[] {packed, absmax, nestedAbsmax, code}) {
                if (b != null) b.close();
            }
        }
    }

    /** Dequantizes all of {@code w} into {@code out} from byte 0 ({@code 2 · numel} bytes). */
    public void dequantizeBf16(Weight w, DeviceBuffer out) {
        long n = w.numel();
        long blocks = Math.ceilDiv(n, (long) w.blocksize());
        MemorySegment packed = w.packed().at(0, Math.ceilDiv(n, 2L));
        MemorySegment dst = out.at(0, Math.multiplyExact(n, 2L));
        int bs = w.blocksize();
        if (!w.doubleQuant()) {
            MemorySegment absmax = w.absmax().at(0, 4 * blocks);
            api.run("jl_nf4_dequant_bf16", () -> (int) plain.invokeExact(packed, absmax, n, bs, dst, MemorySegment.NULL));
            return;
        }
        MemorySegment codes = w.absmax().at(0, blocks);
        MemorySegment nestedAbsmax = w.nestedAbsmax().at(0, 4 * Math.ceilDiv(blocks, (long) w.nestedBlocksize()));
        MemorySegment code = w.code().at(0, 4 * 256);
        float offset = w.offset();
        int nbs = w.nestedBlocksize();
        api.run("jl_nf4_dequant_dq_bf16", () -> (int) nested.invokeExact(packed, codes, nestedAbsmax, code, offset, nbs,
                n, bs, dst, MemorySegment.NULL));
    }
}
