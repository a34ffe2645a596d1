//! Language side: pretrain a byte LM on digit sorting, build preference pairs from its own
//! samples with the verifier, train DPO / SimPO / rDPO on clean and 20 %-flipped labels.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::{Int, Tensor, TensorData};
use preferent::models::train::{
    adamw, frozen_reference, CsvLogger, Progress, Trainer, WarmupCosineConfig,
};
use preferent::models::{ByteLm, ByteLmConfig};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::adapters;
use super::{AB, IB};

const EQ: u8 = b'=';
const NL: u8 = b'\n';
const PAD: u8 = 0;

/// Sizes for one run of the language side.
pub struct LangSettings {
    /// Digits per problem.
    pub digits: usize,
    /// LM architecture.
    pub model: ByteLmConfig,
    /// Maximum supervised pretraining steps.
    pub pretrain_steps: usize,
    /// Pretraining stops once one temperature-1 sample per validation prompt is exactly right
    /// this often (checked every `check_every` steps), so that preference optimisation has room.
    pub pretrain_target: f64,
    /// Steps between those checks.
    pub check_every: usize,
    /// Pretraining batch size.
    pub pretrain_batch: usize,
    /// Pretraining peak LR.
    pub pretrain_lr: f64,
    /// Prompts sampled to build preference pairs.
    pub pair_prompts: usize,
    /// Samples per prompt.
    pub samples_per_prompt: usize,
    /// Preference-optimisation steps per method.
    pub pref_steps: usize,
    /// Pairs per preference batch.
    pub pref_batch: usize,
    /// Preference peak LR.
    pub pref_lr: f64,
    /// Held-out evaluation prompts.
    pub eval_prompts: usize,
}

/// Task accuracy of one model.
#[derive(Clone, Copy, Debug)]
pub struct Accuracy {
    /// Exact-match rate with greedy decoding.
    pub greedy: f64,
    /// Exact-match rate of one temperature-1 sample per prompt.
    pub sampled: f64,
}

/// One preference-optimisation run.
pub struct PrefRun {
    /// Method label.
    pub method: &'static str,
    /// Hyperparameters in words.
    pub hparams: String,
    /// Whether 20 % of the training labels were flipped.
    pub noisy: bool,
    /// Accuracy after training.
    pub acc: Accuracy,
    /// Mean loss over the last 10 % of steps.
    pub final_loss: f64,
    /// Fraction of *clean* training pairs ranked correctly by the implicit reward after training.
    pub pair_acc: f64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Per-step losses.
    pub losses: Vec<f64>,
}

/// Everything the report needs from the language side.
pub struct LangResult {
    /// Settings summary line.
    pub setup: String,
    /// Number of LM parameters.
    pub params: usize,
    /// Where pretraining stopped: (step, validation sampled accuracy) if the target was reached.
    pub stopped_at_target: Option<(usize, f64)>,
    /// Pretraining steps actually taken.
    pub pretrain_steps_taken: usize,
    /// Pretraining target accuracy.
    pub pretrain_target: f64,
    /// Pretraining losses per step.
    pub pretrain_losses: Vec<f64>,
    /// Pretraining wall time.
    pub pretrain_seconds: f64,
    /// Accuracy of the pretrained (reference) model.
    pub base: Accuracy,
    /// Number of held-out evaluation prompts.
    pub eval_prompts: usize,
    /// Number of preference pairs built.
    pub pairs: usize,
    /// Fraction of sampled completions that were correct.
    pub sample_correct_rate: f64,
    /// Pairs whose chosen completion is exactly correct.
    pub pairs_with_correct_chosen: usize,
    /// The six preference runs.
    pub runs: Vec<PrefRun>,
}

fn random_prompt(rng: &mut StdRng, k: usize) -> Vec<u8> {
    let mut p: Vec<u8> = (0..k).map(|_| b'0' + rng.random_range(0..10u8)).collect();
    p.push(EQ);
    p
}

fn answer(prompt: &[u8]) -> Vec<u8> {
    let mut d = prompt[..prompt.len() - 1].to_vec();
    d.sort_unstable();
    d.push(NL);
    d
}

/// The verifier: is `completion` exactly the sorted digits followed by a newline?
fn verify(prompt: &[u8], completion: &[u8]) -> bool {
    completion == answer(prompt).as_slice()
}

/// Prompt + completion padded to `2k + 2` tokens, with the mask over `token_log_probs`
/// positions that score completion tokens.
fn encode(prompt: &[u8], completion: &[u8], k: usize) -> (Vec<i64>, Vec<f32>) {
    let total = 2 * k + 2;
    let mut toks: Vec<i64> = prompt.iter().chain(completion).map(|&b| b as i64).collect();
    toks.resize(total, PAD as i64);
    let mut mask = vec![0.0f32; total - 1];
    for m in mask
        .iter_mut()
        .skip(prompt.len() - 1)
        .take(completion.len())
    {
        *m = 1.0;
    }
    (toks, mask)
}

fn batch_tensors<Bk: burn::tensor::backend::Backend>(
    rows: &[(Vec<i64>, Vec<f32>)],
    device: &Bk::Device,
) -> (Tensor<Bk, 2, Int>, Tensor<Bk, 2>) {
    let (n, t) = (rows.len(), rows[0].0.len());
    let toks: Vec<i64> = rows.iter().flat_map(|r| r.0.iter().copied()).collect();
    let mask: Vec<f32> = rows.iter().flat_map(|r| r.1.iter().copied()).collect();
    (
        Tensor::from_data(TensorData::new(toks, [n, t]), device),
        Tensor::from_data(TensorData::new(mask, [n, t - 1]), device),
    )
}

/// Sequence log-probs `[n]` (sum over completion tokens) and completion lengths.
fn seq_logp<Bk: burn::tensor::backend::Backend>(
    lm: &ByteLm<Bk>,
    tokens: Tensor<Bk, 2, Int>,
    mask: Tensor<Bk, 2>,
) -> Tensor<Bk, 1> {
    let n = tokens.dims()[0];
    (lm.token_log_probs(tokens) * mask).sum_dim(1).reshape([n])
}

fn generate(
    lm: &ByteLm<IB>,
    prompts: &[Vec<u8>],
    k: usize,
    temperature: f64,
    rng: &mut StdRng,
) -> Vec<Vec<u8>> {
    let device = Default::default();
    let mut out = Vec::with_capacity(prompts.len());
    for chunk in prompts.chunks(256) {
        let p: Vec<Vec<u32>> = chunk
            .iter()
            .map(|p| p.iter().map(|&b| b as u32).collect())
            .collect();
        let c = lm
            .generate(&p, k + 1, temperature, Some(NL as u32), rng, &device)
            .expect("prompts are valid by construction");
        out.extend(
            c.into_iter()
                .map(|c| c.into_iter().map(|x| x as u8).collect::<Vec<u8>>()),
        );
    }
    out
}

fn evaluate(lm: &ByteLm<IB>, prompts: &[Vec<u8>], k: usize, seed: u64) -> Accuracy {
    let rate = |c: &[Vec<u8>]| {
        prompts
            .iter()
            .zip(c)
            .filter(|(p, c)| answer(p) == **c)
            .count() as f64
            / prompts.len() as f64
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let greedy = rate(&generate(lm, prompts, k, 0.0, &mut rng));
    let sampled = rate(&generate(lm, prompts, k, 1.0, &mut rng));
    Accuracy { greedy, sampled }
}

#[derive(Clone, Copy, PartialEq)]
enum Method {
    Dpo,
    SimPo,
    RDpo,
}

struct Pair {
    chosen: (Vec<i64>, Vec<f32>),
    rejected: (Vec<i64>, Vec<f32>),
    ref_c: f32,
    ref_r: f32,
}

/// Runs the language side; writes CSVs into `out`.
pub fn run(s: &LangSettings, seed: u64, out: &std::path::Path) -> Result<LangResult, String> {
    let device = Default::default();
    let k = s.digits;
    let e = |e: preferent::models::Error| e.to_string();

    // ---- 1. Supervised pretraining on correct examples (loss on completion tokens only).
    // Parameter init and `Tensor::random` draw from the backend RNG: seed it for repeatability.
    <IB as burn::tensor::backend::Backend>::seed(&device, seed);
    let t0 = Instant::now();
    let model = s.model.init::<AB>(&device).map_err(e)?;
    let params = burn::module::Module::num_params(&model);
    let sched = WarmupCosineConfig::new(s.pretrain_lr, s.pretrain_steps)
        .with_warmup_steps(s.pretrain_steps / 20)
        .init()
        .map_err(e)?;
    let mut tr = Trainer::new(model, adamw(0.01, Some(1.0)).init(), sched, seed);
    let mut csv =
        CsvLogger::create(&out.join("lm_pretrain.csv"), &["step", "lr", "loss"]).map_err(e)?;
    let mut pretrain_losses = Vec::with_capacity(s.pretrain_steps);
    let mut val_rng = StdRng::seed_from_u64(seed ^ 0x7A1);
    let val_prompts: Vec<Vec<u8>> = (0..128).map(|_| random_prompt(&mut val_rng, k)).collect();
    let mut stopped_at_target = None;
    let mut bar = Progress::new("  [lm] pretrain", s.pretrain_steps as u64);
    for step in 0..s.pretrain_steps {
        if step > 0 && step % s.check_every == 0 {
            let mut rng = StdRng::seed_from_u64(seed ^ step as u64);
            let c = generate(&tr.model.valid(), &val_prompts, k, 1.0, &mut rng);
            let acc = val_prompts
                .iter()
                .zip(&c)
                .filter(|(p, c)| answer(p) == **c)
                .count() as f64
                / 128.0;
            bar.set(step as u64, format!("validation sampled accuracy {acc:.3}"));
            if acc >= s.pretrain_target {
                stopped_at_target = Some((step, acc));
                break;
            }
        }
        let mut rng = StdRng::seed_from_u64(tr.step_seed());
        let rows: Vec<_> = (0..s.pretrain_batch)
            .map(|_| {
                let p = random_prompt(&mut rng, k);
                let a = answer(&p);
                encode(&p, &a, k)
            })
            .collect();
        let (x, m) = batch_tensors::<AB>(&rows, &device);
        let loss = tr.model.lm_loss(x, m).map_err(e)?;
        let lv: f32 = loss.clone().into_scalar();
        let lr = tr.apply(loss);
        pretrain_losses.push(lv as f64);
        csv.log(&[step as f64, lr, lv as f64]).map_err(e)?;
        bar.set(step as u64 + 1, format!("loss {lv:.4}"));
    }
    bar.finish(match stopped_at_target {
        Some((step, acc)) => format!("stopped at step {step}: validation accuracy {acc:.3}"),
        None => "done".into(),
    });
    csv.flush().map_err(e)?;
    let pretrain_seconds = t0.elapsed().as_secs_f64();
    let sft = tr.model;
    let reference = frozen_reference(&sft);

    let mut eval_rng = StdRng::seed_from_u64(seed ^ 0xE7A1);
    let eval_prompts: Vec<Vec<u8>> = (0..s.eval_prompts)
        .map(|_| random_prompt(&mut eval_rng, k))
        .collect();
    let base = evaluate(&reference, &eval_prompts, k, seed ^ 0x5A3);
    eprintln!(
        "  [lm] pretrained: greedy {:.3}, sampled {:.3}",
        base.greedy, base.sampled
    );

    // ---- 2. Preference pairs from the model's own samples, labelled by the verifier.
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9A1);
    let prompts: Vec<Vec<u8>> = (0..s.pair_prompts)
        .map(|_| random_prompt(&mut rng, k))
        .collect();
    let repeated: Vec<Vec<u8>> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), s.samples_per_prompt))
        .collect();
    let samples = generate(&reference, &repeated, k, 1.0, &mut rng);
    let correct = repeated
        .iter()
        .zip(&samples)
        .filter(|(p, c)| verify(p, c))
        .count();
    // Pairs: every (exactly correct, incorrect) combination of distinct samples of one prompt.
    let mut raw_pairs = Vec::new();
    for (i, p) in prompts.iter().enumerate() {
        let mut group: Vec<&Vec<u8>> = samples
            [i * s.samples_per_prompt..(i + 1) * s.samples_per_prompt]
            .iter()
            .collect();
        group.sort();
        group.dedup();
        for c in group.iter().filter(|c| verify(p, c)) {
            for r in group.iter().filter(|r| !verify(p, r)) {
                raw_pairs.push((p.clone(), (*c).clone(), (*r).clone(), true));
            }
        }
    }
    if raw_pairs.is_empty() {
        return Err(
            "no preference pairs: no prompt had both a correct and an incorrect sample".into(),
        );
    }
    let pairs_with_correct_chosen = raw_pairs.iter().filter(|p| p.3).count();
    let mut pairs: Vec<Pair> = raw_pairs
        .iter()
        .map(|(p, c, r, _)| Pair {
            chosen: encode(p, c, k),
            rejected: encode(p, r, k),
            ref_c: 0.0,
            ref_r: 0.0,
        })
        .collect();
    // Reference log-probs once, on the inner backend.
    for chunk in pairs.chunks_mut(128) {
        let rows: Vec<_> = chunk
            .iter()
            .flat_map(|p| [p.chosen.clone(), p.rejected.clone()])
            .collect();
        let (x, m) = batch_tensors::<IB>(&rows, &device);
        let lp: Vec<f32> = seq_logp(&reference, x, m)
            .into_data()
            .to_vec()
            .map_err(|e| format!("{e:?}"))?;
        for (j, p) in chunk.iter_mut().enumerate() {
            p.ref_c = lp[2 * j];
            p.ref_r = lp[2 * j + 1];
        }
    }
    eprintln!(
        "  [lm] {} pairs from {} prompts x {} samples ({:.1} % of samples correct)",
        pairs.len(),
        s.pair_prompts,
        s.samples_per_prompt,
        100.0 * correct as f64 / samples.len() as f64
    );

    // ---- 3. DPO / SimPO / rDPO, clean and with 20 % of labels flipped.
    let n_flip = (pairs.len() as f64 * 0.2).round() as usize;
    let mut flip_order: Vec<usize> = (0..pairs.len()).collect();
    flip_order.shuffle(&mut StdRng::seed_from_u64(seed ^ 0xF11F));
    let mut flipped = vec![false; pairs.len()];
    for &i in &flip_order[..n_flip] {
        flipped[i] = true;
    }

    let (beta_dpo, beta_simpo, gamma_simpo, eps) = (1.0, 2.0, 0.5, 0.2);
    let mut runs = Vec::new();
    for noisy in [false, true] {
        for method in [Method::Dpo, Method::SimPo, Method::RDpo] {
            let t0 = Instant::now();
            let (name, hparams) = match method {
                Method::Dpo => ("DPO", format!("β = {beta_dpo}")),
                Method::SimPo => ("SimPO", format!("β = {beta_simpo}, γ = {gamma_simpo}")),
                Method::RDpo => ("rDPO", format!("β = {beta_dpo}, ε = {eps}")),
            };
            let sched = WarmupCosineConfig::new(s.pref_lr, s.pref_steps)
                .with_warmup_steps(s.pref_steps / 10)
                .init()
                .map_err(e)?;
            let mut tr = Trainer::new(
                sft.clone(),
                adamw(0.0, Some(1.0)).init(),
                sched,
                seed ^ 0xD90,
            );
            let tag = format!(
                "pref_{}_{}",
                name.to_lowercase(),
                if noisy { "noisy" } else { "clean" }
            );
            let mut csv = CsvLogger::create(
                &out.join(format!("{tag}.csv")),
                &["step", "lr", "loss", "margin_acc"],
            )
            .map_err(e)?;
            let mut losses = Vec::with_capacity(s.pref_steps);
            let mut bar = Progress::new(format!("  [lm] {tag}"), s.pref_steps as u64);
            for step in 0..s.pref_steps {
                let mut rng = StdRng::seed_from_u64(tr.step_seed());
                let idx: Vec<usize> = (0..s.pref_batch)
                    .map(|_| rng.random_range(0..pairs.len()))
                    .collect();
                let b = idx.len();
                let mut rows = Vec::with_capacity(2 * b);
                let (mut rc, mut rr) = (Vec::with_capacity(b), Vec::with_capacity(b));
                for &i in &idx {
                    let p = &pairs[i];
                    let flip = noisy && flipped[i];
                    let (c, r, a, z) = if flip {
                        (&p.rejected, &p.chosen, p.ref_r, p.ref_c)
                    } else {
                        (&p.chosen, &p.rejected, p.ref_c, p.ref_r)
                    };
                    rows.push(c.clone());
                    rows.push(r.clone());
                    rc.push(a);
                    rr.push(z);
                }
                let (x, m) = batch_tensors::<AB>(&rows, &device);
                let lens = m.clone().sum_dim(1).reshape([2 * b]);
                let lp = seq_logp(&tr.model, x, m);
                let even = Tensor::<AB, 1, Int>::arange_step(0..2 * b as i64, 2, &device);
                let odd = Tensor::<AB, 1, Int>::arange_step(1..2 * b as i64, 2, &device);
                let (pc, pr) = (
                    lp.clone().select(0, even.clone()),
                    lp.select(0, odd.clone()),
                );
                let ref_c = Tensor::<AB, 1>::from_floats(rc.as_slice(), &device);
                let ref_r = Tensor::<AB, 1>::from_floats(rr.as_slice(), &device);
                let (loss, margin) = match method {
                    Method::Dpo => (
                        adapters::dpo_loss(
                            pc.clone(),
                            pr.clone(),
                            ref_c.clone(),
                            ref_r.clone(),
                            beta_dpo,
                        )?,
                        (pc - ref_c) - (pr - ref_r),
                    ),
                    Method::RDpo => (
                        adapters::rdpo_loss(
                            pc.clone(),
                            pr.clone(),
                            ref_c.clone(),
                            ref_r.clone(),
                            beta_dpo,
                            eps,
                        )?,
                        (pc - ref_c) - (pr - ref_r),
                    ),
                    Method::SimPo => {
                        let avg_c = pc / lens.clone().select(0, even);
                        let avg_r = pr / lens.select(0, odd);
                        (
                            adapters::simpo_loss(
                                avg_c.clone(),
                                avg_r.clone(),
                                beta_simpo,
                                gamma_simpo,
                            )?,
                            avg_c - avg_r,
                        )
                    }
                };
                let macc: f32 = margin
                    .detach()
                    .greater_elem(0.0)
                    .float()
                    .mean()
                    .into_scalar();
                let lv: f32 = loss.clone().into_scalar();
                let lr = tr.apply(loss);
                losses.push(lv as f64);
                csv.log(&[step as f64, lr, lv as f64, macc as f64])
                    .map_err(e)?;
                bar.set(
                    step as u64 + 1,
                    format!("loss {lv:.4}  margin acc {macc:.2}"),
                );
            }
            bar.finish("done");
            csv.flush().map_err(e)?;
            let policy = tr.model.valid();
            // Implicit-reward ranking accuracy on the clean labels.
            let mut right = 0usize;
            for chunk in pairs.chunks(128) {
                let rows: Vec<_> = chunk
                    .iter()
                    .flat_map(|p| [p.chosen.clone(), p.rejected.clone()])
                    .collect();
                let (x, m) = batch_tensors::<IB>(&rows, &device);
                let lens: Vec<f32> = m
                    .clone()
                    .sum_dim(1)
                    .into_data()
                    .to_vec()
                    .map_err(|e| format!("{e:?}"))?;
                let lp: Vec<f32> = seq_logp(&policy, x, m)
                    .into_data()
                    .to_vec()
                    .map_err(|e| format!("{e:?}"))?;
                for (j, p) in chunk.iter().enumerate() {
                    let margin = match method {
                        Method::SimPo => lp[2 * j] / lens[2 * j] - lp[2 * j + 1] / lens[2 * j + 1],
                        _ => (lp[2 * j] - p.ref_c) - (lp[2 * j + 1] - p.ref_r),
                    };
                    right += (margin > 0.0) as usize;
                }
            }
            let acc = evaluate(&policy, &eval_prompts, k, seed ^ 0x5A3);
            let tail = (s.pref_steps / 10).max(1);
            let final_loss = losses[losses.len() - tail..].iter().sum::<f64>() / tail as f64;
            let seconds = t0.elapsed().as_secs_f64();
            eprintln!(
                "  [lm] {name:<5} {}: greedy {:.3}, sampled {:.3}, pair acc {:.3} ({seconds:.1} s)",
                if noisy { "20% flipped" } else { "clean      " },
                acc.greedy,
                acc.sampled,
                right as f64 / pairs.len() as f64
            );
            runs.push(PrefRun {
                method: name,
                hparams,
                noisy,
                acc,
                final_loss,
                pair_acc: right as f64 / pairs.len() as f64,
                seconds,
                losses,
            });
        }
    }

    Ok(LangResult {
        setup: format!(
            "sort {k} digits (prompt `{}`, answer `{}\\n`); pretraining ≤ {} steps x batch {}; {} prompts x {} samples; {} preference steps x batch {} per run",
            String::from_utf8_lossy(&eval_prompts[0]),
            String::from_utf8_lossy(&answer(&eval_prompts[0])[..k]),
            s.pretrain_steps,
            s.pretrain_batch,
            s.pair_prompts,
            s.samples_per_prompt,
            s.pref_steps,
            s.pref_batch
        ),
        params,
        stopped_at_target,
        pretrain_steps_taken: pretrain_losses.len(),
        pretrain_target: s.pretrain_target,
        pretrain_losses,
        pretrain_seconds,
        base,
        eval_prompts: eval_prompts.len(),
        pairs: pairs.len(),
        sample_correct_rate: correct as f64 / samples.len() as f64,
        pairs_with_correct_chosen,
        runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_and_encoding() {
        assert_eq!(answer(b"3142="), b"1234\n".to_vec());
        assert!(verify(b"3142=", b"1234\n"));
        assert!(!verify(b"3142=", b"1243\n") && !verify(b"3142=", b"1234"));
        let (t, m) = encode(b"31=", b"13\n", 2);
        assert_eq!(
            t,
            vec![
                b'3' as i64,
                b'1' as i64,
                b'=' as i64,
                b'1' as i64,
                b'3' as i64,
                10
            ]
        );
        // log-prob position i scores token i+1: completion tokens are 3, 4, 5 -> positions 2, 3, 4.
        assert_eq!(m, vec![0.0, 0.0, 1.0, 1.0, 1.0]);
    }
}
