#!/usr/bin/env python3
"""OpenBLAS SGEMM (through numpy) on the shapes of jlora.bench.MatmulBestOf: best of N runs of
x @ W.T and dy @ W in fp32. Thread count from OPENBLAS_NUM_THREADS. Args: tokens in out [repeats]."""
import os
import sys
import time

import numpy as np

t, k, n = map(int, sys.argv[1:4])
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 15
rng = np.random.default_rng(42)
x = (rng.random((t, k), dtype=np.float32) - 0.5)
w = (rng.random((n, k), dtype=np.float32) - 0.5)
best_nt = best_nn = 0.0
for _ in range(repeats):
    t0 = time.perf_counter()
    y = x @ w.T
    t1 = time.perf_counter()
    dx = y @ w
    t2 = time.perf_counter()
    best_nt = max(best_nt, 2 * t * k * n / (t1 - t0) / 1e9)
    best_nn = max(best_nn, 2 * t * k * n / (t2 - t1) / 1e9)
print(f"openblas F32 {t}x{k}x{n} threads={os.environ.get('OPENBLAS_NUM_THREADS', 'default')} "
      f"best x@W.T {best_nt:.1f} GFLOP/s  dy@W {best_nn:.1f} GFLOP/s")
