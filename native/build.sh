#!/usr/bin/env bash
# placeholder, replaced by the CUDA chain work
echo "jlora native: CPU-only build (placeholder)"
