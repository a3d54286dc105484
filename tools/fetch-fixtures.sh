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
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' >&2 || true)
[ -d "$dir/node_modules/@lenml/tokenizers" ] || { echo "fetch-fixtures: npm ci failed" >&2; exit 1; }
touch "$stamp"
