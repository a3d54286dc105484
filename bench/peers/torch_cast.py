"""Peer for jlora.bench.gpu.CastBandwidth: PyTorch's own f32 <-> bf16 casts and a device copy,
same size, same timing (CUDA events, mean of 20 after 3 warm-ups), random data.
Runs on the device machine only (its image has torch); prints a Markdown table."""
import torch

N = 1 << 28
WARMUP, TIMED = 3, 20


def time_ms(fn):
    for _ in range(WARMUP):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(TIMED):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / TIMED


x = torch.randn(N, device="cuda", dtype=torch.float32)
y = torch.empty(N, device="cuda", dtype=torch.bfloat16)
z = torch.empty_like(x)
rows = [
    ("torch copy_ f32 (roofline)", time_ms(lambda: z.copy_(x)), 8 * N),
    ("torch f32 -> bf16 (copy_)", time_ms(lambda: y.copy_(x)), 6 * N),
    ("torch bf16 -> f32 (copy_)", time_ms(lambda: z.copy_(y)), 6 * N),
]
roof = rows[0][2] / (rows[0][1] * 1e6)
print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, n = {N}\n")
print("| op | ms | GB/s (read + write) | vs copy |")
print("|---|---:|---:|---:|")
for name, ms, nbytes in rows:
    gbs = nbytes / (ms * 1e6)
    print(f"| {name} | {ms:.3f} | {gbs:.0f} | {gbs / roof:.2f} |")
