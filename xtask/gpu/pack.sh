#!/usr/bin/env bash
# Builds and packs, on the CPU machine, what xtask/gpu/device_check.sh runs on a GPU machine that
# cannot reach a registry: the test binaries of the Cuda and Wgpu lanes (stripped) and the
# gpubench example, into .gpubin/*.tar.xz (git-ignored; carried by the device call).
#   CUDARC_CUDA_VERSION=13000 bash xtask/gpu/pack.sh   # 13000 = CUDA 13.0, driver 580
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${CUDARC_CUDA_VERSION:=13000}"
export CUDARC_CUDA_VERSION
STAGE=target/gpustage
rm -rf "$STAGE" .gpubin && mkdir -p "$STAGE" .gpubin

pack_lane() { # lane feature
  local lane=$1 feature=$2
  mkdir -p "$STAGE/$lane" "$STAGE/$lane.cwd"
  cargo test --workspace --features "$feature" --no-run --message-format=json-render-diagnostics \
    | python3 -c '
import json, os, sys
SKIP = {"conformance", "hf_tokenizer", "parquet", "learner", "preferent", "preferent_data",
        "transforms", "properties", "xtask"}
lane, stage = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("profile", {}).get("test") or not m.get("executable"):
        continue
    exe = m["executable"]
    name = os.path.basename(exe)
    # Test binaries that never make a tensor on the lane backend (data parsing, tokenizers,
    # feature-gated empties, xtask) add size, not coverage: the carried tree is capped at 64 MiB.
    if name.rsplit("-", 1)[0] in SKIP:
        continue
    os.system(f"strip -o {stage}/{lane}/{name} {exe}")
    with open(f"{stage}/{lane}.cwd/{name}", "w") as f:
        f.write(os.path.dirname(m["manifest_path"]))
' "$lane" "$STAGE"
  tar -cJf ".gpubin/$lane.tar.xz" -C "$STAGE" "$lane" "$lane.cwd"
}

export XZ_OPT="-9 -T2"
pack_lane cuda preferent-testkit/cuda
pack_lane wgpu preferent-testkit/wgpu
cargo build --release -p xtask --example gpubench --features cuda,wgpu,fusion
strip -o "$STAGE/gpubench" target/release/examples/gpubench
tar -cJf .gpubin/gpubench.tar.xz -C "$STAGE" gpubench
# diffusers' scheduler code for gpu_bench.py (the image has torch but not diffusers): the wheels
# unpacked, without pipelines/models/loaders, which the schedulers do not import.
PY=${PREFERENT_PYTHON:-.venv/bin/python}
SITE=$STAGE/site && mkdir -p "$SITE" .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  -d "$STAGE/wheels" diffusers==0.42.1 importlib_metadata==10.2.0
for w in "$STAGE"/wheels/*.whl; do (cd "$SITE" && unzip -q -o "../../../$w"); done
rm -rf "$SITE"/diffusers/{pipelines,modular_pipelines,models,loaders,quantizers,hooks}
tar -cJf .whl/site.tar.xz -C "$SITE" .
ls -la .gpubin .whl
