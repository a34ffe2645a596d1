//! Run with: cargo bench -p preferent-losses --bench logprobs
//!
//! Log-prob extraction (direct log-softmax + gather vs the chunked path vs the fused path) and
//! DPO loss evaluation + backward at B = 64, on the test lane's backend (Flex by default).
//!
//! The default log-prob size is small (B = 2, T = 128, V = 8000) so the bench finishes quickly on a
//! shared machine; `PREFERENT_BENCH_FULL=1` selects the size B = 8, T = 512, V = 32000
//! (f32 logits of 500 MiB; the direct path needs about as much again).
//!
//! Peak extra memory of one path (Linux only; run once per path, each in its own process):
//! `PREFERENT_BENCH_MEM=direct|chunked|chunked:<rows>|fused|fused_autodiff cargo bench -p preferent-losses --bench logprobs`
//! resets the peak-RSS counter (`/proc/self/clear_refs`) after building the inputs, runs the path
//! once (`direct`/`chunked`: forward without autodiff; `fused`/`fused_autodiff`: forward and
//! backward under autodiff with H = 256), and prints the growth of `VmHWM` over the resident size before the
//! call, next to the size of the logits.

// criterion's `criterion_group!` expands to undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use burn::tensor::{Bool, Distribution, Int, Tensor, TensorData};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use preferent_losses::logprobs::{
    cpu_chunk_rows, sequence_logprobs, sequence_logprobs_chunked, sequence_logprobs_fused,
    sequence_logprobs_fused_autodiff, DEFAULT_CHUNK_ROWS,
};
use preferent_losses::pairwise::{dpo_loss, DpoConfig, DpoLossType, PairwiseBatch};
use preferent_testkit::{device, TestAutodiffBackend, TestBackend};

fn sizes() -> (usize, usize, usize) {
    if std::env::var("PREFERENT_BENCH_FULL").is_ok_and(|v| v == "1") {
        (8, 512, 32000)
    } else {
        (2, 128, 8000)
    }
}

fn bench_logprobs(c: &mut Criterion) {
    let (b, t, v) = sizes();
    let d = device();
    let logits = Tensor::<TestBackend, 3>::random([b, t, v], Distribution::Normal(0.0, 3.0), &d);
    let ids: Vec<i64> = (0..b * t).map(|i| ((i * 7919) % v) as i64).collect();
    let labels = Tensor::<TestBackend, 2, Int>::from_data(TensorData::new(ids, [b, t]), &d);
    let mask = Tensor::<TestBackend, 2, Bool>::from_data(
        TensorData::new(
            (0..b * t).map(|i| i % t >= t / 4).collect::<Vec<_>>(),
            [b, t],
        ),
        &d,
    );
    let mut group = c.benchmark_group(format!("logprobs_B{b}_T{t}_V{v}"));
    group.sample_size(10);
    group.throughput(Throughput::Elements((b * t * v) as u64));
    group.bench_function("direct_log_softmax_gather", |bench| {
        bench.iter(|| {
            let out =
                sequence_logprobs(logits.clone(), labels.clone(), mask.clone()).expect("valid");
            black_box(out.sum.into_data())
        })
    });
    // the CPU block size (`cpu_chunk_rows`), the fixed default, and a GPU-sized block
    let mut row_choices = vec![cpu_chunk_rows(v), DEFAULT_CHUNK_ROWS, 1024];
    row_choices.sort_unstable();
    row_choices.dedup();
    for rows in row_choices {
        group.bench_with_input(BenchmarkId::new("chunked", rows), &rows, |bench, &rows| {
            bench.iter(|| {
                let out =
                    sequence_logprobs_chunked(logits.clone(), labels.clone(), mask.clone(), rows)
                        .expect("valid");
                black_box(out.sum.into_data())
            })
        });
    }
    group.finish();

    // fused: hidden [B, T, H] and LM head [V, H]; H kept small so the matmul does not dominate
    let h = 256;
    let hidden = Tensor::<TestBackend, 3>::random([b, t, h], Distribution::Normal(0.0, 1.0), &d);
    let weight = Tensor::<TestBackend, 2>::random([v, h], Distribution::Normal(0.0, 0.05), &d);
    let mut group = c.benchmark_group(format!("fused_logprobs_B{b}_T{t}_V{v}_H{h}"));
    group.sample_size(10);
    group.bench_function("fused_chunked", |bench| {
        bench.iter(|| {
            let out = sequence_logprobs_fused(
                hidden.clone(),
                weight.clone(),
                None,
                labels.clone(),
                mask.clone(),
                DEFAULT_CHUNK_ROWS,
            )
            .expect("valid");
            black_box(out.sum.into_data())
        })
    });
    group.finish();
}

fn bench_loss_backward(c: &mut Criterion) {
    let d = device();
    let b = 64;
    let leaf = |mean: f64| {
        Tensor::<TestAutodiffBackend, 1>::random([b], Distribution::Normal(mean, 20.0), &d)
    };
    let (pc, pr, rc, rr) = (leaf(-120.0), leaf(-130.0), leaf(-121.0), leaf(-128.0));
    let lengths = Tensor::<TestAutodiffBackend, 1>::full([b], 50.0, &d);
    let configs = [
        ("sigmoid", DpoConfig::new()),
        (
            "mpo_sigmoid_bco_sft",
            DpoConfig::new()
                .with_loss_types(vec![
                    DpoLossType::Sigmoid,
                    DpoLossType::BcoPair,
                    DpoLossType::Sft,
                ])
                .with_loss_weights(Some(vec![0.8, 0.2, 1.0])),
        ),
        (
            "ipo",
            DpoConfig::new().with_loss_types(vec![DpoLossType::Ipo]),
        ),
    ];
    let mut group = c.benchmark_group("dpo_loss_backward_B64");
    for (name, config) in configs {
        group.bench_function(name, |bench| {
            bench.iter(|| {
                let leaves =
                    [pc.clone(), pr.clone(), rc.clone(), rr.clone()].map(|t| t.require_grad());
                let batch = PairwiseBatch::new(
                    leaves[0].clone(),
                    leaves[1].clone(),
                    leaves[2].clone(),
                    leaves[3].clone(),
                )
                .with_lengths(lengths.clone(), lengths.clone());
                let out = dpo_loss(&config, batch).expect("valid");
                let grads = out.loss.backward();
                black_box(leaves[0].grad(&grads))
            })
        });
    }
    group.finish();
}

/// `VmRSS` / `VmHWM` of this process in KiB (Linux `/proc/self/status`).
fn rss_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Forward + backward of the two fused paths under autodiff (H = 256), peak extra memory.
fn memory_probe_autodiff(path: &str) {
    let (b, t, v) = sizes();
    let h = 256;
    let d = device();
    let hidden =
        Tensor::<TestAutodiffBackend, 3>::random([b, t, h], Distribution::Normal(0.0, 1.0), &d)
            .require_grad();
    let weight =
        Tensor::<TestAutodiffBackend, 2>::random([v, h], Distribution::Normal(0.0, 0.05), &d)
            .require_grad();
    let ids: Vec<i64> = (0..b * t).map(|i| ((i * 7919) % v) as i64).collect();
    let labels = Tensor::<TestAutodiffBackend, 2, Int>::from_data(TensorData::new(ids, [b, t]), &d);
    let mask = Tensor::<TestAutodiffBackend, 2, Bool>::from_data(
        TensorData::new(vec![true; b * t], [b, t]),
        &d,
    );
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = rss_kib("VmRSS:").unwrap_or(0);
    let out = if path == "fused_autodiff" {
        sequence_logprobs_fused_autodiff(
            hidden.clone(),
            weight.clone(),
            None,
            labels,
            mask,
            DEFAULT_CHUNK_ROWS,
        )
    } else {
        sequence_logprobs_fused(
            hidden.clone(),
            weight.clone(),
            None,
            labels,
            mask,
            DEFAULT_CHUNK_ROWS,
        )
    }
    .expect("valid");
    let grads = out.sum.sum().backward();
    black_box(weight.grad(&grads).map(|g| g.into_data()));
    black_box(hidden.grad(&grads).map(|g| g.into_data()));
    let peak = rss_kib("VmHWM:").unwrap_or(0);
    let logits_kib = (b * t * v * 4 / 1024) as u64;
    println!(
        "memory {path} (forward+backward) B={b} T={t} V={v} H={h}: peak extra {} KiB, logits {logits_kib} KiB, ratio {:.3}",
        peak.saturating_sub(before),
        peak.saturating_sub(before) as f64 / logits_kib as f64
    );
}

fn memory_probe(path: &str) {
    if path.starts_with("fused") {
        return memory_probe_autodiff(path);
    }
    let (b, t, v) = sizes();
    let d = device();
    let logits = Tensor::<TestBackend, 3>::random([b, t, v], Distribution::Normal(0.0, 3.0), &d);
    let ids: Vec<i64> = (0..b * t).map(|i| ((i * 7919) % v) as i64).collect();
    let labels = Tensor::<TestBackend, 2, Int>::from_data(TensorData::new(ids, [b, t]), &d);
    let mask =
        Tensor::<TestBackend, 2, Bool>::from_data(TensorData::new(vec![true; b * t], [b, t]), &d);
    let _ = std::fs::write("/proc/self/clear_refs", "5"); // reset VmHWM to the current RSS
    let before = rss_kib("VmRSS:").unwrap_or(0);
    let sum = match path {
        "direct" => sequence_logprobs(logits, labels, mask),
        p => {
            let rows = p
                .strip_prefix("chunked:")
                .and_then(|r| r.parse().ok())
                .unwrap_or(DEFAULT_CHUNK_ROWS);
            sequence_logprobs_chunked(logits, labels, mask, rows)
        }
    }
    .expect("valid")
    .sum;
    black_box(sum.into_data());
    let peak = rss_kib("VmHWM:").unwrap_or(0);
    let logits_kib = (b * t * v * 4 / 1024) as u64;
    println!(
        "memory {path} B={b} T={t} V={v}: peak extra {} KiB, logits {logits_kib} KiB, ratio {:.3}",
        peak.saturating_sub(before),
        peak.saturating_sub(before) as f64 / logits_kib as f64
    );
}

criterion_group!(benches, bench_logprobs, bench_loss_backward);

fn main() {
    if let Ok(path) = std::env::var("PREFERENT_BENCH_MEM") {
        memory_probe(&path);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
