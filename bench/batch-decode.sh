#!/usr/bin/env bash
# Batched vs one-at-a-time decoding throughput on the CPU (tiny model and a random Qwen2-shaped h512 model):
#   bench/batch-decode.sh [tokens-tiny=64] [tokens-big=32] [repeats=2]
# Prints Markdown table rows (see bench/results/serve-load.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/tools/find-jdk.sh"
jlora_find_jdk || exit 1
export JAVA_HOME="$JLORA_JAVA_HOME"
cd "$root"
cp_file="$(mktemp)"
./mvnw -B -ntp -q -pl java test-compile dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null
cp="java/target/classes:java/target/test-classes:$(cat "$cp_file")"
rm -f "$cp_file"
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$cp" jlora.infer.BatchDecodeLoad "$@"
