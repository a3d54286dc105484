"""Peer for jlora.bench.gpu.LmHeadCrossEntropyBench: torch F.linear + F.cross_entropy in bf16 (the
full [T, V] logits, as transformers computes the causal-LM loss without a fused kernel) at
T = 4096, D = 3584, V = 152064, every target counted, the head frozen (only the hidden gets a
gradient). Same timing (median of 15 runs, each between its own CUDA events, after 3 warm-ups).
Peak memory = torch.cuda.max_memory_allocated over the level after the inputs were made (the
Java driver counts its scratch and outputs the same way). Reads $JLORA_BENCH_DIR/lm_head_ce_jlora.tsv
(written earlier in the same tools/gpu-run.sh run) and prints jlora beside torch. Device machine only."""
import os
import statistics

import torch
import torch.nn.functional as F

T, D, V = 4096, 3584, 152064
WARMUP, TIMED = 3, 15


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


def peak_over_base(fn):
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


g = torch.Generator(device="cuda").manual_seed(0)
h = torch.randn(T, D, device="cuda", dtype=torch.bfloat16, generator=g).requires_grad_(True)
w = (torch.randn(V, D, device="cuda", dtype=torch.bfloat16, generator=g) * 0.02)
y = torch.randint(0, V, (T,), device="cuda", generator=g)


def fwd():
    with torch.no_grad():
        return F.cross_entropy(F.linear(h, w), y)


def fwd_bwd():
    h.grad = None
    loss = F.cross_entropy(F.linear(h, w), y)
    loss.backward()


fwd_ms, all_ms = median_ms(fwd), median_ms(fwd_bwd)
h.grad = None
peak_fwd, peak_all = peak_over_base(fwd), peak_over_base(fwd_bwd)
flops = 2.0 * T * V * D
mib = lambda b: b / 1048576
print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, T = {T}, D = {D}, V = {V}, bf16\n")
print("| impl | fwd ms | fwd+bwd ms | fwd+bwd TFLOP/s | peak mem fwd | peak mem fwd+bwd |")
print("|---|---:|---:|---:|---:|---:|")
print(f"| torch F.linear + F.cross_entropy | {fwd_ms:.3f} | {all_ms:.3f} | {3 * flops / (all_ms * 1e9):.1f} | "
      f"{mib(peak_fwd):.0f} MiB | {mib(peak_all):.0f} MiB |")
tsv = os.path.join(os.environ.get("JLORA_BENCH_DIR", "build/gpu-run"), "lm_head_ce_jlora.tsv")
if os.path.exists(tsv):
    with open(tsv) as f:
        next(f)
        for line in f:
            chunk, jf, ja, pf, pa = line.split("\t")
            jf, ja, pf, pa = float(jf), float(ja), int(pf), int(pa)
            if chunk.startswith("rows"):  # fused forward+backward over row blocks: no separate forward
                print(f"| jlora fused fwd+bwd, row block {chunk[4:]} | - | {ja:.3f} ({all_ms / ja:.2f}x) | "
                      f"{3 * flops / (ja * 1e9):.1f} | - | {mib(pa):.0f} MiB ({peak_all / max(pa, 1):.1f}x less) |")
                continue
            print(f"| jlora chunk {chunk} | {jf:.3f} ({fwd_ms / jf:.2f}x) | {ja:.3f} ({all_ms / ja:.2f}x) | "
                  f"{3 * flops / (ja * 1e9):.1f} | {mib(pf):.0f} MiB ({peak_fwd / max(pf, 1):.1f}x less) | "
                  f"{mib(pa):.0f} MiB ({peak_all / max(pa, 1):.1f}x less) |")
else:
    print(f"\n(no {tsv}: run the Java driver first in the same run)")
