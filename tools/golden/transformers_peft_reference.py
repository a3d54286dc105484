#!/usr/bin/env python3
"""Peer oracle with the real stack: transformers builds a tiny random Qwen2 and a tiny Llama, PEFT
wraps them with LoRA, and their logits, loss and LoRA gradients become jlora's fixtures.

Needs torch, transformers and peft (the GPU machine has them; its CPU is used, in fp32, with the
eager attention so nothing depends on a fused kernel).

  python3 tools/golden/transformers_peft_reference.py [--out java/src/test/resources/golden/transformers]

Writes, per case, the same layout as tools/golden/torch_reference.py, which
jlora.nn.TorchGoldenTest#matchesTransformersAndPeft reads (it skips while the directory is absent):
  model/        save_pretrained of the *ForCausalLM (config.json, model.safetensors)
  adapter/      PeftModel.save_pretrained (adapter_config.json, adapter_model.safetensors)
  logits.bin    fp32 little-endian [T, V] from the PeftModel forward
  grad.<n>.bin  d(outputs.loss)/d(lora_A / lora_B), fp32 little-endian
  manifest.json ids, positions, labels, loss, counted tokens, files
outputs.loss is transformers' ForCausalLMLoss: logits[t] against labels[t+1], mean over
labels != -100. Commit the output (well under 1 MB) so CI checks against it.
"""
import argparse
import json
import os

import torch

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def build(case):
    common = dict(vocab_size=61, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=128, hidden_act="silu")
    if case == "qwen2":
        from transformers import Qwen2Config, Qwen2ForCausalLM
        cfg = Qwen2Config(**common, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True,
                          use_sliding_window=False, attn_implementation="eager")
        cls = Qwen2ForCausalLM
    else:
        from transformers import LlamaConfig, LlamaForCausalLM
        cfg = LlamaConfig(**common, rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=False,
                          attention_bias=False, mlp_bias=False, attn_implementation="eager")
        cls = LlamaForCausalLM
    model = cls(cfg).to(torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))   # norms that matter, not all ones
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))      # larger than initializer_range: logits that vary
    return model


def make_case(out_dir, case, seed):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    model = build(case)
    model.save_pretrained(os.path.join(out_dir, "model"), safe_serialization=True)

    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS,
                                                  task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.copy_(0.05 * torch.randn_like(p))      # PEFT starts B at zero; make the adapter count
    peft_model.save_pretrained(os.path.join(out_dir, "adapter"), safe_serialization=True)
    peft_model.eval()

    T = 14
    ids = torch.randint(0, model.config.vocab_size, (T,))
    labels = ids.clone()
    labels[0] = labels[5] = labels[6] = -100
    positions = torch.arange(T)
    out = peft_model(input_ids=ids[None], position_ids=positions[None], labels=labels[None])
    out.loss.backward()

    os.makedirs(out_dir, exist_ok=True)
    out.logits[0].detach().float().numpy().astype("<f4").tofile(os.path.join(out_dir, "logits.bin"))
    grads = {}
    lora = sorted((n, p) for n, p in peft_model.named_parameters() if "lora_" in n)
    for k, (name, p) in enumerate(lora):
        # base_model.model.<path>.lora_A.default.weight -> <path>.lora_A.weight (PEFT's saved name, unprefixed)
        key = name[len("base_model.model."):].replace(".default.", ".")
        fname = "grad.%d.bin" % k
        p.grad.detach().float().numpy().astype("<f4").tofile(os.path.join(out_dir, fname))
        grads[key] = {"file": fname, "shape": list(p.shape)}
    import peft
    import transformers
    manifest = {"case": case, "seed": seed,
                "oracle": "transformers %s + peft %s, tools/golden/transformers_peft_reference.py"
                          % (transformers.__version__, peft.__version__),
                "ids": ids.tolist(), "positions": positions.tolist(), "labels": labels.tolist(),
                "loss": out.loss.item(), "counted": int((labels[1:] != -100).sum()),
                "logits": {"file": "logits.bin", "shape": [T, model.config.vocab_size]}, "grads": grads}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("%s: loss %.6f, %d gradient tensors" % (case, out.loss.item(), len(grads)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="java/src/test/resources/golden/transformers")
    ap.add_argument("--seed", type=int, default=20261124)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for i, case in enumerate(["qwen2", "llama"]):
        make_case(os.path.join(args.out, case), case, args.seed + i)


if __name__ == "__main__":
    main()
