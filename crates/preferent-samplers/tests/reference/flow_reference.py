"""Golden numbers for flow prediction + flow sigmas (diffusers `use_flow_sigmas`,
`prediction_type="flow_prediction"`), from diffusers itself.

Run: .venv/bin/python crates/preferent-samplers/tests/reference/flow_reference.py
(diffusers 0.42.1, torch 2.15.0 CPU, from PyPI). Uses diffusers' SchedulerCommonTest dummy inputs
(see tests/diffusers_parity.rs) and prints sum|x| and mean|x| after the full loop, plus the
first sigmas/timesteps of the flow schedule.
"""
import torch
from diffusers import DPMSolverMultistepScheduler, DPMSolverSinglestepScheduler

def deter(flip=False):
    x = torch.arange(768)
    if flip:
        x = x.flip(-1)
    return (x.reshape(3, 8, 8, 4) / 768).permute(3, 0, 1, 2)

def model(x, t):
    return x * t / (t + 1)

def loop(cls, steps=10, **kw):
    s = cls(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
            use_flow_sigmas=True, prediction_type="flow_prediction", **kw)
    s.set_timesteps(steps)
    x = deter()
    for t in s.timesteps:
        x = s.step(model(x, t), t, x).prev_sample
    return s, float(x.abs().sum()), float(x.abs().mean())

for name, cls, kw in [
    ("multi_o2_shift1", DPMSolverMultistepScheduler, dict(solver_order=2, flow_shift=1.0)),
    ("multi_o2_shift3", DPMSolverMultistepScheduler, dict(solver_order=2, flow_shift=3.0)),
    ("multi_o3_shift3", DPMSolverMultistepScheduler, dict(solver_order=3, flow_shift=3.0)),
    ("multi_o2_shift3_sigmamin", DPMSolverMultistepScheduler,
        dict(solver_order=2, flow_shift=3.0, final_sigmas_type="sigma_min", lower_order_final=False)),
    ("multi_sde_o2_shift3", DPMSolverMultistepScheduler,
        dict(solver_order=2, flow_shift=3.0, algorithm_type="sde-dpmsolver++")),
    ("single_o2_shift3", DPMSolverSinglestepScheduler, dict(solver_order=2, flow_shift=3.0)),
    ("single_o3_shift1", DPMSolverSinglestepScheduler, dict(solver_order=3, flow_shift=1.0)),
]:
    s, total, mean = loop(cls, **kw)
    print(f"{name}: sum={total:.6f} mean={mean:.8f}")
    if name == "multi_o2_shift3":
        print("  timesteps", s.timesteps.tolist())
        print("  sigmas", [round(v, 7) for v in s.sigmas.tolist()])
