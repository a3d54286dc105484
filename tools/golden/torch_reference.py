#!/usr/bin/env python3
"""Peer oracle without transformers: a tiny Qwen2 and a tiny Llama, an independent torch forward
and PEFT-formula LoRA, and the logits, loss and LoRA gradients jlora must reproduce.

Needs only torch (Debian's python3-torch 1.13 on the CPU is enough); no transformers, no peft,
no safetensors package: the safetensors files are written and read with struct + json here.

  /usr/bin/python3 tools/golden/torch_reference.py [--out java/src/test/resources/golden/torch]

For each case (qwen2: q/k/v bias, GQA 2:1, tied head; llama: no bias, GQA 2:1, untied head;
llama-packed: two documents in one row, position ids restarting at 0) it
writes <out>/<case>/:
  model/config.json, model/model.safetensors      random fp32 weights (norms near 1)
  adapter/adapter_config.json, adapter/adapter_model.safetensors
                                                  a PEFT LoRA adapter on all seven linears with
                                                  random A and non-zero random B
  logits.bin                                      fp32 little-endian [T, V]
  grad.<n>.bin                                    fp32 little-endian, d(mean loss)/d(tensor)
  manifest.json                                   ids, labels, loss, and which .bin is which
The forward follows transformers' modeling_llama / modeling_qwen2 (read, not imported): RMSNorm in
fp32, rotate-half RoPE with inv_freq = 1 / theta^(2i/d) formed in fp32, causal GQA softmax
attention with scale 1/sqrt(head_dim), SwiGLU, and PEFT's lora.Linear
y = x W^T + b + (alpha / r) * B(A(x)). The loss is transformers' ForCausalLMLoss: logits[t] scored
against labels[t+1], mean over labels != -100. jlora.nn.TorchGoldenTest reads these.
"""
import argparse
import json
import math
import os
import struct

import torch

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def write_safetensors(path, tensors, metadata=None):
    """The safetensors layout: u64 LE header length, JSON header (name -> dtype, shape, offsets), data."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        vals = struct.unpack("<%df" % ((b - a) // 4), data[a:b])
        out[name] = torch.tensor(vals, dtype=torch.float32).reshape(info["shape"])
    return out


def config_for(case):
    common = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=128, hidden_act="silu",
                  torch_dtype="float32", vocab_size=61)
    if case == "qwen2":
        return dict(common, architectures=["Qwen2ForCausalLM"], model_type="qwen2", rms_norm_eps=1e-6,
                    rope_theta=10000.0, tie_word_embeddings=True, use_sliding_window=False, sliding_window=None)
    return dict(common, architectures=["LlamaForCausalLM"], model_type="llama", rms_norm_eps=1e-5,
                rope_theta=500000.0, tie_word_embeddings=False, attention_bias=False, mlp_bias=False)


def random_weights(cfg, gen):
    h, inter, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    dh = h // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * dh, cfg["num_key_value_heads"] * dh
    bias = cfg["model_type"] == "qwen2"
    w = {"model.embed_tokens.weight": torch.randn(v, h, generator=gen) * 0.15}
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(h, generator=gen)
        for name, o, n in (("q_proj", q, h), ("k_proj", kv, h), ("v_proj", kv, h), ("o_proj", h, q)):
            w[p + "self_attn.%s.weight" % name] = torch.randn(o, n, generator=gen) * 0.15
            if bias and name != "o_proj":
                w[p + "self_attn.%s.bias" % name] = torch.randn(o, generator=gen) * 0.1
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(h, generator=gen)
        for name, o, n in (("gate_proj", inter, h), ("up_proj", inter, h), ("down_proj", h, inter)):
            w[p + "mlp.%s.weight" % name] = torch.randn(o, n, generator=gen) * 0.15
    w["model.norm.weight"] = 1 + 0.1 * torch.randn(h, generator=gen)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = torch.randn(v, h, generator=gen) * 0.15
    return w


def adapter_config(r, alpha):
    return {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": None, "bias": "none",
            "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
            "layers_pattern": None, "layers_to_transform": None, "lora_alpha": alpha, "lora_dropout": 0.0,
            "modules_to_save": None, "peft_type": "LORA", "r": r, "rank_pattern": {}, "revision": None,
            "target_modules": TARGETS, "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": False}


def random_adapter(cfg, r, gen):
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    dh = h // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * dh, cfg["num_key_value_heads"] * dh
    shapes = {"q_proj": (q, h), "k_proj": (kv, h), "v_proj": (kv, h), "o_proj": (h, q),
              "gate_proj": (inter, h), "up_proj": (inter, h), "down_proj": (h, inter)}
    out = {}
    for i in range(cfg["num_hidden_layers"]):
        for m in TARGETS:
            path = "model.layers.%d.%s.%s" % (i, "self_attn" if m in TARGETS[:4] else "mlp", m)
            o, n = shapes[m]
            out[path + ".lora_A.weight"] = (torch.rand(r, n, generator=gen) * 2 - 1) / math.sqrt(n)
            out[path + ".lora_B.weight"] = torch.randn(o, r, generator=gen) * 0.05
    return out


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(cfg, w, lora, scale, ids, positions):
    """Logits [T, V]; `lora` maps module path -> (A, B) tensors (leaves that collect gradients)."""
    T, h = len(ids), cfg["hidden_size"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh = h // H
    eps = cfg["rms_norm_eps"]

    def linear(x, path):
        y = x @ w[path + ".weight"].T
        if path + ".bias" in w:
            y = y + w[path + ".bias"]
        if path in lora:
            a, b = lora[path]
            y = y + scale * ((x @ a.T) @ b.T)
        return y

    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, dh, 2, dtype=torch.int64).float() / dh))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    # Packed documents: a new one starts at every position id 0 (DataCollatorWithFlattening), and a
    # token sees only earlier tokens of its own document.
    doc = torch.cumsum((positions == 0).long(), 0)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool)) & (doc[:, None] == doc[None, :])

    x = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        hs = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(hs, p + "self_attn.q_proj").view(T, H, dh)
        k = linear(hs, p + "self_attn.k_proj").view(T, KV, dh)
        v = linear(hs, p + "self_attn.v_proj").view(T, KV, dh)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)   # repeat_kv: query head j reads kv head j // (H/KV)
        v = v.repeat_interleave(H // KV, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(dh)
        scores = scores.masked_fill(~causal, float("-inf"))
        att = torch.einsum("hts,shd->thd", scores.softmax(-1), v).reshape(T, H * dh)
        x = x + linear(att, p + "self_attn.o_proj")
        hs = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = linear(hs, p + "mlp.gate_proj")
        x = x + linear(torch.nn.functional.silu(g) * linear(hs, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.T


def make_case(out_dir, case, seed, packed=False):
    gen = torch.Generator().manual_seed(seed)
    cfg = config_for(case.split("-")[0])
    w = random_weights(cfg, gen)
    r, alpha = 4, 8
    adapter = random_adapter(cfg, r, gen)
    os.makedirs(os.path.join(out_dir, "model"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "adapter"), exist_ok=True)
    with open(os.path.join(out_dir, "model", "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    write_safetensors(os.path.join(out_dir, "model", "model.safetensors"), w, {"format": "pt"})
    with open(os.path.join(out_dir, "adapter", "adapter_config.json"), "w") as f:
        json.dump(adapter_config(r, alpha), f, indent=2, sort_keys=True)
    write_safetensors(os.path.join(out_dir, "adapter", "adapter_model.safetensors"),
                      {"base_model.model." + k: v for k, v in adapter.items()}, {"format": "pt"})

    # Read back what was written, so the oracle computes with exactly the stored fp32 values.
    w = read_safetensors(os.path.join(out_dir, "model", "model.safetensors"))
    stored = read_safetensors(os.path.join(out_dir, "adapter", "adapter_model.safetensors"))
    params = {k[len("base_model.model."):]: v.clone().requires_grad_(True) for k, v in stored.items()}
    lora = {}
    for name, t in params.items():
        path, ab = name.rsplit(".lora_", 1)
        lora.setdefault(path, [None, None])[0 if ab == "A.weight" else 1] = t
    T = 14
    ids = torch.randint(0, cfg["vocab_size"], (T,), generator=gen)
    labels = ids.clone()
    labels[0] = -100
    labels[5] = -100
    labels[6] = -100
    positions = torch.arange(T)
    if packed:
        positions = torch.cat((torch.arange(6), torch.arange(T - 6)))
        labels[6] = -100   # the first token of the second document is nobody's target
    logits = forward(cfg, w, lora, alpha / r, ids, positions)
    shift_logits, shift_labels = logits[:-1], labels[1:]
    loss = torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="mean")
    loss.backward()

    logits.detach().numpy().astype("<f4").tofile(os.path.join(out_dir, "logits.bin"))
    grads = {}
    for k, (name, t) in enumerate(sorted(params.items())):
        fname = "grad.%d.bin" % k
        t.grad.numpy().astype("<f4").tofile(os.path.join(out_dir, fname))
        grads[name] = {"file": fname, "shape": list(t.shape)}
    manifest = {"case": case, "seed": seed, "oracle": "torch %s, tools/golden/torch_reference.py" % torch.__version__,
                "ids": ids.tolist(), "positions": positions.tolist(), "labels": labels.tolist(),
                "loss": loss.item(), "counted": int((shift_labels != -100).sum()),
                "logits": {"file": "logits.bin", "shape": list(logits.shape)}, "grads": grads}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("%s: loss %.6f, %d gradient tensors" % (case, loss.item(), len(grads)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="java/src/test/resources/golden/torch")
    ap.add_argument("--seed", type=int, default=20261124)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for i, case in enumerate(["qwen2", "llama", "llama-packed"]):
        make_case(os.path.join(args.out, case), case, args.seed + i, packed=case.endswith("-packed"))


if __name__ == "__main__":
    main()
