"""Peer for jlora.bench.gpu.Nf4DequantBandwidth: bitsandbytes' dequantize_4bit of an NF4 weight
with double quant (blocksize 64, nested 256) to bf16, same element count (2^28), same timing
(CUDA events, mean of 20 after 3 warm-ups), against torch's device copy of the bf16 output's
size. Bytes counted as in the Java driver. Prints a Markdown table; without bitsandbytes it
says so and exits 0 (the image may lack it)."""
import torch

N = 1 << 28
WARMUP, TIMED = 3, 20

try:
    import bitsandbytes as bnb
    import bitsandbytes.functional as F
except ImportError as e:
    print(f"(no bitsandbytes here: {e}; NF4 dequant peer not run)")
    raise SystemExit(0)


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


w = torch.randn(16384, 16384, device="cuda", dtype=torch.bfloat16)
packed, state = F.quantize_4bit(w, blocksize=64, compress_statistics=True, quant_type="nf4")
del w
out = torch.empty(16384, 16384, device="cuda", dtype=torch.bfloat16)
copy = torch.empty_like(out)
blocks = N // 64
dq_bytes = N // 2 + blocks + 4 * (blocks // 256) + 4 * 256 + 2 * N
copy_ms = time_ms(lambda: copy.copy_(out))
dq_ms = time_ms(lambda: F.dequantize_4bit(packed, state, out=out))
roof = 4 * N / (copy_ms * 1e6)
gbs = dq_bytes / (dq_ms * 1e6)
print(f"torch {torch.__version__}, bitsandbytes {bnb.__version__}, {torch.cuda.get_device_name()}, n = {N}\n")
print("| op | ms | GB/s (read + write) | vs copy |")
print("|---|---:|---:|---:|")
print(f"| torch copy_ bf16 (roofline) | {copy_ms:.3f} | {roof:.0f} | 1.00 |")
print(f"| bnb dequantize_4bit nf4+dq -> bf16 | {dq_ms:.3f} | {gbs:.0f} | {gbs / roof:.2f} |")
