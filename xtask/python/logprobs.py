"""PyTorch CPU reference for preferent-losses' log-prob extraction.

Measures, forward only (no autograd, like reference log-probs):
  torch_direct      log_softmax(logits, -1).gather(-1, labels)   (TRL selective_log_softmax,
                    bf16 branch; materialises a [B, T, V] log-softmax)
  torch_chunked     per block of `chunk_rows` rows: logits.gather(labels) - logsumexp(logits)
                    (TRL selective_log_softmax fp32 branch, blocked like the Rust chunked path)
Usage: logprobs.py [--quick] [--reps N] [--chunk-rows R]
       logprobs.py --rss direct|chunked --size B,T,V   (peak RSS of one call, fresh process)
"""

import argparse

import torch

from common import emit, log, thread_settings, time_fn

SIZES = {"small": (2, 128, 8000), "large": (8, 512, 32000)}


def inputs(b, t, v, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, t, v, generator=g, dtype=torch.float32)
    labels = torch.randint(0, v, (b, t), generator=g)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[:, : t // 4] = False  # prompt tokens
    return logits, labels, mask


def finish(per_token, mask):
    per_token = per_token.masked_fill(~mask, 0.0)
    return per_token.sum(-1)


def direct(logits, labels, mask):
    lp = torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return finish(lp, mask)


def chunked(logits, labels, mask, chunk_rows):
    b, t, v = logits.shape
    flat = logits.reshape(b * t, v)
    flat_labels = labels.reshape(b * t, 1)
    parts = []
    for start in range(0, b * t, chunk_rows):
        x = flat[start : start + chunk_rows]
        y = flat_labels[start : start + chunk_rows]
        parts.append(x.gather(1, y).squeeze(1) - torch.logsumexp(x, dim=1))
    return finish(torch.cat(parts).reshape(b, t), mask)


def vm_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def rss_mode(path, size, chunk_rows):
    b, t, v = size
    torch.set_num_threads(1)
    logits, labels, mask = inputs(b, t, v)
    before = vm_kib("VmHWM")
    with torch.no_grad():
        out = direct(logits, labels, mask) if path == "direct" else chunked(
            logits, labels, mask, chunk_rows
        )
    float(out.sum())
    after = vm_kib("VmHWM")
    emit(
        "logprobs_rss",
        [],
        path=path,
        size=list(size),
        logits_bytes=b * t * v * 4,
        hwm_before_kib=before,
        hwm_after_kib=after,
        extra_peak_bytes=(after - before) * 1024,
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int, default=0)
    p.add_argument("--chunk-rows", type=int, default=256)
    p.add_argument("--rss", choices=["direct", "chunked"])
    p.add_argument("--size", default="8,512,32000")
    a = p.parse_args()
    if a.rss:
        rss_mode(a.rss, tuple(int(x) for x in a.size.split(",")), a.chunk_rows)
        return
    results = []
    sizes = ["small"] if a.quick else ["small", "large"]
    for name in sizes:
        b, t, v = SIZES[name]
        logits, labels, mask = inputs(b, t, v)
        reps = a.reps or (10 if name == "small" else 5)
        with torch.no_grad():
            ref = direct(logits, labels, mask)
            err = float((chunked(logits, labels, mask, a.chunk_rows) - ref).abs().max())
            for threads in thread_settings():
                torch.set_num_threads(threads)
                for impl, fn in (
                    ("torch_direct", lambda: direct(logits, labels, mask)),
                    ("torch_chunked", lambda: chunked(logits, labels, mask, a.chunk_rows)),
                ):
                    r = time_fn(fn, warmup=1, reps=reps)
                    r.update(size=[b, t, v], threads=threads, impl=impl)
                    log(f"{impl} {b}x{t}x{v} threads={threads}: {r['median_ms']:.2f} ms")
                    results.append(r)
        log(f"chunked vs direct max |diff| = {err:.3e}")
    emit("logprobs", results, chunk_rows=a.chunk_rows)


if __name__ == "__main__":
    main()
