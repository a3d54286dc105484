#!/usr/bin/env bash
# Load figures for `jlora serve` with the test-double engine (server overhead only):
#   bench/serve-load.sh [clients=16] [seconds=10] [slots=4] [token-delay-ms=0]
# Prints one Markdown table row (see bench/results/serve-load.md for the header).
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
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$cp" jlora.serve.ServeLoad "$@"
