"""Golden numbers for FlowMatchEuler, from diffusers' FlowMatchEulerDiscreteScheduler itself.

Run: .venv/bin/python crates/preferent-samplers/tests/reference/flow_match_euler_reference.py
(diffusers 0.42.1, torch 2.15.0 CPU, from PyPI). Same dummy inputs as tests/diffusers_parity.rs
(SchedulerCommonTest: deterministic sample, model(x, t) = x·t/(t + 1)); prints timesteps, sigmas
and sum|x| / mean|x| after the full deterministic loop for several configurations.
"""
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

def deter():
    return (torch.arange(768).reshape(3, 8, 8, 4) / 768).permute(3, 0, 1, 2)

def run(name, steps, set_kw=None, **cfg):
    s = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, **cfg)
    s.set_timesteps(steps, **(set_kw or {}))
    x = deter()
    for t in s.timesteps:
        x = s.step(x * t / (t + 1), t, x).prev_sample
    print(f"{name}: sum={float(x.abs().sum()):.6f} mean={float(x.abs().mean()):.8f}")
    print("  timesteps", [round(v, 5) for v in s.timesteps.tolist()])
    print("  sigmas", [round(v, 7) for v in s.sigmas.tolist()])

run("shift1_10", 10)
run("shift3_10", 10, shift=3.0)
run("dyn_exp_mu1.15_8", 8, set_kw=dict(mu=1.15), use_dynamic_shifting=True)
run("dyn_lin_mu2_8", 8, set_kw=dict(mu=2.0), use_dynamic_shifting=True, time_shift_type="linear")
run("shift3_terminal0.1_6", 6, shift=3.0, shift_terminal=0.1)
