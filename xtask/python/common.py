"""Shared timing helpers for the `cargo xtask compare` Python references.

Each benchmark script prints exactly one JSON line on stdout; everything else goes to stderr.
Timing: `time.perf_counter`, `warmup` untimed calls, then the median (and min) of `reps` calls.
Every case is measured with `torch.set_num_threads(1)` and with torch's default thread count.
"""

import json
import statistics
import sys
import time

import torch

DEFAULT_THREADS = torch.get_num_threads()


def thread_settings():
    """Thread counts to measure: 1, and torch's default (once if the default is 1)."""
    return [1] if DEFAULT_THREADS == 1 else [1, DEFAULT_THREADS]


def time_fn(fn, warmup, reps):
    """Runs `fn` `warmup` times untimed, then `reps` times timed; returns milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return {
        "median_ms": statistics.median(samples),
        "min_ms": min(samples),
        "reps": reps,
    }


def emit(bench, results, **extra):
    """Prints the one JSON line the xtask parses."""
    line = {
        "bench": bench,
        "torch": torch.__version__,
        "default_threads": DEFAULT_THREADS,
        "results": results,
    }
    line.update(extra)
    print(json.dumps(line))
    sys.stdout.flush()


def log(msg):
    print(msg, file=sys.stderr, flush=True)
