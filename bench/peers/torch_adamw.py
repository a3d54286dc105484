"""Peer for jlora.bench.gpu.AdamW8bitBench: torch.optim.AdamW(fused=True) stepping one fp32
parameter of the same count (N = 160 Mi, a 7B model's LoRA r = 64 on every linear is ~160 M) with
a random fp32 gradient, timed the same way (median of 11 steps, each between its own CUDA events,
after 3 warm-ups), against a device-to-device copy measured here (read + write). Bytes per
element as the Java driver counts them for fp32 AdamW: 28 (param r/w, grad, exp_avg r/w,
exp_avg_sq r/w). Reads $JLORA_BENCH_DIR/adamw_jlora.tsv (written by the Java driver earlier in
the same tools/gpu-run.sh run) and prints jlora's fp32 kernel and 8-bit steps against torch's.
No bitsandbytes on the device machine, so there is no 8-bit peer. Device machine only."""
import os
import statistics

import torch

N = 160 << 20
WARMUP, TIMED = 3, 11


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
    path = os.path.join(os.environ.get("JLORA_BENCH_DIR", "build/gpu-run"), "adamw_jlora.tsv")
    if not os.path.exists(path):
        return None, path
    with open(path) as f:
        next(f)
        n, fp32, resident, paged, copy = f.readline().split("\t")
    return {"n": int(n), "fp32": float(fp32), "resident": float(resident), "paged": float(paged),
            "copy": float(copy)}, path


def main():
    dev = torch.device("cuda")
    p = torch.nn.Parameter(torch.randn(N, device=dev) * 0.02)
    p.grad = torch.randn(N, device=dev) * 1e-3
    opt = torch.optim.AdamW([p], lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, fused=True)
    a = torch.empty(N, device=dev)
    b = torch.randn(N, device=dev)
    copy_ms = median_ms(lambda: a.copy_(b))
    step_ms = median_ms(opt.step)
    copy_gbs = 8 * N / (copy_ms * 1e6)
    gbs = 28 * N / (step_ms * 1e6)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, N = {N}")
    print()
    print("| op | ms | GB/s (28 B/param) | vs copy |")
    print("|---|---:|---:|---:|")
    print(f"| torch copy_ f32 (roofline) | {copy_ms:.3f} | {copy_gbs:.0f} | 1.00 |")
    print(f"| torch.optim.AdamW(fused=True) | {step_ms:.3f} | {gbs:.0f} | {gbs / copy_gbs:.2f} |")
    jl, path = load_jlora()
    print()
    if jl is None or jl["n"] != N:
        print(f"(no jlora rows for N = {N} at {path})")
        return
    print(f"jlora (same run, {path}): fp32 AdamW kernel {jl['fp32']:.3f} ms = {step_ms / jl['fp32']:.2f}x torch fused's"
          f" speed; 8-bit resident {jl['resident']:.3f} ms ({step_ms / jl['resident']:.2f}x); 8-bit paged"
          f" {jl['paged']:.3f} ms ({step_ms / jl['paged']:.2f}x)")


if __name__ == "__main__":
    main()
