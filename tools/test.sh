#!/usr/bin/env bash
# The test command README.md gives and .ci/run calls: finds a JDK >= 25 and runs the whole
# Maven build with its tests (surefire prints its summary per module).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/tools/find-jdk.sh"
jlora_find_jdk || exit 1
export JAVA_HOME="$JLORA_JAVA_HOME"
cd "$root"
# Oracle fixtures (transformers.js + real tokenizer files) for the tokenizer tests; no-op once installed.
"$root/tools/fetch-fixtures.sh"
exec ./mvnw -B -ntp verify "$@"
