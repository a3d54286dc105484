package jlora.nn;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import jlora.io.SafetensorsDir;
import jlora.model.ModelConfig;
import jlora.tensor.Tensor;

/**
 * An independent float64 forward of transformers' Llama / Qwen2 / Qwen3 / Mistral modeling code
 * (written from the math there, sharing nothing with jlora.nn or the backend): RMSNorm,
 * rotate-half RoPE, causal GQA softmax attention within documents (a document starts at each
 * position id 0), SwiGLU, and PEFT's LoRA y = xWᵀ + b + scale·(xAᵀ)Bᵀ. Every tensor is a mutable
 * double[] by Hugging Face / PEFT name, so finite differences can perturb any of them.
 */
final class ReferenceLM {
    final ModelConfig c;
    final Map<String, double[]> w = new HashMap<>();
    final Map<String, Double> loraScale = new HashMap<>();

    ReferenceLM(Path dir) {
        c = ModelConfig.load(dir);
        try (SafetensorsDir st = SafetensorsDir.open(dir)) {
            for (String n : st.names()) w.put(n, toDouble(st.tensor(n)));
        }
    }

    static double[] toDouble(Tensor t) {
        double[] d = new double[Math.toIntExact(t.numel())];
        for (int i = 0; i < d.length; i++) d[i] = t.getFloat(i);
        return d;
    }

    /** Adds (or replaces) the adapter of module {@code path}. */
    void lora(String path, Tensor a, Tensor b, double scale) {
        w.put(path + ".lora_A.weight", toDouble(a));
        w.put(path + ".lora_B.weight", toDouble(b));
        loraScale.put(path, scale);
    }

    /** Logits [T][V]. */
    double[][] logits(int[] ids, int[] pos) {
        int T = ids.length, D = c.hiddenSize(), V = c.vocabSize();
        double[][] x = new double[T][];
        double[] emb = w.get("model.embed_tokens.weight");
        for (int t = 0; t < T; t++) x[t] = java.util.Arrays.copyOfRange(emb, ids[t] * D, ids[t] * D + D);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] h = norm(x, w.get(p + "input_layernorm.weight"));
            double[][] a = attention(h, pos, p + "self_attn.");
            for (int t = 0; t < T; t++) for (int i = 0; i < D; i++) x[t][i] += a[t][i];
            h = norm(x, w.get(p + "post_attention_layernorm.weight"));
            double[][] g = linear(h, p + "mlp.gate_proj"), u = linear(h, p + "mlp.up_proj");
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < g[t].length; i++) g[t][i] = g[t][i] / (1 + Math.exp(-g[t][i])) * u[t][i];
            }
            double[][] m = linear(g, p + "mlp.down_proj");
            for (int t = 0; t < T; t++) for (int i = 0; i < D; i++) x[t][i] += m[t][i];
        }
        x = norm(x, w.get("model.norm.weight"));
        double[] head = w.get(c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
        double[][] out = new double[T][V];
        for (int t = 0; t < T; t++) {
            for (int v = 0; v < V; v++) {
                double s = 0;
                for (int i = 0; i < D; i++) s += x[t][i] * head[v * D + i];
                out[t][v] = s;
            }
        }
        return out;
    }

    /** Σ over counted t of −log softmax(logits[t])[labels[t+1]] (transformers' shift), and the count. */
    double[] loss(int[] ids, int[] pos, int[] labels) {
        double[][] z = logits(ids, pos);
        double sum = 0;
        int n = 0;
        for (int t = 0; t + 1 < ids.length; t++) {
            int y = labels[t + 1];
            if (y == -100) continue;
            double max = Double.NEGATIVE_INFINITY;
            for (double v : z[t]) max = Math.max(max, v);
            double s = 0;
            for (double v : z[t]) s += Math.exp(v - max);
            sum += max + Math.log(s) - z[t][y];
            n++;
        }
        return new double[] {sum, n};
    }

    private double[][] attention(double[][] h, int[] pos, String p) {
        int T = h.length, H = c.numAttentionHeads(), KV = c.numKeyValueHeads(), Dh = c.headDim();
        double[][] q = linear(h, p + "q_proj"), k = linear(h, p + "k_proj"), v = linear(h, p + "v_proj");
        if (c.qkNorm()) {
            headNorm(q, H, w.get(p + "q_norm.weight"));
            headNorm(k, KV, w.get(p + "k_norm.weight"));
        }
        rope(q, H, pos);
        rope(k, KV, pos);
        int[] doc = new int[T];
        for (int t = 1; t < T; t++) doc[t] = pos[t] == 0 ? doc[t - 1] + 1 : doc[t - 1];
        double[][] out = new double[T][H * Dh];
        double scale = 1 / Math.sqrt(Dh);
        for (int hh = 0; hh < H; hh++) {
            int kh = hh / (H / KV);
            for (int i = 0; i < T; i++) {
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    if (doc[j] != doc[i]) { s[j] = Double.NEGATIVE_INFINITY; continue; }
                    double d = 0;
                    for (int e = 0; e < Dh; e++) d += q[i][hh * Dh + e] * k[j][kh * Dh + e];
                    s[j] = d * scale;
                    max = Math.max(max, s[j]);
                }
                double z = 0;
                for (int j = 0; j <= i; j++) z += s[j] = Math.exp(s[j] - max);
                for (int j = 0; j <= i; j++) {
                    for (int e = 0; e < Dh; e++) out[i][hh * Dh + e] += s[j] / z * v[j][kh * Dh + e];
                }
            }
        }
        return linear(out, p + "o_proj");
    }

    private void rope(double[][] x, int heads, int[] pos) {
        int Dh = c.headDim(), half = Dh / 2;
        for (int t = 0; t < x.length; t++) {
            for (int hh = 0; hh < heads; hh++) {
                for (int i = 0; i < half; i++) {
                    double inv = 1 / Math.pow(c.ropeTheta(), 2.0 * i / Dh);
                    double ang = pos[t] * inv, cs = Math.cos(ang), sn = Math.sin(ang);
                    int o = hh * Dh;
                    double x1 = x[t][o + i], x2 = x[t][o + i + half];
                    x[t][o + i] = x1 * cs - x2 * sn;
                    x[t][o + i + half] = x2 * cs + x1 * sn;
                }
            }
        }
    }

    private void headNorm(double[][] x, int heads, double[] weight) {
        int Dh = c.headDim();
        for (double[] row : x) {
            for (int hh = 0; hh < heads; hh++) {
                double ms = 0;
                for (int e = 0; e < Dh; e++) ms += row[hh * Dh + e] * row[hh * Dh + e];
                double r = 1 / Math.sqrt(ms / Dh + c.rmsNormEps());
                for (int e = 0; e < Dh; e++) row[hh * Dh + e] = row[hh * Dh + e] * r * weight[e];
            }
        }
    }

    private double[][] norm(double[][] x, double[] weight) {
        double[][] out = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ms = 0;
            for (double v : x[t]) ms += v * v;
            double r = 1 / Math.sqrt(ms / x[t].length + c.rmsNormEps());
            out[t] = new double[x[t].length];
            for (int i = 0; i < x[t].length; i++) out[t][i] = x[t][i] * r * weight[i];
        }
        return out;
    }

    private double[][] linear(double[][] x, String path) {
        double[] W = w.get(path + ".weight"), b = w.get(path + ".bias");
        int in = x[0].length, out = W.length / in;
        double[][] y = new double[x.length][out];
        double[] A = w.get(path + ".lora_A.weight"), B = w.get(path + ".lora_B.weight");
        int r = A == null ? 0 : A.length / in;
        for (int t = 0; t < x.length; t++) {
            double[] xa = new double[r];
            for (int j = 0; j < r; j++) for (int i = 0; i < in; i++) xa[j] += x[t][i] * A[j * in + i];
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) s += x[t][i] * W[o * in + i];
                if (r > 0) {
                    double l = 0;
                    for (int j = 0; j < r; j++) l += xa[j] * B[o * r + j];
                    s += loraScale.get(path) * l;
                }
                y[t][o] = s;
            }
        }
        return y;
    }
}
