package jlora.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jlora.UserError;
import jlora.model.ModelConfig;
import jlora.model.RopeScaling;
import jlora.quant.GgmlQuants;
import jlora.quant.GgmlType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * A Hugging Face model directory → one GGUF file that llama.cpp runs, as convert_hf_to_gguf.py
 * (plus llama-quantize for q4_k_m) would write it: architecture metadata, tokenizer, and the
 * weights renamed to llama.cpp's tensor names, in the chosen {@link GgufFileType}.
 *
 * <p>Llama and Mistral become llama.cpp's "llama" architecture, whose RoPE rotates adjacent
 * pairs (x0,x1),(x2,x3)...; transformers rotates halves (x_i, x_{i+d/2}). convert_hf_to_gguf
 * therefore permutes the rows of q_proj and k_proj (weights and biases) per head so that
 * half-split pairs become adjacent: output row h·d + 2i + j takes input row h·d + j·d/2 + i.
 * Qwen2/Qwen3 use llama.cpp's NEOX RoPE (rotate-half) and are written unpermuted.
 */
public final class GgufExport {
    private GgufExport() {}

    /** The rows of one source tensor, after an optional row permutation; row-major [rows, cols]. */
    public interface RowSource {
        long[] shape();

        /** Writes row {@code r} of the output into {@code out[0..cols)}. */
        void row(long r, float[] out);
    }

    /**
     * The weights to export by Hugging Face name, e.g. a model directory's safetensors or a base
     * model with a LoRA adapter merged on the fly (the merge supplies this, row by row if it likes:
     * the export reads each tensor once, in order).
     */
    public interface WeightSource {
        /** The tensor, or null if the model has none of that name. */
        Tensor tensor(String hfName);
    }

    /** Exports {@code modelDir} to {@code out} and a Modelfile beside it; returns the tensors written. */
    public static List<GgufWriter.TensorEntry> export(Path modelDir, Path out, GgufFileType type) {
        ModelConfig c = ModelConfig.load(modelDir);
        try (SafetensorsDir st = SafetensorsDir.open(modelDir)) {
            return export(c, modelDir, name -> st.contains(name) ? st.tensor(name) : null, out, type);
        }
    }

    /**
     * Exports the model {@code c} describes, with weights from {@code weights} and the tokenizer
     * files of {@code tokenizerDir} (tokenizer.json, tokenizer_config.json).
     */
    public static List<GgufWriter.TensorEntry> export(ModelConfig c, Path tokenizerDir, WeightSource weights, Path out,
                                                      GgufFileType type) {
        GgufWriter w = new GgufWriter();
        String arch = architecture(c);
        putModelMetadata(w, c, arch, name(tokenizerDir), type);
        GgufTokenizer tok = GgufTokenizer.read(tokenizerDir, c.modelType(), c.vocabSize());
        tok.putInto(w);
        boolean hasHead = !c.tieWordEmbeddings() && weights.tensor("lm_head.weight") != null;
        for (Map.Entry<String, Shape> e : c.weightMap().expected().entrySet()) {
            String hf = e.getKey();
            Tensor t = weights.tensor(hf);
            if (t == null) {
                throw new UserError(c.source().resolveSibling("*.safetensors") + ": tensor " + hf
                        + " is missing; the weights do not match config.json");
            }
            if (!t.shape().equals(e.getValue())) {
                throw new UserError(c.source().resolveSibling("*.safetensors") + ": tensor " + hf + " has shape "
                        + t.shape() + ", config.json implies " + e.getValue());
            }
            String g = GgufTensorNames.of(hf);
            int layer = GgufTensorNames.layer(hf);
            boolean asOutput = g.equals("output.weight") || (!hasHead && g.equals("token_embd.weight"));
            RowSource src = rows(t, permuteHeads(c, arch, hf));
            GgmlType gt = type.tensorType(g, src.shape(), layer, c.numHiddenLayers(), asOutput);
            w.addTensor(g, src.shape(), gt, channel -> stream(src, gt, channel));
        }
        if (c.ropeScaling().type() == RopeScaling.Type.LLAMA3) {
            float[] f = llama3RopeFactors(c);
            w.addTensor("rope_freqs.weight", new long[] {f.length}, GgmlType.F32,
                    channel -> stream(rows(f), GgmlType.F32, channel));
        }
        w.write(out);
        AtomicFiles.writeString(modelfile(out), OllamaModelfile.text(out, tok.chatTemplate(), tok.tokens()));
        return w.tensors();
    }

    /** The Ollama Modelfile written beside {@code gguf}. */
    public static Path modelfile(Path gguf) {
        return gguf.toAbsolutePath().resolveSibling("Modelfile");
    }

    static String architecture(ModelConfig c) {
        return switch (c.modelType()) {
            case QWEN2 -> "qwen2";
            case QWEN3 -> "qwen3";
            case LLAMA, MISTRAL -> "llama";
        };
    }

    private static String name(Path dir) {
        Path f = dir.toAbsolutePath().normalize().getFileName();
        return f == null ? "model" : f.toString();
    }

    /** general.* and {arch}.* keys, as gguf-py's writer names them (constants.py Keys). */
    static void putModelMetadata(GgufWriter w, ModelConfig c, String arch, String name, GgufFileType type) {
        w.putString("general.architecture", arch);
        w.putString("general.name", name);
        w.putU32("general.file_type", type.llamaFtype);
        w.putU32("general.quantization_version", 2);
        w.putU32(arch + ".context_length", c.maxPositionEmbeddings());
        w.putU32(arch + ".embedding_length", c.hiddenSize());
        w.putU32(arch + ".block_count", c.numHiddenLayers());
        w.putU32(arch + ".feed_forward_length", c.intermediateSize());
        w.putU32(arch + ".attention.head_count", c.numAttentionHeads());
        w.putU32(arch + ".attention.head_count_kv", c.numKeyValueHeads());
        w.putF32(arch + ".attention.layer_norm_rms_epsilon", c.rmsNormEps());
        w.putF32(arch + ".rope.freq_base", c.ropeTheta());
        w.putU32(arch + ".rope.dimension_count", c.headDim());
        if (c.headDim() * c.numAttentionHeads() != c.hiddenSize()) {
            w.putU32(arch + ".attention.key_length", c.headDim());
            w.putU32(arch + ".attention.value_length", c.headDim());
        }
        if (arch.equals("llama")) w.putU32(arch + ".vocab_size", c.vocabSize());
        RopeScaling rs = c.ropeScaling();
        switch (rs.type()) {
            case DEFAULT, LLAMA3 -> { } // llama3's factors travel as the rope_freqs.weight tensor
            case LINEAR, YARN -> {
                w.putString(arch + ".rope.scaling.type", rs.type().id());
                w.putF32(arch + ".rope.scaling.factor", rs.factor());
                if (rs.type() == RopeScaling.Type.YARN) {
                    w.putU32(arch + ".rope.scaling.original_context_length", rs.originalMaxPositionEmbeddings());
                }
            }
            case DYNAMIC -> throw new UserError(c.source() + ": rope_scaling type 'dynamic' has no llama.cpp"
                    + " equivalent; export a model without it or set rope_scaling to null");
        }
        // A sliding window (Mistral v0.1's 4096) is not written: convert_hf_to_gguf does not write
        // one for these architectures either, and llama.cpp then attends to the whole context,
        // which differs from transformers only beyond the window.
    }

    /** The per-head permutation of q/k rows for the "llama" architecture, or 0 heads for none. */
    static int permuteHeads(ModelConfig c, String arch, String hf) {
        if (!arch.equals("llama")) return 0;
        if (hf.endsWith("q_proj.weight") || hf.endsWith("q_proj.bias")) return c.numAttentionHeads();
        if (hf.endsWith("k_proj.weight") || hf.endsWith("k_proj.bias")) return c.numKeyValueHeads();
        return 0;
    }

    /** Rows of {@code t} (1-D = one row), output row r read from input row perm(r) when heads > 0. */
    static RowSource rows(Tensor t, int heads) {
        long[] shape = t.shape().dims();
        long rows = shape.length == 1 ? 1 : shape[0];
        long cols = t.numel() / rows;
        long headDim = heads > 0 ? rows / heads : 0;
        return new RowSource() {
            public long[] shape() {
                return shape;
            }

            public void row(long r, float[] out) {
                long src = r;
                if (heads > 0) {
                    long h = r / headDim, k = r % headDim, half = headDim / 2;
                    src = h * headDim + (k % 2) * half + k / 2;
                }
                long base = src * cols;
                for (int i = 0; i < cols; i++) out[i] = t.getFloat(base + i);
            }
        };
    }

    static RowSource rows(float[] v) {
        return new RowSource() {
            public long[] shape() {
                return new long[] {v.length};
            }

            public void row(long r, float[] out) {
                System.arraycopy(v, 0, out, 0, v.length);
            }
        };
    }

    /** Quantizes row by row into a bounded buffer: memory is one buffer, not one tensor. */
    static void stream(RowSource src, GgmlType type, java.nio.channels.FileChannel out) throws IOException {
        long[] s = src.shape();
        long rows = s.length == 1 ? 1 : s[0];
        int cols = Math.toIntExact(rowsProduct(s) / rows);
        float[] row = new float[cols];
        int rowBytes = (int) type.byteSize(cols);
        ByteBuffer buf = ByteBuffer.allocate(Math.max(rowBytes, 1 << 20)).order(ByteOrder.LITTLE_ENDIAN);
        for (long r = 0; r < rows; r++) {
            if (buf.remaining() < rowBytes) {
                AtomicFiles.writeAll(out, buf.flip());
                buf.clear();
            }
            src.row(r, row);
            GgmlQuants.quantize(type, row, 0, cols, buf);
        }
        AtomicFiles.writeAll(out, buf.flip());
    }

    private static long rowsProduct(long[] s) {
        long n = 1;
        for (long d : s) n *= d;
        return n;
    }

    /**
     * llama3 RoPE scaling as llama.cpp takes it: a per-dimension-pair divisor of the base
     * frequency (rope_freqs.weight), i.e. base_inv_freq[i] / scaled_inv_freq[i].
     */
    static float[] llama3RopeFactors(ModelConfig c) {
        double[] scaled = c.ropeInverseFrequencies(c.maxPositionEmbeddings());
        float[] f = new float[scaled.length];
        for (int i = 0; i < f.length; i++) {
            double base = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / c.headDim());
            f[i] = (float) (base / scaled[i]);
        }
        return f;
    }

    /** Names the types chosen, e.g. "q4_k x12, q6_k x3, f32 x9", for the command's summary. */
    public static String summary(List<GgufWriter.TensorEntry> tensors) {
        Map<GgmlType, Integer> n = new java.util.TreeMap<>();
        for (GgufWriter.TensorEntry t : tensors) n.merge(t.type(), 1, Integer::sum);
        List<String> parts = new ArrayList<>();
        n.forEach((k, v) -> parts.add(k.name().toLowerCase(java.util.Locale.ROOT) + " x" + v));
        return String.join(", ", parts);
    }
}
