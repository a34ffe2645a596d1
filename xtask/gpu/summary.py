"""Turns the JSON lines of gpubench (preferent on Cuda / Wgpu) and gpu_bench.py (torch on CUDA)
into one Markdown table with ratios. Usage: summary.py bench-*.jsonl"""

import json
import sys

PAIRS = {  # preferent impl -> torch impl
    "direct": "torch_direct",
    "chunked_128": "torch_chunked_128",
    "chunked_1024": "torch_chunked_1024",
    "fused_1024": "torch_linear_direct",
    "ddim": "diffusers_ddim",
    "dpmpp_2m": "diffusers_dpmpp_2m",
    "mlp_denoiser": "torch_mlp_denoiser",
    "byte_lm": "torch_byte_lm",
}

rows = []
for path in sys.argv[1:]:
    with open(path) as f:
        rows += [json.loads(line) for line in f if line.startswith("{")]
torch_ms = {r["impl"]: r for r in rows if r["side"] == "torch"}
ours = [r for r in rows if r["side"] == "preferent"]
backends = sorted({r["backend"] for r in ours})
print("| bench | case | torch CUDA ms | " + " | ".join(f"preferent {b} ms | {b} / torch" for b in backends) + " |")
print("|---|---|---|" + "---|---|" * len(backends))
for impl, timpl in PAIRS.items():
    t = torch_ms.get(timpl)
    bench = next((r["bench"] for r in ours if r["impl"] == impl), t["bench"] if t else "?")
    cells = [bench, impl, f"{t['median_ms']:.4f}" if t else "n/a"]
    for b in backends:
        o = next((r for r in ours if r["impl"] == impl and r["backend"] == b), None)
        if o is None:
            cells += ["n/a", "n/a"]
        else:
            cells += [f"{o['median_ms']:.4f} (min {o['min_ms']:.4f})",
                      f"{o['median_ms'] / t['median_ms']:.2f}x" if t else "n/a"]
    print("| " + " | ".join(cells) + " |")
