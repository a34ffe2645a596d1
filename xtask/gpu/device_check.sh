#!/usr/bin/env bash
# One prepared run on a lent GPU machine (never CI): the test suite on burn's Cuda backend and on
# Wgpu over the real GPU (Vulkan), then the GPU benchmarks of preferent (xtask/examples/gpubench.rs)
# and of PyTorch / diffusers (xtask/python/gpu_bench.py) side by side on the same card.
#
# The GPU machine has no registry access, so everything is built on the CPU machine first and
# carried (xtask/gpu/pack.sh writes .gpubin/): stripped test binaries of both lanes, the gpubench
# binary, the Vulkan loader (.gl/*.deb) and diffusers' scheduler code (.whl/site.tar.xz). Logs land in $OUT.
#   bash xtask/gpu/device_check.sh            # everything
#   ONLY=bench bash xtask/gpu/device_check.sh # only the benchmarks
set -uo pipefail
ROOT=$(pwd)
RESULT=${OUT:-$ROOT/target/gpu-out}
# Logs are written under /tmp/devlogs; after each phase they are packed into $RESULT (the device tool
# returns at most 8 files): summary.txt and logs.tar.gz.
OUT=/tmp/devlogs
rm -rf "$OUT" && mkdir -p "$OUT" "$RESULT"
ONLY=${ONLY:-all}
LOG=$OUT/summary.txt
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }
snap() { cp "$LOG" "$RESULT/summary.txt"; tar -czf "$RESULT/logs.tar.gz" -C "$OUT" .; }

# Vulkan loader for the wgpu lane (the image has the NVIDIA ICD but no loader).
for f in .gl/*.deb; do dpkg -x "$f" / 2>/dev/null; done
ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
# cudarc dlopens libcuda and libnvrtc by name: put the toolkit's and the driver's folders on the path.
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/local/cuda/lib64 \
  /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
nvrtc=$(find /usr/local /opt /usr/lib -name 'libnvrtc.so*' 2>/dev/null | head -1)
[ -n "$nvrtc" ] && export LD_LIBRARY_PATH="$(dirname "$nvrtc"):${LD_LIBRARY_PATH:-}"
export XDG_RUNTIME_DIR=/tmp/xdg && mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
# Tests find fixtures through the CARGO_MANIFEST_DIR baked in at build time (/work/main/...).
if [ ! -e /work/main ]; then mkdir -p /work && ln -s "$ROOT" /work/main; fi

ldconfig -p | grep -E "libcuda\.so|libnvrtc|libvulkan\.so" | head -5 >"$OUT/libs.txt"
echo "nvrtc: ${nvrtc:-none}; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" >>"$OUT/libs.txt"
say "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"
mkdir -p /tmp/gpubin
for a in .gpubin/*.tar.xz; do tar -xJf "$a" -C /tmp/gpubin; done

run_lane() { # lane
  local lane=$1 dir=/tmp/gpubin/$1 pass=0 fail=0 t0=$SECONDS
  : >"$OUT/tests-$lane.log"
  for bin in "$dir"/*; do
    local name; name=$(basename "$bin")
    local crate; crate=$(cat "$dir/../$lane.cwd/$name" 2>/dev/null || echo "$ROOT")
    local extra=""; case $name in preferent_testkit-*) extra=--nocapture ;; esac
    ( cd "$crate" && timeout ${TEST_TIMEOUT:-150} "$bin" --test-threads=8 $extra ) >"$OUT/t-$lane-$name.log" 2>&1
    local rc=$?
    local line; line=$(grep -E "^test result:" "$OUT/t-$lane-$name.log" | tail -1)
    echo "$name rc=$rc $line" >>"$OUT/tests-$lane.log"
    if [ $rc -ne 0 ]; then
      grep -E "^test .* FAILED|panicked at|^---- " "$OUT/t-$lane-$name.log" | head -20 >>"$OUT/tests-$lane.log"
    fi
    pass=$((pass + $(echo "$line" | sed -nE 's/.* ([0-9]+) passed.*/\1/p' | head -1 | grep -E '^[0-9]+$' || echo 0)))
    fail=$((fail + $(echo "$line" | sed -nE 's/.* ([0-9]+) failed.*/\1/p' | head -1 | grep -E '^[0-9]+$' || echo 0)))
    [ $rc -ne 0 ] && [ -z "$line" ] && fail=$((fail + 1))
  done
  grep -h -E "preferent test lane|wgpu adapter" "$OUT"/t-$lane-*.log | tee -a "$LOG"
  cat "$OUT"/t-$lane-*.log >"$OUT/all-$lane.log"
  rm -f "$OUT"/t-$lane-*.log
  say "lane $lane: $pass passed, $fail failed, $((SECONDS - t0)) s"
  grep -v "rc=0 " "$OUT/tests-$lane.log" | head -40 | tee -a "$LOG"
}

if [ "$ONLY" = all ] || [ "$ONLY" = tests ]; then
  # The two lanes run side by side (16 cores, one GPU); the benchmarks run afterwards, alone.
  [ -d /tmp/gpubin/cuda ] && run_lane cuda &
  [ -d /tmp/gpubin/wgpu ] && run_lane wgpu &
  wait
  snap
fi

if [ "$ONLY" = all ] || [ "$ONLY" = bench ]; then
  t0=$SECONDS
  # diffusers 0.42.1 (schedulers and utils only) + importlib_metadata, unpacked from their wheels.
  if [ -f .whl/site.tar.xz ]; then
    mkdir -p /tmp/site && tar -xJf .whl/site.tar.xz -C /tmp/site && export PYTHONPATH=/tmp/site
  fi
  (cd xtask/python && timeout 200 python3 gpu_bench.py) >"$OUT/bench-torch.jsonl" 2>"$OUT/bench-torch.err"
  say "torch bench rc=$? $((SECONDS - t0)) s"
  snap
  t0=$SECONDS
  # The first Cuda training steps compile + autotune for minutes (95 s for the MLP on an H200).
  timeout ${CUDA_BENCH_TIMEOUT:-420} /tmp/gpubin/gpubench cuda >"$OUT/bench-cuda.jsonl" 2>"$OUT/bench-cuda.err"
  say "gpubench cuda rc=$? $((SECONDS - t0)) s"
  snap
  t0=$SECONDS
  timeout 200 /tmp/gpubin/gpubench wgpu >"$OUT/bench-wgpu.jsonl" 2>"$OUT/bench-wgpu.err"
  say "gpubench wgpu rc=$? $((SECONDS - t0)) s"
  python3 xtask/gpu/summary.py "$OUT"/bench-*.jsonl | tee "$OUT/bench-table.md" | tee -a "$LOG"
fi
say "== done $(date -u +%FT%TZ)"
snap
