#!/usr/bin/env python3
"""Golden NF4 vectors from bitsandbytes itself, for jlora's Nf4GoldenTest.

Run on a machine with a CUDA GPU, torch and bitsandbytes (the kernels that write real
*-bnb-4bit checkpoints are the CUDA ones):

    python3 tools/golden/make_nf4_golden.py            # writes java/src/test/resources/golden/nf4/
    python3 tools/golden/make_nf4_golden.py --out DIR

It reads nothing from the repository and writes only under the output folder: the files go to
a temporary folder beside it first and replace the folder in one rename at the end.

Format (no safetensors, so the Java test needs no reader): one raw little-endian .bin file per
array plus manifest.json naming each case's shape, dtypes and files. Per case:
  x.bin            the input weight, in its dtype (bf16 / f16 / f32)
  packed.bin       quantize_4bit(x, blocksize, quant_type="nf4") packed bytes (uint8)
  absmax_f32.bin   its fp32 absmax (compress_statistics=False)
  quant_map.bin    QuantState.code (fp32[16])
  and, for double-quantized cases (compress_statistics=True), as QuantState.as_dict(packed=True):
  absmax.bin (uint8), nested_absmax.bin (fp32), nested_quant_map.bin (fp32[256]), offset in the manifest
  quant_state.json the packed "quant_state.bitsandbytes__nf4" bytes
  deq.bin          dequantize_4bit(packed, quant_state) in the input dtype
plus dynamic_map.bin = create_dynamic_map(signed=True) as this machine's torch computes it, and,
where triton is importable, rcp_<instr>.bin: what PTX instructions a `--use_fast_math` build may
emit for bitsandbytes' `1.0f / absmax` return for x = 1 + k/1024 and x = (1 + k/1024) * 2^-7
(k = 0..1023; fp32[2048]), so the Java test can tell which reciprocal bitsandbytes' kernels use.
"""
import argparse
import json
import os
import shutil
import struct
import sys
import tempfile

import torch

try:
    import bitsandbytes as bnb
    import bitsandbytes.functional as F
except ImportError:
    sys.exit("bitsandbytes is not installed here; run this where `python3 -c 'import bitsandbytes'` works (the GPU machine)")

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]

DTYPE_NAMES = {torch.bfloat16: "bfloat16", torch.float16: "float16", torch.float32: "float32"}


def edges():
    """fp32 [4, 64]: thresholds and their neighbours (absmax 1), an all-zero block, codes x 3, a negative max."""
    t = torch.zeros(4, 64, dtype=torch.float32)
    mids = [(NF4[k] + NF4[k + 1]) / 2 for k in range(15)]
    row = [1.0]
    for m in mids:
        m32 = torch.tensor(m, dtype=torch.float32)
        row += [m32.item(), torch.nextafter(m32, torch.tensor(2.0)).item(), torch.nextafter(m32, torch.tensor(-2.0)).item()]
    row = row[:64] + [0.0] * (64 - len(row[:64]))
    t[0] = torch.tensor(row, dtype=torch.float32)
    # t[1] stays zero: the kernel's 0 * (1/0) = NaN path
    g = torch.Generator().manual_seed(7)
    idx = torch.randint(0, 16, (64,), generator=g)
    idx[0] = 15
    t[2] = torch.tensor(NF4, dtype=torch.float32)[idx] * 3.0
    t[3] = torch.randn(64, generator=g) * 0.1
    t[3, 10] = -0.75
    return t


def cases():
    def randn(shape, seed, std, dtype):
        g = torch.Generator().manual_seed(seed)
        return (torch.randn(shape, generator=g) * std).to(dtype)

    return [
        ("bf16_64x96", randn((64, 96), 0, 0.02, torch.bfloat16), False),
        ("bf16_300x64_dq", randn((300, 64), 1, 0.02, torch.bfloat16), True),  # 300 blocks: 2 nested blocks
        ("f32_33x7_dq", randn((33, 7), 2, 1.0, torch.float32), True),  # 231 elements: odd, partial last block
        ("f16_16x64", randn((16, 64), 3, 0.05, torch.float16), False),
        ("f32_edges", edges(), False),
    ]


# PTX for 1/x: what nvcc may emit for `1.0f / x` under --use_fast_math (-prec-div=false, -ftz=true).
# Each is its own kernel with the assembly as a literal, since triton kernels cannot close over strings.
def rcp_tables():
    """{name: fp32[2048]} from each candidate instruction via triton's inline PTX, and why any failed."""
    try:
        import triton
        import triton.language as tl
    except ImportError as e:
        return {}, f"triton not importable: {e}"

    @triton.jit
    def rcp_approx_ftz(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        v = tl.load(x_ptr + offs, mask=offs < n, other=0)
        y = tl.inline_asm_elementwise("{ .reg .f32 a; mov.b32 a, $1; rcp.approx.ftz.f32 a, a; mov.b32 $0, a; }",
                                      "=r,r", [v], dtype=tl.int32, is_pure=True, pack=1)
        tl.store(y_ptr + offs, y, mask=offs < n)

    @triton.jit
    def div_full(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        v = tl.load(x_ptr + offs, mask=offs < n, other=0)
        y = tl.inline_asm_elementwise("{ .reg .f32 a, o; mov.b32 a, $1; mov.f32 o, 0f3F800000; div.full.f32 a, o, a; mov.b32 $0, a; }",
                                      "=r,r", [v], dtype=tl.int32, is_pure=True, pack=1)
        tl.store(y_ptr + offs, y, mask=offs < n)

    @triton.jit
    def div_approx_ftz(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        v = tl.load(x_ptr + offs, mask=offs < n, other=0)
        y = tl.inline_asm_elementwise("{ .reg .f32 a, o; mov.b32 a, $1; mov.f32 o, 0f3F800000; div.approx.ftz.f32 a, o, a; mov.b32 $0, a; }",
                                      "=r,r", [v], dtype=tl.int32, is_pure=True, pack=1)
        tl.store(y_ptr + offs, y, mask=offs < n)

    m = 1.0 + torch.arange(1024, dtype=torch.float64) / 1024
    xi = torch.cat([m, m * 2.0 ** -7]).to(torch.float32).cuda().view(torch.int32)
    tables, errors = {}, []
    for name, kernel in [("rcp_approx_ftz", rcp_approx_ftz), ("div_full", div_full), ("div_approx_ftz", div_approx_ftz)]:
        try:
            y = torch.empty_like(xi)
            kernel[(triton.cdiv(xi.numel(), 256),)](xi, y, xi.numel(), BLOCK=256)
            torch.cuda.synchronize()
            tables[name] = y.view(torch.float32).cpu()
        except Exception as e:  # one instruction failing must not lose the others or the golden bytes
            errors.append(f"{name}: {type(e).__name__}: {e}")
    return tables, "; ".join(errors)


def raw(t):
    return t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--out", default=os.path.join(root, "java", "src", "test", "resources", "golden", "nf4"))
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: the golden files must come from bitsandbytes' CUDA kernels")
    if sys.byteorder != "little":
        sys.exit("this writes little-endian raw files; run it on a little-endian machine")

    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".nf4-golden-", dir=os.path.dirname(out))
    try:
        def put(name, data):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
            return name

        dyn = F.create_dynamic_map(signed=True).to(torch.float32)
        manifest = {
            "bitsandbytes": getattr(bnb, "__version__", "?"),
            "torch": torch.__version__,
            "device": torch.cuda.get_device_name(0),
            "cpu_capability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "?",
            "dynamic_map": put("dynamic_map.bin", raw(dyn)),
            "reciprocals": {},
            "cases": [],
        }
        tables, why = rcp_tables()
        for rname, t in tables.items():
            manifest["reciprocals"][rname] = put(f"rcp_{rname}.bin", raw(t))
        if why:
            manifest["reciprocal_errors"] = why
        for name, x, dq in cases():
            xd = x.cuda()
            packed, qs_plain = F.quantize_4bit(xd, blocksize=64, compress_statistics=False, quant_type="nf4")
            case = {
                "name": name,
                "shape": list(x.shape),
                "dtype": DTYPE_NAMES[x.dtype],
                "blocksize": 64,
                "double_quant": dq,
                "x": put(name + ".x.bin", raw(x)),
                "packed": put(name + ".packed.bin", raw(packed)),
                "packed_shape": list(packed.shape),
                "absmax_f32": put(name + ".absmax_f32.bin", raw(qs_plain.absmax.float())),
                "quant_map": put(name + ".quant_map.bin", raw(qs_plain.code.float())),
            }
            qs = qs_plain
            if dq:
                packed2, qs = F.quantize_4bit(xd, blocksize=64, compress_statistics=True, quant_type="nf4")
                if not torch.equal(packed, packed2):
                    sys.exit(f"{name}: packed bytes differ with and without compress_statistics")
                offset = torch.as_tensor(qs.offset, dtype=torch.float32).cpu()
                case.update({
                    "absmax": put(name + ".absmax.bin", raw(qs.absmax)),
                    "nested_absmax": put(name + ".nested_absmax.bin", raw(qs.state2.absmax.float())),
                    "nested_quant_map": put(name + ".nested_quant_map.bin", raw(qs.state2.code.float())),
                    "nested_blocksize": qs.state2.blocksize,
                    "offset_bits": struct.unpack("<I", struct.pack("<f", offset.item()))[0],
                })
            packed_dict = qs.as_dict(packed=True)
            blob = packed_dict["quant_state.bitsandbytes__nf4"]
            case["quant_state"] = put(name + ".quant_state.json", bytes(blob.cpu().numpy().tobytes()))
            deq = F.dequantize_4bit(packed, qs, quant_type="nf4")
            if deq.dtype != x.dtype or tuple(deq.shape) != tuple(x.shape):
                sys.exit(f"{name}: dequantize_4bit returned {deq.dtype} {tuple(deq.shape)}")
            case["deq"] = put(name + ".deq.bin", raw(deq))
            manifest["cases"].append(case)
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
        tmp = None
        print(f"wrote {len(manifest['cases'])} cases to {out}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
