#!/usr/bin/env bash
# On the GPU machine (torch + transformers + peft there), after tools/gpu-run.sh or on its own:
#
#   bash tools/gpu-golden.sh [build/device-bundle.tar.xz]
#
# Makes the peer golden files that need the real Python stack and checks jlora against it:
#   - tools/golden/transformers_peft_reference.py  -> golden/transformers/ (TorchGoldenTest)
#   - tools/golden/peft_adapter.py make             -> golden/peft/ (PeftGoldenTest)
#   - tools/golden/peft_adapter.py check            on every adapter under $JLORA_PEFT_FROM_JLORA
#     (PeftGoldenTest writes them to java/target/peft-from-jlora; carry a copy)
#   - tools/golden/check_merged_with_transformers.py make, `jlora merge` (the bundle's JRE), check-all
#   - tools/golden/make_nf4_golden.py when bitsandbytes imports
# Writes $OUT/golden.tar.gz (unpack in java/src/test/resources/) and $OUT/golden.log.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${OUT:-$root/build/gpu-golden}"
work="${JLORA_GPU_WORK:-/tmp/jlora-gpu}"
bundle="${1:-build/device-bundle.tar.xz}"
mkdir -p "$out"
b="$work/device-bundle"
if [[ ! -x "$b/jre/bin/java" ]]; then
    mkdir -p "$work" && xz -dc "$bundle" | tar -x -C "$work" || exit 1
fi
jlora() { "$b/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -cp "$b/lib/jlora-all.jar" jlora.cli.Main "$@"; }
g="$work/golden" && rm -rf "$g" && mkdir -p "$g"
export PYTHONUNBUFFERED=1
status=0
step() { echo; echo "== $*"; "$@" || { echo "FAILED ($?): $*"; status=1; }; }
{
    python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'
    step python3 tools/golden/transformers_peft_reference.py --out "$g/transformers"
    step python3 tools/golden/peft_adapter.py make --out "$g/peft"
    JLORA_PEFT_FROM_JLORA="${JLORA_PEFT_FROM_JLORA:-$root/.gpu-carry/peft-from-jlora}"
    if [[ -d "$JLORA_PEFT_FROM_JLORA" ]]; then
        for a in "$JLORA_PEFT_FROM_JLORA"/*/; do
            base="$a/base"  # an adapter's own base config, else the golden PEFT base's
            [[ -f "$base/config.json" ]] || base="$JLORA_PEFT_FROM_JLORA/../golden-base"
            step python3 tools/golden/peft_adapter.py check "$a" --base "$base"
        done
    fi
    m="$work/merged" && rm -rf "$m"
    step python3 tools/golden/check_merged_with_transformers.py make --out "$m"
    for c in "$m"/*/; do
        step jlora merge --model "$c/base" --adapter "$c/adapter" --out "$c/merged-f32" --dtype f32
        step jlora merge --model "$c/base" --adapter "$c/adapter" --out "$c/merged-bf16" --dtype bf16 --max-shard-size 20KB
    done
    step python3 tools/golden/check_merged_with_transformers.py check-all --out "$m"
    if python3 -c 'import bitsandbytes' 2>/dev/null; then
        step python3 tools/golden/make_nf4_golden.py --out "$g/nf4"
    else
        echo "== bitsandbytes is not installed here: no NF4 golden files"
    fi
    echo "gpu-golden: status $status"
} 2>&1 | tee "$out/golden.log"
tar -C "$g" -czf "$out/golden.tar.gz" .
exit $status
