#!/usr/bin/env python3
"""Does transformers load what `jlora merge` writes, and does it equal PEFT's merge_and_unload?

Needs torch, transformers, peft and safetensors (CPU is enough). Two steps around jlora:

  python3 tools/golden/check_merged_with_transformers.py make --out DIR
      Writes a tiny random Llama (untied) and Qwen2 (tied) with transformers, each with a PEFT
      LoRA adapter whose lora_B (and saved norms) are random, so the merge changes the model:
        DIR/<case>/base/      save_pretrained of the model (fp32)
        DIR/<case>/adapter/   PEFT save_pretrained of the adapter (fp32)
      Then merge each with jlora, in every output dtype:
        ./jlora merge --model DIR/<case>/base --adapter DIR/<case>/adapter --out DIR/<case>/merged-f32 --dtype f32
        ./jlora merge ... --out DIR/<case>/merged-bf16 --dtype bf16 --max-shard-size 20KB   (sharded)

  python3 tools/golden/check_merged_with_transformers.py check --base BASE --adapter ADAPTER --merged MERGED
      Loads MERGED with AutoModelForCausalLM (and AutoTokenizer where tokenizer files exist) and
      BASE + ADAPTER with PeftModel.from_pretrained(...).merge_and_unload() in fp32 (the reference),
      then compares
        - every weight: jlora's against the reference rounded to MERGED's dtype; counts the elements
          that differ and by how many units in the last place (PEFT on a bf16 base rounds the delta
          before adding it, jlora rounds once, so 1 ulp is allowed there; in fp32 PEFT's fp32 matmul
          and jlora's fp64 sum of B·A may differ in the last bits, so 2 ulp are allowed)
        - logits on random ids (seed printed): jlora's merged model against the reference model with
          its weights rounded the same way, relative error max|diff| / max|ref| (limit --tol; default 1e-5 for f32, 1e-2 for bf16/f16)
        - config.json: torch_dtype is MERGED's weight dtype, no quantization_config
      Exits 1 on any failure.

  python3 tools/golden/check_merged_with_transformers.py check-all --out DIR
      `check` on every DIR/<case>/merged-* that exists.

Written for a machine that has transformers and PEFT; the jlora development machine has neither,
so this script has not been run there.
"""
import argparse
import glob
import json
import os
import sys

import torch

CASES = {
    "llama": dict(
        kind="llama",
        # PEFT >= 0.17 refuses layers_to_transform with a string target_modules: name every linear
        lora=dict(r=4, lora_alpha=8, use_rslora=True,
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                  layers_to_transform=[1], rank_pattern={"q_proj": 2}, alpha_pattern={"down_proj": 3})),
    "qwen2": dict(
        kind="qwen2",
        lora=dict(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                  modules_to_save=["input_layernorm", "post_attention_layernorm", "model.norm"])),
}


def tiny_model(kind):
    if kind == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM
        cfg = LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                          rms_norm_eps=1e-5, tie_word_embeddings=False, torch_dtype="float32")
        return LlamaForCausalLM(cfg)
    from transformers import Qwen2Config, Qwen2ForCausalLM
    cfg = Qwen2Config(vocab_size=97, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      rms_norm_eps=1e-6, tie_word_embeddings=True, torch_dtype="float32")
    return Qwen2ForCausalLM(cfg)


def make(out):
    from peft import LoraConfig, get_peft_model

    for name, case in CASES.items():
        torch.manual_seed(1234)
        model = tiny_model(case["kind"])
        with torch.no_grad():  # transformers' init (std 0.02) gives logits too flat to see a merge error
            for p in model.parameters():
                if p.dim() == 2:
                    p.normal_(0, 0.15)
        base = os.path.join(out, name, "base")
        model.save_pretrained(base, safe_serialization=True)
        pm = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", lora_dropout=0.0, **case["lora"]))
        gen = torch.Generator().manual_seed(99)
        with torch.no_grad():
            for pname, p in pm.named_parameters():
                if "lora_B" in pname:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
                elif "modules_to_save" in pname:
                    p.add_(torch.randn(p.shape, generator=gen) * 0.1)
        pm.save_pretrained(os.path.join(out, name, "adapter"))
        print(f"wrote {out}/{name}/base and adapter")


def merged_dtype(merged):
    from safetensors import safe_open
    files = sorted(glob.glob(os.path.join(merged, "*.safetensors")))
    dtypes = set()
    for f in files:
        with safe_open(f, "pt") as st:
            for k in st.keys():
                dtypes.add(st.get_slice(k).get_dtype())
    names = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
    floats = {names[d] for d in dtypes if d in names}
    if len(floats) != 1:
        raise SystemExit(f"{merged}: expected one float dtype, found {sorted(dtypes)}")
    return floats.pop()


def rel_error(ref, got):
    d = (ref.double() - got.double()).abs()
    if torch.isnan(d).any():
        return float("inf"), int(torch.isnan(d).flatten().nonzero()[0])
    i = int(d.flatten().argmax())
    return float(d.flatten()[i] / ref.double().abs().max()), i


def check(base, adapter, merged, tol, seed):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ok = True
    dtype = merged_dtype(merged)
    if tol is None:  # 16-bit: a 1-ulp weight difference moves logits by about 2^-8 relative at worst
        tol = 1e-5 if dtype == torch.float32 else 1e-2
    cfg = json.load(open(os.path.join(merged, "config.json")))
    want = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype]
    got_dtype = cfg.get("torch_dtype", cfg.get("dtype"))
    if got_dtype != want or "quantization_config" in cfg:
        print(f"FAIL config.json: torch_dtype {got_dtype} (weights are {want}), "
              f"quantization_config {'present' if 'quantization_config' in cfg else 'absent'}")
        ok = False

    ref = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, torch_dtype=torch.float32),
                                    adapter).merge_and_unload().eval()
    jl = AutoModelForCausalLM.from_pretrained(merged, torch_dtype=torch.float32).eval()
    if os.path.exists(os.path.join(merged, "tokenizer.json")) or os.path.exists(os.path.join(merged, "tokenizer_config.json")):
        AutoTokenizer.from_pretrained(merged)
        print("tokenizer loads")

    with torch.no_grad():
        for p in ref.parameters():  # the reference as it would be stored in the merged dtype
            p.copy_(p.to(dtype).to(torch.float32))
        ref_sd, jl_sd = ref.state_dict(), jl.state_dict()
        missing = sorted(set(ref_sd) ^ set(jl_sd))
        if missing:
            print(f"FAIL parameters differ between PEFT's merge and jlora's: {missing[:10]}")
            ok = False
        worst_ulps = 0
        # fp32: PEFT adds an fp32 delta to W, so its own rounding error is about an ulp of the larger
        # operand, not of the sum; where W + delta cancels, the sum's ulp is far smaller. Count
        # the difference in ulps of max(|W|, |W + delta|) (base W from BASE).
        base_sd = AutoModelForCausalLM.from_pretrained(base, torch_dtype=torch.float32).state_dict() \
            if dtype == torch.float32 else {}
        for k in sorted(set(ref_sd) & set(jl_sd)):
            a, b = ref_sd[k].to(dtype), jl_sd[k].to(dtype)
            if a.shape != b.shape:
                print(f"FAIL {k}: shape {tuple(b.shape)}, PEFT {tuple(a.shape)}")
                ok = False
                continue
            ia = a.view(torch.int16 if dtype != torch.float32 else torch.int32).long()
            ib = b.view(torch.int16 if dtype != torch.float32 else torch.int32).long()
            ulps = (ia - ib).abs()
            if dtype == torch.float32 and k in base_sd and base_sd[k].shape == a.shape:
                scale = torch.maximum(base_sd[k].abs(), a.abs())
                ulp = torch.nextafter(scale, torch.full_like(scale, float("inf"))) - scale
                ulps = torch.ceil((a.double() - b.double()).abs() / ulp.double()).long()
            n = int((ulps > 0).sum())
            worst_ulps = max(worst_ulps, int(ulps.max()))
            if n:
                print(f"  {k}: {n} of {a.numel()} elements differ, at most {int(ulps.max())} ulp"
                      + (" of max(|W|, |merged|)" if dtype == torch.float32 else ""))
        limit = 2 if dtype == torch.float32 else 1  # fp32: PEFT's fp32 matmul vs jlora's fp64 sum
        if worst_ulps > limit:
            print(f"FAIL weights differ by up to {worst_ulps} ulp (limit {limit})")
            ok = False

        gen = torch.Generator().manual_seed(seed)
        ids = torch.randint(0, jl.config.vocab_size, (2, 16), generator=gen)
        e, i = rel_error(ref(ids).logits, jl(ids).logits)
        print(f"logits: relative error {e:.3e} at flat index {i} (seed {seed}, tol {tol})")
        if not e < tol:
            ok = False
    print(("OK " if ok else "FAIL ") + merged)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("--base", required=True)
    c.add_argument("--adapter", required=True)
    c.add_argument("--merged", required=True)
    c.add_argument("--tol", type=float, default=None)
    c.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little"))
    a = sub.add_parser("check-all")
    a.add_argument("--out", required=True)
    a.add_argument("--tol", type=float, default=None)
    a.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little"))
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.out)
        return
    if args.cmd == "check":
        sys.exit(0 if check(args.base, args.adapter, args.merged, args.tol, args.seed) else 1)
    results = []
    for name in CASES:
        for merged in sorted(glob.glob(os.path.join(args.out, name, "merged-*"))):
            results.append(check(os.path.join(args.out, name, "base"), os.path.join(args.out, name, "adapter"),
                                 merged, args.tol, args.seed))
    if not results:
        raise SystemExit(f"no {args.out}/<case>/merged-* directories; run jlora merge first")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
