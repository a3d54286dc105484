"""Peer for jlora.bench.gpu.FlashAttentionBench: torch.nn.functional.scaled_dot_product_attention
with the flash backend only, causal, bf16, on the same shapes (B·S = 16384 tokens; S 1k-16k; d 128
with Hq:Hkv 28:4 and 32:4, d 64 with 14:2 and 16:2), the same FLOP count (forward 4·B·S²·Hq·D / 2,
backward 2.5x that) and the same timing (median of 15 runs, each between its own CUDA events,
after 3 warm-ups). GQA goes through enable_gqa when the flash backend takes it; otherwise K/V are
expanded to Hq heads before timing (same FLOPs, more memory traffic: said in the output).
Reads $JLORA_BENCH_DIR/flash_attention_jlora.tsv (written by the Java driver earlier in the same
tools/gpu-run.sh run) and prints jlora / torch per shape. Device machine only (its image has torch)."""
import os
import statistics

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

TOKENS = 16384
SEQ = [1024, 2048, 4096, 8192, 16384]
HEADS = [(128, 28, 4), (128, 32, 4), (64, 14, 2), (64, 16, 2)]  # as FlashAttentionBench.HEADS
WARMUP, TIMED = 3, 15
ANCHORS = ("H100 anchors (causal, d 128): FA2 fwd+bwd 265 / 294 / 308 TFLOP/s at 2k / 4k / 8k; "
           "FA3 fwd 521 / 579 / 602")


def median_ms(fn):
    for _ in range(WARMUP):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(TIMED):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def load_jlora():
    path = os.path.join(os.environ.get("JLORA_BENCH_DIR", "build/gpu-run"), "flash_attention_jlora.tsv")
    rows = {}
    if os.path.exists(path):
        with open(path) as f:
            next(f)
            for line in f:
                ver, s, b, d, hq, hkv, fms, ft, bms, bt = line.split("\t")
                rows.setdefault(ver, {})[(int(s), int(d), int(hq), int(hkv))] = (float(ft), float(bt))
    return rows, path


def run(s, d, hq, hkv):
    b = TOKENS // s
    q = torch.randn(b, s, hq, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2).requires_grad_()
    k = torch.randn(b, s, hkv, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2).requires_grad_()
    v = torch.randn(b, s, hkv, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2).requires_grad_()
    g = torch.randn(b, hq, s, d, device="cuda", dtype=torch.bfloat16)
    how = "enable_gqa"

    def attn(kk, vv, **kw):
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return F.scaled_dot_product_attention(q, kk, vv, is_causal=True, **kw)

    try:
        attn(k, v, enable_gqa=True)
        fwd = lambda: attn(k, v, enable_gqa=True)
    except (RuntimeError, TypeError):
        how = "K/V expanded"
        ke = k.detach().repeat_interleave(hq // hkv, dim=1).requires_grad_()
        ve = v.detach().repeat_interleave(hq // hkv, dim=1).requires_grad_()
        fwd = lambda: attn(ke, ve)
        k, v = ke, ve

    def both():
        out = fwd()
        torch.autograd.grad(out, (q, k, v), g)

    with torch.no_grad():
        f_ms = median_ms(fwd)
    b_ms = median_ms(both)
    flops = 4.0 * b * s * s * hq * d / 2
    return b, f_ms, flops / (f_ms * 1e9), b_ms, 3.5 * flops / (b_ms * 1e9), how


def main():
    jl, path = load_jlora()
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, SDPA flash backend, causal, bf16; {ANCHORS}")
    print(f"jlora rows from {path}: {'found' if jl else 'MISSING (ratio columns empty)'}\n")
    versions = sorted(jl)
    ratio_cols = "".join(f" jlora {v} fwd / torch | jlora {v} fwd+bwd / torch |" for v in versions)
    print("| S | B | d | Hq:Hkv | GQA via | torch fwd TFLOP/s | torch fwd+bwd TFLOP/s |" + ratio_cols)
    print("|---:|---:|---:|---|---|---:|---:|" + "---:|---:|" * len(versions))
    for d, hq, hkv in HEADS:
        for s in SEQ:
            try:
                b, f_ms, ft, b_ms, bt, how = run(s, d, hq, hkv)
            except RuntimeError as e:
                print(f"| {s} | {TOKENS // s} | {d} | {hq}:{hkv} | failed: {str(e).splitlines()[0]} | | |" + " | |" * len(versions))
                continue
            cells = ""
            for v in versions:
                mine = jl[v].get((s, d, hq, hkv))
                cells += f" {mine[0] / ft:.2f} | {mine[1] / bt:.2f} |" if mine else " | |"
            print(f"| {s} | {b} | {d} | {hq}:{hkv} | {how} | {ft:.1f} | {bt:.1f} |" + cells)
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
