"""PyTorch / diffusers on the GPU: the counterpart of `xtask/examples/gpubench.rs`.

Same workloads, sizes and default configs as the CPU comparison (`cargo xtask compare`):
  logprobs   8x512x32000 f32, forward only: torch_direct (log_softmax + gather), torch_chunked
             (blocked gather - logsumexp, chunk rows 128 and 1024), torch_linear_direct (hidden
             [B,T,512] @ W^T then log_softmax + gather: what the fused Rust path replaces)
  sampler    diffusers DDIMScheduler / DPMSolverMultistepScheduler defaults, 50 steps at
             4x4x64x64, fixed model output; per step = trajectory / 50
  train      MlpDenoiser (dim 64, hidden 256, batch 256) and ByteLm (d 192 x 6 layers, batch 8 x
             T 128): zero_grad + forward + backward + AdamW
Timing: warm-up calls untimed, torch.cuda.synchronize() closes every timed call, median and min.
Prints one JSON line per measurement. Usage: gpu_bench.py [--quick] [--only logprobs,sampler,train]
[--device cuda|cpu]
"""

import argparse
import json
import statistics
import sys
import time

import torch

import logprobs as lp
import train_step as ts

DEV = "cuda"


def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()


def timed(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    sync()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        sync()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples), min(samples)


def emit(bench, impl, t, **extra):
    print(json.dumps({"side": "torch", "backend": DEV, "bench": bench, "impl": impl,
                      "median_ms": t[0], "min_ms": t[1], "extra": extra}))
    sys.stdout.flush()


def bench_logprobs(quick):
    b, t, v = (2, 128, 8000) if quick else (8, 512, 32000)
    reps = 5 if quick else 20
    logits, labels, mask = (x.to(DEV) for x in lp.inputs(b, t, v))
    hidden = torch.randn(b, t, 512, device=DEV)
    weight = torch.randn(v, 512, device=DEV) * 0.05
    with torch.no_grad():
        emit("logprobs", "torch_direct", timed(lambda: lp.direct(logits, labels, mask), 3, reps),
             size=[b, t, v])
        for rows in (128, 1024):
            emit("logprobs", f"torch_chunked_{rows}",
                 timed(lambda: lp.chunked(logits, labels, mask, rows), 3, reps), size=[b, t, v])
        emit("logprobs", "torch_linear_direct",
             timed(lambda: lp.direct(hidden @ weight.T, labels, mask), 3, reps),
             size=[b, t, v], hidden=512)


def bench_sampler(quick):
    import diffusers
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    steps, reps = 50, (3 if quick else 15)
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(4, 4, 64, 64, generator=g).to(DEV)
    model_output = torch.randn(4, 4, 64, 64, generator=g).to(DEV)
    for impl, cls in (("diffusers_ddim", DDIMScheduler),
                      ("diffusers_dpmpp_2m", DPMSolverMultistepScheduler)):
        sched = cls()

        def trajectory_ms():
            sched.set_timesteps(steps, device=DEV)  # untimed, as on the CPU comparison
            sync()
            start = time.perf_counter()
            x = sample
            for t in sched.timesteps:
                x = sched.step(model_output, t, x, return_dict=False)[0]
            sync()
            return (time.perf_counter() - start) * 1e3

        with torch.no_grad():
            for _ in range(2):
                trajectory_ms()
            per_step = [trajectory_ms() / steps for _ in range(reps)]
        emit("sampler", impl, (statistics.median(per_step), min(per_step)),
             shape=[4, 4, 64, 64], steps=steps, diffusers=diffusers.__version__)


def bench_train(quick):
    reps = 5 if quick else 30
    torch.manual_seed(0)
    c = ts.MLP["full"]
    mlp = ts.MlpDenoiser(c["dim"], c["hidden"], c["n_blocks"], c["time_dim"]).to(DEV)
    x = torch.randn(c["batch"], c["dim"], device=DEV)
    t = torch.randint(0, 1000, (c["batch"],), device=DEV).float()
    eps = torch.randn(c["batch"], c["dim"], device=DEV)
    step = ts.step_fn(mlp, lambda: ((mlp(x, t) - eps) ** 2).mean())
    emit("train", "torch_mlp_denoiser", timed(step, 3, reps),
         params=sum(p.numel() for p in mlp.parameters()))
    c2 = ts.LM["full"]
    lm = ts.ByteLm(c2["vocab"], c2["d_model"], c2["n_heads"], c2["n_layers"], c2["d_ff"],
                   c2["seq"]).to(DEV)
    tokens = torch.randint(0, c2["vocab"], (c2["batch"], c2["seq"]), device=DEV)
    mask = torch.ones(c2["batch"], c2["seq"] - 1, device=DEV)
    step = ts.step_fn(lm, lambda: lm.loss(tokens, mask))
    emit("train", "torch_byte_lm", timed(step, 3, reps),
         params=sum(p.numel() for p in lm.parameters()))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="logprobs,sampler,train")
    p.add_argument("--device", default="cuda", help="cuda, or cpu to try the script anywhere")
    a = p.parse_args()
    global DEV
    DEV = a.device
    name = torch.cuda.get_device_name(0) if DEV == "cuda" else "cpu"
    print(f"torch {torch.__version__} on {name}", file=sys.stderr)
    for part in a.only.split(","):
        try:
            {"logprobs": bench_logprobs, "sampler": bench_sampler, "train": bench_train}[part](a.quick)
        except Exception as e:  # report and go on: one missing package must not lose the rest
            print(f"gpu_bench: {part} failed: {e!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
