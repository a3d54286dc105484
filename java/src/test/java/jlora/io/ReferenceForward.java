package jlora.io;

import java.util.Map;

/**
 * An fp64 forward pass of a Qwen2/Llama decoder written from transformers' modeling_qwen2 /
 * modeling_llama, independent of jlora's engine: RMSNorm x/sqrt(mean(x²)+eps)·w, q/k/v
 * projections (+bias), RoPE rotate-half with inv_freq_i = theta^(-2i/d), causal GQA attention
 * scaled by 1/sqrt(d), o_proj, SwiGLU down(silu(gate)·up), final norm, tied or separate head.
 * Weights are HF-named row-major [out, in] arrays.
 */
record ReferenceForward(Map<String, double[]> w, int hidden, int inter, int layers, int heads, int kvHeads, int headDim,
                        int vocab, double eps, double theta, boolean tied) {

    /** Logits of the next token after {@code ids}. */
    double[] nextLogits(int[] ids) {
        int t = ids.length, d = headDim, kvDim = kvHeads * d;
        double[][] x = new double[t][];
        double[] emb = w.get("model.embed_tokens.weight");
        for (int i = 0; i < t; i++) x[i] = java.util.Arrays.copyOfRange(emb, ids[i] * hidden, (ids[i] + 1) * hidden);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            double[][] q = new double[t][], k = new double[t][], v = new double[t][];
            for (int i = 0; i < t; i++) {
                double[] h = rmsNorm(x[i], w.get(p + "input_layernorm.weight"));
                double[] qi = linear(p + "self_attn.q_proj", h, heads * d, hidden);
                double[] ki = linear(p + "self_attn.k_proj", h, kvDim, hidden);
                if (w.containsKey(p + "self_attn.q_norm.weight")) { // qwen3: per-head RMSNorm before RoPE
                    qi = headNorm(qi, w.get(p + "self_attn.q_norm.weight"), heads, d);
                    ki = headNorm(ki, w.get(p + "self_attn.k_norm.weight"), kvHeads, d);
                }
                q[i] = rope(qi, i, heads, d);
                k[i] = rope(ki, i, kvHeads, d);
                v[i] = linear(p + "self_attn.v_proj", h, kvDim, hidden);
            }
            for (int i = 0; i < t; i++) {
                double[] att = new double[heads * d];
                for (int hh = 0; hh < heads; hh++) {
                    int kh = hh / (heads / kvHeads);
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) dot += q[i][hh * d + e] * k[j][kh * d + e];
                        s[j] = dot / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int j = 0; j <= i; j++) {
                        for (int e = 0; e < d; e++) att[hh * d + e] += s[j] / sum * v[j][kh * d + e];
                    }
                }
                double[] o = linear(p + "self_attn.o_proj", att, hidden, heads * d);
                for (int e = 0; e < hidden; e++) x[i][e] += o[e];
                double[] h2 = rmsNorm(x[i], w.get(p + "post_attention_layernorm.weight"));
                double[] g = linear(p + "mlp.gate_proj", h2, inter, hidden);
                double[] u = linear(p + "mlp.up_proj", h2, inter, hidden);
                for (int e = 0; e < inter; e++) g[e] = g[e] / (1 + Math.exp(-g[e])) * u[e];
                double[] down = linear(p + "mlp.down_proj", g, hidden, inter);
                for (int e = 0; e < hidden; e++) x[i][e] += down[e];
            }
        }
        double[] h = rmsNorm(x[t - 1], w.get("model.norm.weight"));
        double[] head = w.get(tied ? "model.embed_tokens.weight" : "lm_head.weight");
        double[] logits = new double[vocab];
        for (int r = 0; r < vocab; r++) {
            double s = 0;
            for (int e = 0; e < hidden; e++) s += head[r * hidden + e] * h[e];
            logits[r] = s;
        }
        return logits;
    }

    private double[] linear(String name, double[] in, int out, int inDim) {
        double[] m = w.get(name + ".weight");
        double[] b = w.get(name + ".bias");
        double[] y = new double[out];
        for (int r = 0; r < out; r++) {
            double s = b != null ? b[r] : 0;
            for (int c = 0; c < inDim; c++) s += m[r * inDim + c] * in[c];
            y[r] = s;
        }
        return y;
    }

    private double[] rmsNorm(double[] x, double[] g) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * inv * g[i];
        return y;
    }

    private double[] headNorm(double[] x, double[] g, int nHeads, int d) {
        double[] y = new double[x.length];
        for (int hh = 0; hh < nHeads; hh++) {
            double[] n = rmsNorm(java.util.Arrays.copyOfRange(x, hh * d, (hh + 1) * d), g);
            System.arraycopy(n, 0, y, hh * d, d);
        }
        return y;
    }

    /** transformers' rotate-half: dimension i pairs with i + d/2. */
    private double[] rope(double[] x, int pos, int nHeads, int d) {
        double[] y = x.clone();
        for (int hh = 0; hh < nHeads; hh++) {
            for (int i = 0; i < d / 2; i++) {
                double a = pos * Math.pow(theta, -2.0 * i / d);
                double x0 = x[hh * d + i], x1 = x[hh * d + i + d / 2];
                y[hh * d + i] = x0 * Math.cos(a) - x1 * Math.sin(a);
                y[hh * d + i + d / 2] = x1 * Math.cos(a) + x0 * Math.sin(a);
            }
        }
        return y;
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /** Gap between the largest and second-largest value. */
    static double margin(double[] v) {
        int a = argmax(v);
        double second = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v.length; i++) if (i != a) second = Math.max(second, v[i]);
        return v[a] - second;
    }
}
