#!/usr/bin/env python3
"""Golden PEFT LoRA adapters for jlora's tests, and a check that PEFT loads what jlora writes.

Needs torch, transformers, peft and safetensors (the GPU machine has them; CPU is enough).

  python tools/golden/peft_adapter.py make  [--out java/src/test/resources/golden/peft]
      Builds a tiny random Qwen2 (3 layers, hidden 64) with transformers, wraps it with PEFT LoRA
      in three configurations, makes lora_B (and saved norms) non-zero, and saves each adapter with
      save_pretrained. Writes:
        base/config.json                 the tiny model's config (weights are not needed)
        <case>/adapter_config.json       as PEFT wrote it
        <case>/adapter_model.safetensors as PEFT wrote it
        <case>/reference.json            what PEFT built: every adapted module's path, r, scaling,
                                         in/out features; saved modules; float64 sums of each tensor
      jlora.io.PeftGoldenTest compares jlora's reading of each case with reference.json.

  python tools/golden/peft_adapter.py check ADAPTER_DIR --base BASE_DIR
      Loads the adapter in ADAPTER_DIR (e.g. one jlora wrote: PeftGoldenTest writes them under
      java/target/peft-from-jlora/) onto a model built from BASE_DIR/config.json with
      PeftModel.from_pretrained, then checks that every tensor of adapter_model.safetensors landed
      in the PEFT model unchanged and that PEFT created no adapter the file lacks. Prints the
      verdict and each module's scaling; exits 1 if PEFT does not accept it.
"""
import argparse
import json
import os
import sys
import warnings

import torch


def tiny_config():
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True, torch_dtype="float32",
    )


CASES = {
    # names + layers_to_transform + rank/alpha patterns, saved in fp32
    "list_patterns": dict(
        config=dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                    layers_to_transform=[0, 2], rank_pattern={"down_proj": 2}, alpha_pattern={"v_proj": 16}),
        dtype=torch.float32),
    # all-linear + rsLoRA + trainable norms, saved in bf16
    "all_linear_rslora_bf16": dict(
        config=dict(r=8, lora_alpha=16, target_modules="all-linear", use_rslora=True,
                    modules_to_save=["input_layernorm", "post_attention_layernorm", "model.norm"]),
        dtype=torch.bfloat16),
    # a regex (re.fullmatch on the module path), saved in fp16
    "regex_fp16": dict(
        config=dict(r=4, lora_alpha=4, target_modules=r"model\.layers\.[12]\.(self_attn\.(k|o)_proj|mlp\.up_proj)"),
        dtype=torch.float16),
}


def make(out):
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file
    import peft
    import transformers
    from transformers import Qwen2ForCausalLM

    os.makedirs(os.path.join(out, "base"), exist_ok=True)
    cfg = tiny_config()
    cfg.save_pretrained(os.path.join(out, "base"))
    for name, case in CASES.items():
        torch.manual_seed(1234)
        model = Qwen2ForCausalLM(cfg)
        pm = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", lora_dropout=0.0, **case["config"]))
        gen = torch.Generator().manual_seed(99)
        with torch.no_grad():
            for pname, p in pm.named_parameters():
                if "lora_B" in pname or "modules_to_save" in pname:
                    p.add_(torch.randn(p.shape, generator=gen) * 0.01)
        pm = pm.to(case["dtype"])
        case_dir = os.path.join(out, name)
        pm.save_pretrained(case_dir)
        modules = {}
        for mname, mod in pm.base_model.model.named_modules():
            if hasattr(mod, "lora_A") and "default" in mod.lora_A:
                modules[mname] = dict(r=mod.r["default"], scaling=float(mod.scaling["default"]),
                                      in_features=mod.in_features, out_features=mod.out_features)
        tensors = load_file(os.path.join(case_dir, "adapter_model.safetensors"))
        ref = dict(
            modules=modules,
            tensors={k: dict(dtype=str(v.dtype).replace("torch.", ""), shape=list(v.shape),
                             sum=float(v.double().sum()), abs_sum=float(v.double().abs().sum()))
                     for k, v in sorted(tensors.items())},
            versions=dict(torch=torch.__version__, transformers=transformers.__version__, peft=peft.__version__),
        )
        with open(os.path.join(case_dir, "reference.json"), "w") as f:
            json.dump(ref, f, indent=2, sort_keys=True)
        print(f"{name}: {len(modules)} adapted modules, {len(tensors)} tensors -> {case_dir}")


def check(adapter_dir, base_dir):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(base_dir)
    weights = [f for f in os.listdir(base_dir) if f.endswith(".safetensors")]
    model = AutoModelForCausalLM.from_pretrained(base_dir) if weights else AutoModelForCausalLM.from_config(cfg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pm = PeftModel.from_pretrained(model, adapter_dir)
    for w in caught:
        print(f"PEFT warning: {w.message}")
    state = pm.state_dict()
    problems = []
    file_tensors = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    for k, v in file_tensors.items():
        if ".lora_A." in k or ".lora_B." in k:
            pk = k.replace(".lora_A.weight", ".lora_A.default.weight").replace(".lora_B.weight", ".lora_B.default.weight")
        else:
            head, _, leaf = k.rpartition(".")
            pk = f"{head}.modules_to_save.default.{leaf}"
        if pk not in state:
            problems.append(f"{k}: PEFT has no parameter {pk}")
        elif not torch.equal(state[pk].to(v.dtype).cpu(), v):
            problems.append(f"{k}: PEFT holds other values")
    embed = [v for k, v in file_tensors.items() if k.endswith("embed_tokens.weight")]
    if embed and getattr(cfg, "tie_word_embeddings", False):
        # ensure_weight_tying: the tied head must compute with the trained table, not the base's
        head = pm.get_output_embeddings().weight
        if not torch.equal(head.to(embed[0].dtype).cpu(), embed[0]):
            problems.append("tied lm_head does not hold the trained embed_tokens (ensure_weight_tying ignored?)")
        else:
            print("  tied lm_head holds the trained embed_tokens")
    adapted = {n: m for n, m in pm.base_model.model.named_modules() if hasattr(m, "lora_A") and "default" in m.lora_A}
    for n in adapted:
        if f"base_model.model.{n}.lora_A.weight" not in file_tensors:
            problems.append(f"{n}: PEFT created an adapter the file has no weights for")
    for n, m in adapted.items():
        print(f"  {n}: r={m.r['default']} scaling={m.scaling['default']}")
    if problems:
        print(f"PEFT does NOT accept {adapter_dir}:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"PEFT accepts {adapter_dir}: {len(adapted)} adapted modules, {len(file_tensors)} tensors, all equal")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("--out", default=os.path.join("java", "src", "test", "resources", "golden", "peft"))
    ck = sub.add_parser("check")
    ck.add_argument("adapter_dir")
    ck.add_argument("--base", required=True, help="directory with config.json (weights optional)")
    a = ap.parse_args()
    if a.cmd == "make":
        make(a.out)
        return 0
    return check(a.adapter_dir, a.base)


if __name__ == "__main__":
    sys.exit(main())
