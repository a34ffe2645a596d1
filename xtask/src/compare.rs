//! `cargo xtask compare <logprobs|sampler|train|all> [--quick]`: preferent against the Python
//! references (PyTorch CPU, diffusers), measured side by side in one run.
//!
//! The Python side lives in `xtask/python/*.py`; each script prints one JSON line with its
//! timings. It runs in a local virtual environment `.venv/` at the repository root (git-ignored,
//! never used by CI), created on first use with `python3 -m venv` and `pip install torch
//! diffusers` (several GiB: PyPI's Linux torch wheel needs the CUDA runtime wheels to import, even
//! on CPU). Set `PREFERENT_PYTHON` to use another interpreter that already has torch + diffusers.
//!
//! The Rust side runs on `burn::backend::Flex` (single-threaded here: xtask builds burn-flex
//! without its `rayon` feature), so the like-for-like column is torch with
//! `torch.set_num_threads(1)`; torch's default thread count is reported too.
//!
//! Report numbers from a release build (`cargo run --release -p xtask -- compare all`): the
//! `cargo xtask` alias uses the dev profile, where the preferent crates are built at opt-level 1.
//!
//! Timing: `Instant`, warm-up calls untimed, median (and min) of the timed calls. A sampler
//! "step" is one 50-step trajectory divided by 50, on both sides. Peak extra memory of the
//! log-prob paths is measured as the rise of the process's peak RSS (`VmHWM`) during one call, in
//! a fresh child process per path (the xtask binary re-invoked as `xtask compare logprobs` with
//! the environment variable [`RSS_CHILD_ENV`] set), after resetting the high-water mark through
//! `/proc/self/clear_refs` where the kernel allows it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Device, Distribution, Int, Tensor, TensorData};
use serde_json::Value;

use preferent::losses::logprobs::{
    cpu_chunk_rows, sequence_logprobs, sequence_logprobs_chunked, DEFAULT_CHUNK_ROWS,
};
use preferent::models::{ByteLmConfig, MlpDenoiserConfig, UNetConfig};
use preferent::samplers::solvers::{
    Ddim, DdimConfig, DpmSolverMultistep, DpmSolverMultistepConfig, Sampler, Solver,
};

/// The inference backend used on the Rust side.
type B = Flex;
/// The training backend used on the Rust side.
type AD = Autodiff<Flex>;

/// Environment variable that turns `compare` into the peak-RSS child of the log-prob comparison.
///
/// Value: `PATH,B,T,V,CHUNK_ROWS` with `PATH` one of `direct`, `chunked`.
pub const RSS_CHILD_ENV: &str = "PREFERENT_COMPARE_RSS_CHILD";

/// Runs the comparison(s) named by `which` (`logprobs`, `sampler`, `train` or `all`) and prints
/// a Markdown table per comparison. `quick` uses smaller sizes and fewer repetitions.
pub fn run(which: &str, quick: bool) -> Result<(), String> {
    if let Ok(spec) = std::env::var(RSS_CHILD_ENV) {
        return rss_child(&spec);
    }
    let parts: &[&str] = match which {
        "all" => &["logprobs", "sampler", "train"],
        "logprobs" | "log-probs" => &["logprobs"],
        "sampler" | "samplers" => &["sampler"],
        "train" | "training" => &["train"],
        other => {
            return Err(format!(
                "unknown comparison `{other}`: expected logprobs, sampler, train or all"
            ))
        }
    };
    let profile = if cfg!(debug_assertions) {
        eprintln!(
            "compare: this is a dev-profile build (preferent crates at opt-level 1); for numbers \
             to report use `cargo run --release -p xtask -- compare {which}`"
        );
        "dev profile"
    } else {
        "release profile"
    };
    let python = ensure_python()?;
    println!("# preferent vs Python references ({})", machine_note());
    println!(
        "\npreferent: burn Flex backend (1 thread), {profile}; Python: {}\n",
        python.display()
    );
    for part in parts {
        let table = match *part {
            "logprobs" => logprobs(&python, quick)?,
            "sampler" => sampler(&python, quick)?,
            _ => train(&python, quick)?,
        };
        println!("{table}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Python side

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Returns an interpreter with torch and diffusers, creating `.venv/` if needed.
fn ensure_python() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("PREFERENT_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let venv = repo_root().join(".venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        eprintln!("compare: creating {}", venv.display());
        run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let probe = Command::new(&python)
        .args(["-c", "import torch, diffusers"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !probe.status.success() {
        eprintln!(
            "compare: installing torch and diffusers into {} (several GiB, once)",
            venv.display()
        );
        run_cmd(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "torch",
            "diffusers",
        ]))?;
    }
    Ok(python)
}

fn run_cmd(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// Runs `xtask/python/<script>` and parses the last line of its stdout as JSON.
fn python_json(python: &Path, script: &str, args: &[&str]) -> Result<Value, String> {
    let path = repo_root().join("xtask").join("python").join(script);
    eprintln!("compare: running {} {}", script, args.join(" "));
    let out = Command::new(python)
        .arg(&path)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed with {}", path.display(), out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| format!("{script} printed no JSON line"))?;
    serde_json::from_str(line).map_err(|e| format!("{script}: bad JSON ({e}): {line}"))
}

/// Median time (ms) of the Python result matching `impl_name`, `threads` and `pred`.
fn py_ms(v: &Value, impl_name: &str, threads: u64, pred: impl Fn(&Value) -> bool) -> Option<f64> {
    v["results"]
        .as_array()?
        .iter()
        .find(|r| r["impl"] == impl_name && r["threads"] == threads && pred(r))
        .and_then(|r| r["median_ms"].as_f64())
}

/// Parameter count the Python side reported for `impl_name` (any thread setting).
fn py_params(v: &Value, impl_name: &str) -> Option<u64> {
    v["results"]
        .as_array()?
        .iter()
        .find(|r| r["impl"] == impl_name)
        .and_then(|r| r["params"].as_u64())
}

fn default_threads(v: &Value) -> u64 {
    v["default_threads"].as_u64().unwrap_or(1)
}

// ---------------------------------------------------------------------------------------------
// Timing and formatting

/// Median and minimum of timed calls, in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Stats {
    median_ms: f64,
    min_ms: f64,
}

fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let median_ms = if n % 2 == 1 {
        samples[n / 2]
    } else {
        0.5 * (samples[n / 2 - 1] + samples[n / 2])
    };
    Stats {
        median_ms,
        min_ms: samples[0],
    }
}

fn time_ms<E>(
    warmup: usize,
    reps: usize,
    mut f: impl FnMut() -> Result<(), E>,
) -> Result<Stats, E> {
    for _ in 0..warmup {
        f()?;
    }
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(stats(samples))
}

fn fmt_ms(ms: Option<f64>) -> String {
    match ms {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 1.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.3}"),
        None => "n/a".into(),
    }
}

fn ratio(a: f64, b: Option<f64>) -> String {
    b.map(|b| format!("{:.2}×", a / b))
        .unwrap_or_else(|| "n/a".into())
}

fn machine_note() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| cpu_summary(&info))
        .unwrap_or_default();
    if cpu.is_empty() {
        format!("{cores} cores, shared")
    } else {
        format!("{cores} cores, shared; {cpu}")
    }
}

/// CPU model and widest x86 vector extension from `/proc/cpuinfo` text: ratios against torch
/// move with the machine (torch's kernels use AVX-512 where it exists, burn-flex's gemm with
/// `x86-v4`), so every table names it. Empty when the text has no model name.
fn cpu_summary(cpuinfo: &str) -> String {
    let field = |key: &str| {
        cpuinfo
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
    };
    let Some(model) = field("model name") else {
        return String::new();
    };
    let flags = field("flags").unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let simd = if has("avx512f") {
        "AVX-512"
    } else if has("avx2") {
        "AVX2"
    } else {
        "no AVX2"
    };
    format!("{model}, {simd}")
}

// ---------------------------------------------------------------------------------------------
// (a) log-prob extraction

fn logprob_inputs(
    b: usize,
    t: usize,
    v: usize,
    device: &Device<B>,
) -> (Tensor<B, 3>, Tensor<B, 2, Int>, Tensor<B, 2, Bool>) {
    let logits = Tensor::<B, 3>::random([b, t, v], Distribution::Normal(0.0, 1.0), device);
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let labels: Vec<i64> = (0..b * t)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % v as u64) as i64
        })
        .collect();
    // The first quarter of every row is prompt (masked), as in the Python script.
    let mask: Vec<bool> = (0..b * t).map(|i| i % t >= t / 4).collect();
    (
        logits,
        Tensor::from_data(TensorData::new(labels, [b, t]), device),
        Tensor::from_data(TensorData::new(mask, [b, t]), device),
    )
}

fn logprobs(python: &Path, quick: bool) -> Result<String, String> {
    let rows = DEFAULT_CHUNK_ROWS;
    let rows_arg = rows.to_string();
    let mut py_args = vec!["--chunk-rows", rows_arg.as_str()];
    if quick {
        py_args.push("--quick");
    }
    let py = python_json(python, "logprobs.py", &py_args)?;
    let nt = default_threads(&py);
    let sizes: &[[usize; 3]] = if quick {
        &[[2, 128, 8000]]
    } else {
        &[[2, 128, 8000], [8, 512, 32000]]
    };
    let device = Default::default();
    let mut out = String::new();
    let _ = writeln!(out, "## Log-prob extraction\n");
    let _ = writeln!(
        out,
        "Forward only (no autodiff), f32, chunk = {rows} rows (both sides), and preferent's \
         CPU block size `cpu_chunk_rows(V)` (≈ 512 KiB per block), compared with torch's direct \
         path. Times in ms (median).\n"
    );
    let _ = writeln!(
        out,
        "| B×T×V | path | preferent | torch 1 thr | torch {nt} thr | preferent / torch 1 thr |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for &[b, t, v] in sizes {
        let (logits, labels, mask) = logprob_inputs(b, t, v, &device);
        let reps = if b * t * v > 10_000_000 { 5 } else { 10 };
        let direct = time_ms(1, reps, || {
            let r = sequence_logprobs(logits.clone(), labels.clone(), mask.clone())
                .map_err(|e| e.to_string())?;
            let _ = r.sum.into_data();
            Ok::<(), String>(())
        })?;
        let time_chunked = |chunk_rows: usize| {
            time_ms(1, reps, || {
                let r = sequence_logprobs_chunked(
                    logits.clone(),
                    labels.clone(),
                    mask.clone(),
                    chunk_rows,
                )
                .map_err(|e| e.to_string())?;
                let _ = r.sum.into_data();
                Ok::<(), String>(())
            })
        };
        let chunked = time_chunked(rows)?;
        let cpu_rows = cpu_chunk_rows(v);
        let chunked_cpu = time_chunked(cpu_rows)?;
        let size_ok = |r: &Value| r["size"] == serde_json::json!([b, t, v]);
        let cpu_name = format!("chunked, {cpu_rows} rows (vs torch direct)");
        for (name, ours, py_impl) in [
            ("direct", direct, "torch_direct"),
            ("chunked", chunked, "torch_chunked"),
            (cpu_name.as_str(), chunked_cpu, "torch_direct"),
        ] {
            let t1 = py_ms(&py, py_impl, 1, size_ok);
            let tn = if nt > 1 {
                py_ms(&py, py_impl, nt, size_ok)
            } else {
                None
            };
            let _ = writeln!(
                out,
                "| {b}×{t}×{v} | {name} | {} (min {}) | {} | {} | {} |",
                fmt_ms(Some(ours.median_ms)),
                fmt_ms(Some(ours.min_ms)),
                fmt_ms(t1),
                fmt_ms(tn),
                ratio(ours.median_ms, t1),
            );
        }
    }

    // Peak extra memory, one fresh child process per path.
    let [b, t, v] = *sizes.last().unwrap_or(&[2, 128, 8000]);
    let logits_bytes = (b * t * v * 4) as f64;
    let block = (rows.min(b * t) * v * 4) as f64;
    let _ = writeln!(
        out,
        "\nPeak extra memory at {b}×{t}×{v} (logits = {:.1} MiB; one [{rows}, {v}] block = {:.1} MiB):\n",
        logits_bytes / MIB,
        block / MIB
    );
    let _ = writeln!(
        out,
        "| path | analytic extra | measured ΔVmHWM preferent | / logits | measured ΔVmHWM torch |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    let cpu_rows = cpu_chunk_rows(v);
    let cpu_block = (cpu_rows.min(b * t) * v * 4) as f64;
    for (label, path, path_rows, analytic) in [
        (
            "direct".to_string(),
            "direct",
            rows,
            format!("≥ {:.0} MiB (a [B,T,V] log-softmax)", logits_bytes / MIB),
        ),
        (
            format!("chunked, {rows} rows"),
            "chunked",
            rows,
            format!("≈ {:.0} MiB (2 blocks: shifted + exp)", 2.0 * block / MIB),
        ),
        (
            format!("chunked, {cpu_rows} rows"),
            "chunked",
            cpu_rows,
            format!("≈ {:.1} MiB (2 blocks)", 2.0 * cpu_block / MIB),
        ),
    ] {
        let ours = rss_parent(path, [b, t, v], path_rows);
        let size = format!("{b},{t},{v}");
        // torch is measured at the shared block size only
        let torch = if path_rows == rows {
            python_json(
                python,
                "logprobs.py",
                &["--rss", path, "--size", &size, "--chunk-rows", &rows_arg],
            )
            .ok()
            .and_then(|j| j["extra_peak_bytes"].as_f64())
        } else {
            None
        };
        let (ours_s, frac) = match &ours {
            Ok((bytes, how)) => (
                format!("{:.1} MiB ({how})", bytes / MIB),
                format!("{:.3}", bytes / logits_bytes),
            ),
            Err(e) => (format!("failed: {e}"), "n/a".into()),
        };
        let _ = writeln!(
            out,
            "| {label} | {analytic} | {ours_s} | {frac} | {} |",
            torch
                .map(|x| format!("{:.1} MiB", x / MIB))
                .unwrap_or_else(|| "n/a".into())
        );
    }
    let _ = writeln!(out, "\nGoal: chunked extra ≤ 1/8 of the logits (0.125).");
    Ok(out)
}

const MIB: f64 = 1024.0 * 1024.0;

/// Runs one log-prob path in a fresh child process and returns its peak extra bytes.
fn rss_parent(path: &str, [b, t, v]: [usize; 3], rows: usize) -> Result<(f64, String), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = Command::new(&exe)
        .args(["compare", "logprobs"])
        .env(RSS_CHILD_ENV, format!("{path},{b},{t},{v},{rows}"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot re-run {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!("child exited with {}", out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or("child printed no JSON")?;
    let j: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let bytes = j["extra_peak_bytes"]
        .as_f64()
        .ok_or("no extra_peak_bytes")?;
    let how = if j["hwm_reset"].as_bool() == Some(true) {
        "child, HWM reset"
    } else {
        "child"
    };
    Ok((bytes, how.to_string()))
}

fn proc_status_kib(field: &str) -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|x| x.parse().ok())
}

/// The child side of [`rss_parent`]: builds the inputs, resets the peak RSS, runs one path.
fn rss_child(spec: &str) -> Result<(), String> {
    let parts: Vec<&str> = spec.split(',').collect();
    let num = |i: usize| -> Result<usize, String> {
        parts
            .get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad {RSS_CHILD_ENV}={spec}"))
    };
    let (path, b, t, v, rows) = (parts[0], num(1)?, num(2)?, num(3)?, num(4)?);
    let device = Default::default();
    let (logits, labels, mask) = logprob_inputs(b, t, v, &device);
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = proc_status_kib("VmHWM").ok_or("no VmHWM in /proc/self/status")?;
    let rss_before = proc_status_kib("VmRSS").unwrap_or(f64::NAN);
    let r = match path {
        "direct" => sequence_logprobs(logits, labels, mask),
        "chunked" => sequence_logprobs_chunked(logits, labels, mask, rows),
        other => return Err(format!("unknown log-prob path `{other}`")),
    }
    .map_err(|e| e.to_string())?;
    let _ = r.sum.into_data();
    let after = proc_status_kib("VmHWM").ok_or("no VmHWM")?;
    println!(
        "{}",
        serde_json::json!({
            "path": path,
            "size": [b, t, v],
            "hwm_reset": hwm_reset,
            "hwm_before_kib": before,
            "rss_before_kib": rss_before,
            "hwm_after_kib": after,
            "extra_peak_bytes": (after - before) * 1024.0,
        })
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (b) sampler step

fn trajectory<S: Solver<B, 4>>(
    solver: &mut Sampler<B, 4, S>,
    steps: usize,
    model_output: &Tensor<B, 4>,
    sample: &Tensor<B, 4>,
) -> Result<(), String> {
    solver.reset();
    let mut x = sample.clone();
    for _ in 0..steps {
        x = solver
            .step(model_output.clone(), x, None)
            .map_err(|e| e.to_string())?
            .prev_sample;
    }
    let _ = B::sync(&x.device());
    Ok(())
}

fn sampler(python: &Path, quick: bool) -> Result<String, String> {
    const STEPS: usize = 50;
    let shape = [4, 4, 64, 64];
    let reps = if quick { 3 } else { 7 };
    let reps_arg = reps.to_string();
    let mut py_args = vec!["--reps", reps_arg.as_str()];
    if quick {
        py_args.push("--quick");
    }
    let py = python_json(python, "sampler_step.py", &py_args)?;
    let nt = default_threads(&py);
    let device = Default::default();
    let sample = Tensor::<B, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let model_output = Tensor::<B, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);

    let mut ddim =
        Sampler::new(Ddim::new(DdimConfig::new(), STEPS).map_err(|e| format!("DDIM: {e}"))?);
    let ddim_t = time_ms(1, reps, || {
        trajectory(&mut ddim, STEPS, &model_output, &sample)
    })?;
    let mut dpm = Sampler::new(
        DpmSolverMultistep::new(DpmSolverMultistepConfig::new(), STEPS)
            .map_err(|e| format!("DPM-Solver++: {e}"))?,
    );
    let dpm_t = time_ms(1, reps, || {
        trajectory(&mut dpm, STEPS, &model_output, &sample)
    })?;

    let mut out = String::new();
    let _ = writeln!(out, "## Sampler step\n");
    let _ = writeln!(
        out,
        "One step at 4×4×64×64 f32 = one {STEPS}-step trajectory / {STEPS} (fixed model output, \
         no network), default configs on both sides. Times in ms per step (median of {reps}).\n"
    );
    let _ = writeln!(
        out,
        "| solver | preferent | diffusers 1 thr | diffusers {nt} thr | preferent / diffusers 1 thr | goal ≤ 0.2× |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (name, ours, py_impl) in [
        ("DDIM (η = 0)", ddim_t, "diffusers_ddim"),
        ("DPM-Solver++ (2M)", dpm_t, "diffusers_dpmpp_2m"),
    ] {
        let per_step = ours.median_ms / STEPS as f64;
        let t1 = py_ms(&py, py_impl, 1, |_| true);
        let tn = if nt > 1 {
            py_ms(&py, py_impl, nt, |_| true)
        } else {
            None
        };
        let met = match t1 {
            Some(x) if per_step <= 0.2 * x => "met",
            Some(_) => "not met",
            None => "n/a",
        };
        let _ = writeln!(
            out,
            "| {name} | {} (min {}) | {} | {} | {} | {met} |",
            fmt_ms(Some(per_step)),
            fmt_ms(Some(ours.min_ms / STEPS as f64)),
            fmt_ms(t1),
            fmt_ms(tn),
            ratio(per_step, t1),
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// (c) training step

fn train(python: &Path, quick: bool) -> Result<String, String> {
    let py_args: Vec<&str> = if quick { vec!["--quick"] } else { vec![] };
    let py = python_json(python, "train_step.py", &py_args)?;
    let nt = default_threads(&py);
    let device = Default::default();
    let optim_config = AdamWConfig::new().with_weight_decay(0.0);
    let lr = 1e-3;

    // MLP denoiser: same sizes as train_step.py.
    let (dim, hidden, batch) = if quick { (2, 128, 256) } else { (64, 256, 256) };
    let mut mlp = MlpDenoiserConfig::new(dim)
        .with_hidden(hidden)
        .with_n_blocks(3)
        .with_time_dim(64)
        .init::<AD>(&device)
        .map_err(|e| format!("MlpDenoiser: {e}"))?;
    let mut mlp_opt = optim_config.init::<AD, _>();
    let x = Tensor::<AD, 2>::random([batch, dim], Distribution::Normal(0.0, 1.0), &device);
    let t = Tensor::<AD, 1>::random([batch], Distribution::Uniform(0.0, 1000.0), &device).floor();
    let eps = Tensor::<AD, 2>::random([batch, dim], Distribution::Normal(0.0, 1.0), &device);
    let mlp_t = time_ms(2, 20, || {
        let loss = (mlp.forward(x.clone(), t.clone()) - eps.clone())
            .powi_scalar(2)
            .mean();
        let grads = GradientsParams::from_grads(loss.backward(), &mlp);
        mlp = mlp_opt.step(lr, mlp.clone(), grads);
        Ok::<(), String>(())
    })?;
    let mlp_params = mlp.valid().num_params();

    // U-Net, 8×8 single-channel images (the digits' size), without and with cross-attention to
    // 4 context tokens of width 16: same sizes as train_step.py.
    let (unet_c, unet_batch) = if quick { (16, 16) } else { (32, 64) };
    let (ctx_tokens, ctx_dim) = (4, 16);
    let mut unet_rows = Vec::new();
    for context_dim in [None, Some(ctx_dim)] {
        let unet_config = UNetConfig::new()
            .with_base_channels(unet_c)
            .with_context_dim(context_dim);
        let mut unet = unet_config
            .init::<AD>(&device)
            .map_err(|e| format!("UNet: {e}"))?;
        let mut unet_opt = optim_config.init::<AD, _>();
        let img = [unet_batch, unet_config.in_channels, 8, 8];
        let xu = Tensor::<AD, 4>::random(img, Distribution::Normal(0.0, 1.0), &device);
        let tu = Tensor::<AD, 1>::random([unet_batch], Distribution::Uniform(0.0, 1000.0), &device)
            .floor();
        let eu = Tensor::<AD, 4>::random(img, Distribution::Normal(0.0, 1.0), &device);
        let ctx = context_dim.map(|dc| {
            Tensor::<AD, 3>::random(
                [unet_batch, ctx_tokens, dc],
                Distribution::Normal(0.0, 1.0),
                &device,
            )
        });
        let unet_t = time_ms(2, 20, || {
            let loss = (unet.forward(xu.clone(), tu.clone(), ctx.clone()) - eu.clone())
                .powi_scalar(2)
                .mean();
            let grads = GradientsParams::from_grads(loss.backward(), &unet);
            unet = unet_opt.step(lr, unet.clone(), grads);
            Ok::<(), String>(())
        })?;
        let (conditioning, py_impl) = match context_dim {
            None => ("no context".to_string(), "torch_unet"),
            Some(dc) => (
                format!("cross-attention to {ctx_tokens} × {dc} context"),
                "torch_unet_ctx",
            ),
        };
        let name = format!(
            "UNet base {unet_c}, time 64, groups {}, {conditioning}, batch {unet_batch} × 1×8×8",
            unet_config.groups
        );
        unet_rows.push((name, unet.valid().num_params(), unet_t, py_impl));
    }

    // Byte LM: ByteLmConfig::tiny() (quick) or the default config, batch 8 at max_seq_len.
    let lm_config = if quick {
        ByteLmConfig::tiny()
    } else {
        ByteLmConfig::new()
    };
    let (lm_batch, seq) = (8, lm_config.max_seq_len);
    let mut lm = lm_config
        .init::<AD>(&device)
        .map_err(|e| format!("ByteLm: {e}"))?;
    let mut lm_opt = optim_config.init::<AD, _>();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let toks: Vec<i64> = (0..lm_batch * seq)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % lm_config.vocab_size as u64) as i64
        })
        .collect();
    let tokens = Tensor::<AD, 2, Int>::from_data(TensorData::new(toks, [lm_batch, seq]), &device);
    let loss_mask = Tensor::<AD, 2>::ones([lm_batch, seq - 1], &device);
    let lm_reps = if quick { 10 } else { 5 };
    let lm_t = time_ms(2, lm_reps, || {
        let loss = lm
            .lm_loss(tokens.clone(), loss_mask.clone())
            .map_err(|e| format!("ByteLm: {e}"))?;
        let grads = GradientsParams::from_grads(loss.backward(), &lm);
        lm = lm_opt.step(lr, lm.clone(), grads);
        Ok::<(), String>(())
    })?;
    let lm_params = lm.valid().num_params();

    let mut out = String::new();
    let _ = writeln!(out, "## Training step\n");
    let _ = writeln!(
        out,
        "One step = forward + backward + AdamW (lr 1e-3, no weight decay), f32, same \
         architecture on both sides (xtask/python/train_step.py). Times in ms per step (median).\n"
    );
    let _ = writeln!(
        out,
        "| network | params | preferent (Autodiff<Flex>) | torch 1 thr | torch {nt} thr | preferent / torch 1 thr | goal ≤ 1.5× |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let mlp_name = format!("MlpDenoiser dim {dim}, hidden {hidden}, 3 blocks, batch {batch}");
    let lm_name = format!(
        "ByteLm d {} × {} layers, {} heads, ff {}, batch {lm_batch} × T {seq}",
        lm_config.d_model, lm_config.n_layers, lm_config.n_heads, lm_config.d_ff
    );
    let mut rows = vec![(mlp_name, mlp_params, mlp_t, "torch_mlp_denoiser")];
    rows.extend(unet_rows);
    rows.push((lm_name, lm_params, lm_t, "torch_byte_lm"));
    for (name, params, ours, py_impl) in rows {
        // Same network on both sides: a differing parameter count is shown, not hidden.
        let params = match py_params(&py, py_impl) {
            Some(p) if p != params as u64 => format!("{params} (torch: {p} — differs)"),
            _ => params.to_string(),
        };
        let t1 = py_ms(&py, py_impl, 1, |_| true);
        let tn = if nt > 1 {
            py_ms(&py, py_impl, nt, |_| true)
        } else {
            None
        };
        let met = match t1 {
            Some(x) if ours.median_ms <= 1.5 * x => "met",
            Some(_) => "not met",
            None => "n/a",
        };
        let _ = writeln!(
            out,
            "| {name} | {params} | {} (min {}) | {} | {} | {} | {met} |",
            fmt_ms(Some(ours.median_ms)),
            fmt_ms(Some(ours.min_ms)),
            fmt_ms(t1),
            fmt_ms(tn),
            ratio(ours.median_ms, t1),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(stats(vec![3.0, 1.0, 2.0]).median_ms, 2.0);
        assert_eq!(stats(vec![4.0, 1.0, 3.0, 2.0]).median_ms, 2.5);
        assert_eq!(stats(vec![4.0, 1.0, 3.0, 2.0]).min_ms, 1.0);
    }

    #[test]
    fn python_results_are_matched_by_impl_threads_and_size() {
        let v: Value = serde_json::from_str(
            r#"{"default_threads": 2, "results": [
                {"impl": "torch_direct", "threads": 1, "size": [2, 3, 4], "median_ms": 1.5},
                {"impl": "torch_direct", "threads": 2, "size": [2, 3, 4], "median_ms": 0.9},
                {"impl": "torch_direct", "threads": 1, "size": [8, 3, 4], "median_ms": 7.0}]}"#,
        )
        .unwrap();
        let size = |r: &Value| r["size"] == serde_json::json!([8, 3, 4]);
        assert_eq!(py_ms(&v, "torch_direct", 1, size), Some(7.0));
        assert_eq!(py_ms(&v, "torch_direct", 2, |_| true), Some(0.9));
        assert_eq!(py_ms(&v, "torch_chunked", 1, |_| true), None);
        assert_eq!(default_threads(&v), 2);
    }

    #[test]
    fn cpu_summary_names_model_and_vector_width() {
        let info = "processor\t: 0\nmodel name\t: Test CPU @ 2GHz\nflags\t\t: fpu sse2 avx2 fma\n";
        assert_eq!(cpu_summary(info), "Test CPU @ 2GHz, AVX2");
        let info512 = "model name : X\nflags : avx2 avx512f avx512bw\n";
        assert_eq!(cpu_summary(info512), "X, AVX-512");
        assert_eq!(cpu_summary("model name : Y\nflags : sse2\n"), "Y, no AVX2");
        assert_eq!(cpu_summary("flags : avx2\n"), "");
    }

    #[test]
    fn unknown_comparison_is_an_error() {
        assert!(run("nonsense", true).is_err());
    }
}
