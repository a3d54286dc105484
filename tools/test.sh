#!/usr/bin/env bash
# The test command README.md gives and .ci/run calls: finds a JDK >= 25 and runs the whole
# Maven build with its tests (surefire prints its summary per module).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/tools/find-jdk.sh"
jlora_find_jdk || exit 1
export JAVA_HOME="$JLORA_JAVA_HOME"
cd "$root"
# Oracle packages (transformers.js, real tokenizer files) for the comparison tests, which skip without them.
bash tools/fetch-fixtures.sh || echo "tools/test.sh: oracle fixtures unavailable; oracle tests will skip" >&2
exec ./mvnw -B -ntp verify "$@"
