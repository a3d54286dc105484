#!/usr/bin/env bash
# On the GPU machine, from the repo root, after the device tool carried the bundle:
#
#   bash tools/gpu-run.sh [build/device-bundle.tar.xz]
#
# Unpacks the bundle (tools/bundle-device.sh), records nvidia-smi, runs every JUnit test
# tagged "gpu" with the console launcher, then every GPU benchmark driver
# (jlora.bench.gpu.GpuBenchmarks) and the PyTorch peers in bench/peers when torch is there,
# and writes a Markdown report. Everything lands in $OUT (the device tool brings it back;
# build/gpu-run here when $OUT is unset): gpu-run-<date>.md, tests.log, bench.log,
# nvidia-smi.txt, junit.xml. Copy the report to bench/results/ and commit it.
# Exit status: 0 when every GPU test passed (none skipped) and every benchmark ran.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bundle="${1:-build/device-bundle.tar.xz}"
out="${OUT:-$root/build/gpu-run}"
work="${JLORA_GPU_WORK:-/tmp/jlora-gpu}"
stamp="$(date -u +%Y-%m-%d)"
report="$out/gpu-run-$stamp.md"
mkdir -p "$out"
rm -rf "$work" && mkdir -p "$work"

if [[ ! -f "$bundle" ]]; then
    echo "gpu-run: no bundle at $bundle; build it with tools/bundle-device.sh and carry it" >&2
    exit 1
fi
if command -v xz >/dev/null; then
    xz -dc "$bundle" | tar -x -C "$work"
else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$work"
fi
b="$work/device-bundle"
java="$b/jre/bin/java"
jvm=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx16g)
console=$(ls "$b"/lib/junit-platform-console-standalone-*.jar)
cp_main=$(printf '%s:' "$b"/lib/*.jar | sed 's/:$//')

nvidia-smi > "$out/nvidia-smi.txt" 2>&1
smi_rc=$?

echo "== GPU tests"
"$java" "${jvm[@]}" -jar "$console" execute --disable-banner --disable-ansi-colors --details=tree \
    --class-path "$b/test-classes:$cp_main" --scan-class-path "$b/test-classes" \
    --include-tag gpu --fail-if-no-tests --reports-dir "$work/junit" 2>&1 | tee "$out/tests.log"
tests_rc=${PIPESTATUS[0]}
cp "$work"/junit/TEST-junit-jupiter.xml "$out/junit.xml" 2>/dev/null
skipped=$(sed -n 's/.*\[ *\([0-9]*\) tests skipped *\].*/\1/p; s/.*\[ *\([0-9]*\) tests aborted *\].*/\1/p' "$out/tests.log" \
    | awk '{ s += $1 } END { print s + 0 }')

echo "== GPU benchmarks"
# Drivers leave rows here for their peers to read in the same run (flash attention).
export JLORA_BENCH_DIR="$out"
{
    timeout "${JLORA_BENCH_TIMEOUT:-420}" "$java" "${jvm[@]}" -cp "$b/bench-classes:$cp_main" jlora.bench.gpu.GpuBenchmarks ${JLORA_BENCH_ONLY:-}
    echo "exit: $?"
    if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
        # The bundle carries the peers of the commit it was built from; else this checkout's.
        peers="$b/peers"
        [[ -d "$peers" ]] || peers=bench/peers
        for peer in "$peers"/*.py; do
            [[ "$(basename "$peer")" == numpy_* ]] && continue  # CPU peers, run beside the CPU benchmarks
            echo
            echo "## peer: $(basename "$peer" .py)"
            echo
            python3 "$peer"
            echo "exit: $?"
        done
    else
        echo "(no torch with CUDA here: peers not run)"
    fi
} > "$out/bench.log" 2>&1
bench_rc=$(grep -c '^exit: [1-9]' "$out/bench.log")
cat "$out/bench.log"

{
    echo "# GPU run $stamp"
    echo
    echo '```'
    cat "$b/BUNDLE"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    PATH="$PATH:/usr/local/cuda/bin"
    command -v nvcc >/dev/null && echo "nvcc here: $(nvcc --version | tail -1)"
    grep -c 'Compiling entry' "$b/native/ptxas.log" | sed 's/^/ptxas kernel builds: /'
    grep -qE '[1-9][0-9]* bytes spill' "$b/native/ptxas.log" && echo "ptxas: SPILLS (see native/ptxas.log)" || echo "ptxas: no spills"
    if command -v cuobjdump >/dev/null; then
        echo "SASS in libjlora_cuda.so: $(cuobjdump --list-elf "$b/native/libjlora_cuda.so" 2>&1 | grep -oE 'sm_[0-9]+a?' | sort | uniq -c | xargs)"
        echo "PTX in libjlora_cuda.so: $(cuobjdump --list-ptx "$b/native/libjlora_cuda.so" 2>&1 | grep -oE 'sm_[0-9]+a?' | sort | uniq -c | xargs)"
    fi
    echo '```'
    echo
    echo "## GPU tests (JUnit, tag gpu)"
    echo
    echo '```'
    sed -n '/Test run finished/,$p' "$out/tests.log"
    grep -E '✘|↷|■|MethodSource' "$out/tests.log" | head -40
    echo '```'
    echo
    echo "Skipped or aborted: $skipped (on a GPU machine this must be 0)."
    echo
    echo "# GPU benchmarks"
    echo
    cat "$out/bench.log"
} > "$report"

status=0
(( smi_rc == 0 )) || { echo "gpu-run: nvidia-smi failed"; status=1; }
(( tests_rc == 0 )) || { echo "gpu-run: GPU tests failed (rc $tests_rc)"; status=1; }
(( skipped == 0 )) || { echo "gpu-run: $skipped GPU tests skipped or aborted: no usable GPU?"; status=1; }
(( bench_rc == 0 )) || { echo "gpu-run: $bench_rc benchmark drivers failed"; status=1; }
echo "gpu-run: report $report (status $status)"
exit $status
