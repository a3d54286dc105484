#!/usr/bin/env bash
# Installs the oracle packages (tools/oracle/package.json, pinned by its lock file) into
# tools/oracle/node_modules, once. Tests that need them look there; tools/test.sh calls this.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/oracle"
stamp="$dir/node_modules/.jlora-installed"
if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-fixtures: npm not found; oracle tests will be skipped (install Node.js to run them)" >&2
  exit 0
fi
echo "fetch-fixtures: installing oracle packages into $dir/node_modules ..." >&2
# --omit=optional: node-llama-cpp lists its prebuilt llama.cpp for every platform and GPU as
# optional dependencies (~900 MB on linux-x64, mostly CUDA); package.json names the CPU build
# for linux-x64 directly, which is all the GGUF oracle needs (~250 MB in all).
(cd "$dir" && npm ci --omit=optional --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' >&2 || true)
for p in @lenml/tokenizers node-llama-cpp @node-llama-cpp/linux-x64; do
  [ -d "$dir/node_modules/$p" ] || { echo "fetch-fixtures: npm ci failed ($p missing)" >&2; exit 1; }
done
touch "$stamp"
