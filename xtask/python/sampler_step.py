"""diffusers reference for one preferent-samplers step (DDIM, DPM-Solver++ 2M).

Both schedulers use diffusers' default configs (1000 linear betas 1e-4..0.02; DDIM: eta 0,
clip_sample, leading spacing; DPM-Solver++: order 2, midpoint, lower_order_final) with 50
inference steps. One rep = set_timesteps (untimed) + a full 50-step trajectory with a fixed
model output (no network); per-step time = trajectory time / 50. Median over reps.
Usage: sampler_step.py [--quick] [--reps N] [--steps S] [--shape 4,4,64,64]
"""

import argparse
import statistics
import time

import diffusers
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

from common import emit, log, thread_settings


def trajectory_ms(scheduler, steps, model_output, sample):
    scheduler.set_timesteps(steps)
    start = time.perf_counter()
    x = sample
    for t in scheduler.timesteps:
        x = scheduler.step(model_output, t, x, return_dict=False)[0]
    return (time.perf_counter() - start) * 1e3, x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int, default=0)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--shape", default="4,4,64,64")
    a = p.parse_args()
    shape = tuple(int(s) for s in a.shape.split(","))
    reps = a.reps or (3 if a.quick else 7)
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(*shape, generator=g)
    model_output = torch.randn(*shape, generator=g)
    results = []
    for impl, cls in (
        ("diffusers_ddim", DDIMScheduler),
        ("diffusers_dpmpp_2m", DPMSolverMultistepScheduler),
    ):
        scheduler = cls()
        with torch.no_grad():
            for threads in thread_settings():
                torch.set_num_threads(threads)
                trajectory_ms(scheduler, a.steps, model_output, sample)  # warmup
                per_step = [
                    trajectory_ms(scheduler, a.steps, model_output, sample)[0] / a.steps
                    for _ in range(reps)
                ]
                r = {
                    "median_ms": statistics.median(per_step),
                    "min_ms": min(per_step),
                    "reps": reps,
                    "steps": a.steps,
                    "shape": list(shape),
                    "threads": threads,
                    "impl": impl,
                }
                log(f"{impl} {shape} threads={threads}: {r['median_ms']:.3f} ms/step")
                results.append(r)
    emit("sampler_step", results, diffusers=diffusers.__version__)


if __name__ == "__main__":
    main()
