#!/usr/bin/env bash
# Builds cuda/*.cu + native/*.cpp into <outdir>/libjlora_cuda.so with nvcc.
#
#   native/build.sh <outdir>          (Maven calls it in generate-resources)
#
# No nvcc (PATH, $CUDA_HOME/bin, /usr/local/cuda*/bin), or JLORA_NO_CUDA=1: prints one line,
# removes any stale library from <outdir>, and succeeds: a CPU-only build.
# Targets: sm_80 and sm_90a machine code plus compute_90 PTX for newer GPUs; cudart is
# linked statically so the .so needs only the driver (libcuda.so.1) at run time.
# Objects and the ptxas register/spill report (ptxas.log) go to $JLORA_NATIVE_BUILD_DIR
# (default build/native); each object is rebuilt only when its source or a header changed,
# and the library is relinked only when an object is newer than it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
outdir="${1:?usage: native/build.sh <outdir>}"
lib="$outdir/libjlora_cuda.so"
say() { echo "jlora native: $*"; }

find_nvcc() {
    [[ "${JLORA_NO_CUDA:-}" == 1 ]] && return 1
    local c
    if c="$(command -v nvcc 2>/dev/null)"; then echo "$c"; return 0; fi
    for c in ${CUDA_HOME:+"$CUDA_HOME/bin/nvcc"} /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc; do
        [[ -x "$c" ]] && { echo "$c"; return 0; }
    done
    return 1
}

if ! nvcc="$(find_nvcc)"; then
    rm -f "$lib"
    say "no nvcc found, CPU-only build"
    exit 0
fi

build="${JLORA_NATIVE_BUILD_DIR:-$root/build/native}"
mkdir -p "$build" "$outdir"

# sm_80 (A100), sm_90a (H100/H200: wgmma, setmaxnreg), PTX for compute_90 so newer GPUs JIT.
gencode=(-gencode=arch=compute_80,code=sm_80
         -gencode=arch=compute_90a,code=sm_90a
         -gencode=arch=compute_90,code=compute_90)
common=(-O3 -std=c++17 -Xcompiler=-fPIC,-fvisibility=hidden -I"$root/native" -I"$root/cuda")
threads="${JLORA_NVCC_THREADS:-2}"

headers=("$root"/native/*.h "$root"/cuda/*.cuh)
newest_header="${BASH_SOURCE[0]}"
for h in "${headers[@]}"; do
    [[ -e "$h" && "$h" -nt "$newest_header" ]] && newest_header="$h"
done

objects=()
rebuilt=0
compile() {  # src obj [extra nvcc args...]
    local src="$1" obj="$2"; shift 2
    objects+=("$obj")
    if [[ -e "$obj" ]] && [[ "$obj" -nt "$src" ]] && [[ "$obj" -nt "$newest_header" ]]; then
        return 0
    fi
    local log="$build/$(basename "$obj" .o).log"
    if ! "$nvcc" "${common[@]}" "$@" -c "$src" -o "$obj.tmp" >"$log" 2>&1; then
        cat "$log" >&2
        say "nvcc failed on ${src#"$root"/} (log: $log)"
        exit 1
    fi
    mv "$obj.tmp" "$obj"
    rebuilt=1
}

shopt -s nullglob
for src in "$root"/cuda/*.cu; do
    name="$(basename "$src" .cu)"
    # -Xptxas -v: registers, stack and spills per kernel and target, kept in cuda_<name>.log.
    compile "$src" "$build/cuda_$name.o" "${gencode[@]}" --threads "$threads" -Xptxas -v
done
for src in "$root"/native/*.cpp; do
    compile "$src" "$build/native_$(basename "$src" .cpp).o"
done
shopt -u nullglob

link="$build/libjlora_cuda.so"
relink=$rebuilt
[[ -e "$link" ]] || relink=1
for o in "${objects[@]}"; do [[ "$o" -nt "$link" ]] && relink=1; done
if (( relink )); then
    "$nvcc" -shared -cudart static "${gencode[@]}" "${objects[@]}" -o "$link.tmp" -Xlinker --no-undefined
    mv "$link.tmp" "$link"
fi

cat "$build"/cuda_*.log > "$build/ptxas.log" 2>/dev/null || true
entries=$(grep -c "Compiling entry function" "$build/ptxas.log" || true)
max_regs=$(grep -oE 'Used [0-9]+ registers' "$build/ptxas.log" | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')
if grep -qE '[1-9][0-9]* bytes (spill (stores|loads)|stack frame)' "$build/ptxas.log"; then
    say "WARNING: register spills or stack frames in $build/ptxas.log:"
    grep -B2 -E '[1-9][0-9]* bytes (spill (stores|loads)|stack frame)' "$build/ptxas.log" | grep -E 'Function properties|bytes' >&2
else
    say "ptxas: $entries kernel builds, at most $max_regs registers, no spills, no stack"
fi

"$nvcc" --version | tail -1 > "$build/nvcc-version"
if [[ ! -e "$lib" ]] || [[ "$link" -nt "$lib" ]]; then
    cp "$link" "$lib.tmp" && mv "$lib.tmp" "$lib"
    say "built $(basename "$lib") ($(( $(stat -c %s "$lib") / 1024 )) KiB) with $("$nvcc" --version | tail -1)"
else
    say "$(basename "$lib") up to date"
fi
