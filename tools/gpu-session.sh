#!/usr/bin/env bash
# One device-tool call that does every GPU check this repo has (device `run`, carry
# build/device-bundle.tar.xz, timeout 600): the peer golden files (tools/gpu-golden.sh),
# the GPU tests and benchmarks (tools/gpu-run.sh), then compute-sanitizer memcheck and
# racecheck over the flash-attention parity test. At most 8 files come back from $OUT.
#
#   bash tools/gpu-session.sh [BUNDLE]        (default build/device-bundle.tar.xz)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${OUT:-$root/build/gpu-session}"
mkdir -p "$out"
bundle="${1:-build/device-bundle.tar.xz}"
export JLORA_BENCH_TIMEOUT="${JLORA_BENCH_TIMEOUT:-240}"
rm -rf "${JLORA_GPU_WORK:-/tmp/jlora-gpu}"
# JLORA_SKIP_GOLDEN=1 / JLORA_SKIP_SANITIZER=1 leave those parts out when a call needs the time.
if [[ -z "${JLORA_SKIP_GOLDEN:-}" ]]; then
    timeout "${JLORA_GOLDEN_TIMEOUT:-240}" bash tools/gpu-golden.sh "$bundle" > /dev/null 2>&1; echo "gpu-golden: rc $?"
fi
bash tools/gpu-run.sh "$bundle" 2>&1 | grep '^gpu-run'
b=/tmp/jlora-gpu/device-bundle
cp_all="$b/test-classes:$(printf '%s:' "$b"/lib/*.jar)"
console=$(ls "$b"/lib/junit-platform-console-standalone-*.jar)
tools=(memcheck racecheck)
[[ -n "${JLORA_SKIP_SANITIZER:-}" ]] && tools=()
for tool in "${tools[@]}"; do
    echo "== compute-sanitizer --tool $tool"
    JLORA_FLASH_TEST_SMALL=1 timeout "${JLORA_SANITIZER_TIMEOUT:-100}" compute-sanitizer --tool "$tool" --target-processes all \
        "$b/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar "$console" \
        execute --disable-banner --disable-ansi-colors --details=summary --class-path "$cp_all" \
        --select-class "${JLORA_SANITIZER_CLASS:-jlora.backend.cuda.FlashAttentionKernelsTest}"
    echo "exit: $?"
done > "$out/sanitizer.out" 2>&1
grep -E '^(exit|== |=========.*ERROR SUMMARY)' "$out/sanitizer.out"
# Only 8 files come back: the report already holds nvidia-smi's line and the peers' tables.
rm -f "$out/nvidia-smi.txt" "$out"/*.tsv
