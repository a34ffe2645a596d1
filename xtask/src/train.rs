//! `cargo xtask train`: preference optimisation of a byte LM on a JSONL file of pairs, TRL's
//! `trl dpo` command line on preferent's [`PreferenceTrainer`].
//!
//! ```text
//! cargo xtask train --data pairs.jsonl --loss sigmoid --beta 0.1 --learning-rate 1e-3 \
//!     --max-steps 200 --output-dir target/train/run1
//! ```
//! Flags carry TRL's `DPOConfig` / `TrainingArguments` names (kebab-case) and defaults. The run
//! folder gets `config.json`, `metrics.csv` (training windows), `eval_metrics.csv`, `report.md`,
//! `model.safetensors` (final policy weights) and `checkpoints/checkpoint-N/` every
//! `--save-steps`. No plots yet (the numbers are in the CSVs).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use preferent::data::transform::train_test_split;
use preferent::data::{
    dataset_fingerprint, read_jsonl, ByteTokenizer, ChatMlTemplate, CollatorConfig, EncodedPair,
    Encoder, JsonlReaderConfig, PairCollator, PairRecord, ReadPolicy, ReadReport, Tokenizer,
    TruncationConfig,
};
use preferent::losses::orpo::OrpoConfig;
use preferent::losses::pairwise::{DpoConfig, DpoLossType, FDivergenceType};
use preferent::losses::simpo::SimpoConfig;
use preferent::models::train::{
    frozen_reference, reference_cache, steps_for_epochs, FitOptions, MetricsRow, NonFinitePolicy,
    PreferenceLossConfig, PreferenceTrainer, PreferenceTrainerConfig, Reference,
};
use preferent::models::ByteLmConfig;

use crate::demo::AB;

/// What to do with a malformed line of the training or evaluation file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BadLine {
    /// Skip it, count it and report its line number.
    Skip,
    /// Stop with an error naming the file and line.
    Fail,
}

/// What a NaN / ±∞ loss does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnNonFinite {
    /// Stop with an error naming the first bad step (checked every `--nonfinite-check-steps`).
    Stop,
    /// Skip the step's update (reads one flag per step).
    Skip,
}

/// TRL's f-divergence names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum FDivergence {
    /// Reverse KL (standard DPO).
    ReverseKl,
    /// Forward KL.
    ForwardKl,
    /// Jensen–Shannon.
    JsDivergence,
    /// α-divergence (`--f-alpha-divergence-coef`).
    AlphaDivergence,
}

/// `cargo xtask train` options: TRL `DPOConfig` / `TrainingArguments` names and defaults.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training pairs, JSONL (TRL standard or conversational: prompt / chosen / rejected).
    #[arg(long)]
    pub data: PathBuf,
    /// Held-out pairs, JSONL; without it, `--eval-split` of `--data` is held out.
    #[arg(long)]
    pub eval_data: Option<PathBuf>,
    /// Fraction of `--data` held out for evaluation (seeded by `--seed`; 0 = no evaluation).
    #[arg(long, default_value_t = 0.1, value_parser = unit_fraction)]
    pub eval_split: f64,
    /// TRL `loss_type`: any DPO-family name (sigmoid, hinge, ipo, exo_pair, nca_pair, robust,
    /// bco_pair, sppo_hard, aot, aot_unpaired, apo_zero, apo_down, discopop, sft,
    /// sigmoid_norm), `simpo` or `orpo`.
    #[arg(long = "loss", visible_alias = "loss-type", default_value = "sigmoid", value_parser = loss_type)]
    pub loss: String,
    /// β (default: 0.1 for DPO and ORPO, 2.0 for SimPO).
    #[arg(long, value_parser = positive)]
    pub beta: Option<f64>,
    /// Label smoothing ε (cDPO / robust / exo_pair / SimPO), in [0, 0.5).
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f64,
    /// RPO: add `rpo_alpha · NLL(chosen)` (DPO family).
    #[arg(long)]
    pub rpo_alpha: Option<f64>,
    /// Ignore the reference (`log π_ref = 0`; DPO family).
    #[arg(long)]
    pub reference_free: bool,
    /// Compute the reference log-probs of every pair once before training (TRL
    /// `precompute_ref_log_probs`) instead of a reference forward pass per step.
    #[arg(long)]
    pub precompute_ref_log_probs: bool,
    /// f-divergence of f-DPO.
    #[arg(long, value_enum, default_value = "reverse_kl")]
    pub f_divergence_type: FDivergence,
    /// `a` of the α-divergence (TRL-HEAD convention).
    #[arg(long, default_value_t = 0.5)]
    pub f_alpha_divergence_coef: f64,
    /// τ of DiscoPOP.
    #[arg(long, default_value_t = 0.05)]
    pub discopop_tau: f64,
    /// SimPO target margin γ (TRL `simpo_gamma`; default γ/β = 0.25 as the official trainer).
    #[arg(long)]
    pub simpo_gamma: Option<f64>,
    /// SimPO's NLL weight (TRL `cpo_alpha`; default 0 as the official SimPO trainer).
    #[arg(long, default_value_t = 0.0)]
    pub cpo_alpha: f64,
    /// Peak learning rate (TRL default 1e-6 is for pretrained models; a fresh byte LM wants
    /// ~1e-3).
    #[arg(long, default_value_t = 1e-6, value_parser = positive)]
    pub learning_rate: f64,
    /// Passes over the training pairs (ignored with `--max-steps`).
    #[arg(long, default_value_t = 3.0, value_parser = positive)]
    pub num_train_epochs: f64,
    /// Optimiser steps in total (overrides `--num-train-epochs`).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Pairs per step.
    #[arg(long, default_value_t = 8)]
    pub per_device_train_batch_size: usize,
    /// Pairs per evaluation batch.
    #[arg(long, default_value_t = 8)]
    pub per_device_eval_batch_size: usize,
    /// Linear warmup steps (overrides `--warmup-ratio`).
    #[arg(long, default_value_t = 0)]
    pub warmup_steps: usize,
    /// Warmup as a fraction of the steps.
    #[arg(long, default_value_t = 0.0, value_parser = unit_fraction)]
    pub warmup_ratio: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// AdamW ε.
    #[arg(long, default_value_t = 1e-8)]
    pub adam_epsilon: f64,
    /// Global-norm gradient clipping (0 disables).
    #[arg(long, default_value_t = 1.0)]
    pub max_grad_norm: f64,
    /// Seed of initialisation, split and data order.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Log (and read metrics back) every this many steps.
    #[arg(long, default_value_t = 10)]
    pub logging_steps: usize,
    /// Evaluate every this many steps (default: `--logging-steps`).
    #[arg(long)]
    pub eval_steps: Option<usize>,
    /// Checkpoint every this many steps (0 = none).
    #[arg(long, default_value_t = 500)]
    pub save_steps: usize,
    /// Run folder.
    #[arg(long, default_value = "target/train/run")]
    pub output_dir: PathBuf,
    /// Resume from a checkpoint folder (`OUTPUT_DIR/checkpoints/checkpoint-N`).
    #[arg(long)]
    pub resume_from_checkpoint: Option<PathBuf>,
    /// Maximum prompt + completion tokens (bytes + BOS/EOS); also the model's context.
    #[arg(long, default_value_t = 1024)]
    pub max_length: usize,
    /// Maximum prompt tokens (none by default, as TRL HEAD).
    #[arg(long)]
    pub max_prompt_length: Option<usize>,
    /// Malformed JSONL lines: skip and count (their line numbers are reported) or fail.
    #[arg(long, value_enum, default_value = "fail")]
    pub on_bad_line: BadLine,
    /// A NaN / ±∞ loss: stop with the step named, or skip the step.
    #[arg(long, value_enum, default_value = "stop")]
    pub on_non_finite: OnNonFinite,
    /// Steps between non-finite checks (default: `--logging-steps`).
    #[arg(long)]
    pub nonfinite_check_steps: Option<usize>,
    /// Byte-LM width.
    #[arg(long, default_value_t = 64)]
    pub d_model: usize,
    /// Byte-LM layers.
    #[arg(long, default_value_t = 2)]
    pub n_layers: usize,
    /// Byte-LM attention heads.
    #[arg(long, default_value_t = 4)]
    pub n_heads: usize,
    /// Byte-LM feed-forward width.
    #[arg(long, default_value_t = 256)]
    pub d_ff: usize,
}

fn loss_type(s: &str) -> Result<String, String> {
    if s == "simpo" || s == "orpo" || DpoLossType::from_trl(s).is_ok() {
        return Ok(s.to_string());
    }
    let names: Vec<&str> = DpoLossType::ALL.iter().map(|t| t.trl_name()).collect();
    Err(format!(
        "unknown loss type `{s}` (expected one of: {}, simpo, orpo)",
        names.join(", ")
    ))
}

fn positive(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|e| format!("`{s}` is not a number: {e}"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be > 0 and finite, got {v}"))
    }
}

fn unit_fraction(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|e| format!("`{s}` is not a number: {e}"))?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be in [0, 1), got {v}"))
    }
}

/// The loss configuration the flags describe.
pub fn loss_config(a: &TrainArgs) -> Result<PreferenceLossConfig, String> {
    Ok(match a.loss.as_str() {
        "simpo" => {
            let beta = a.beta.unwrap_or(2.0);
            let mut c = SimpoConfig::new()
                .with_beta(beta)
                .with_label_smoothing(a.label_smoothing)
                .with_sft_weight(a.cpo_alpha);
            if let Some(g) = a.simpo_gamma {
                c = c.with_gamma_beta_ratio(g / beta);
            }
            PreferenceLossConfig::Simpo(c)
        }
        "orpo" => PreferenceLossConfig::Orpo(OrpoConfig::new().with_beta(a.beta.unwrap_or(0.1))),
        name => PreferenceLossConfig::Dpo(
            DpoConfig::new()
                .with_loss_types(vec![DpoLossType::from_trl(name).map_err(|e| e.to_string())?])
                .with_beta(a.beta.unwrap_or(0.1))
                .with_label_smoothing(a.label_smoothing)
                .with_rpo_alpha(a.rpo_alpha)
                .with_reference_free(a.reference_free)
                .with_f_divergence_type(match a.f_divergence_type {
                    FDivergence::ReverseKl => FDivergenceType::ReverseKl,
                    FDivergence::ForwardKl => FDivergenceType::ForwardKl,
                    FDivergence::JsDivergence => FDivergenceType::JsDivergence,
                    FDivergence::AlphaDivergence => FDivergenceType::AlphaDivergence,
                })
                .with_f_alpha_divergence_coef(a.f_alpha_divergence_coef)
                .with_discopop_tau(a.discopop_tau),
        ),
    })
}

/// The trainer configuration for `n_train` training pairs.
pub fn trainer_config(a: &TrainArgs, n_train: usize) -> Result<PreferenceTrainerConfig, String> {
    let steps = a.max_steps.unwrap_or_else(|| {
        steps_for_epochs(n_train, a.per_device_train_batch_size, a.num_train_epochs)
    });
    let warmup = if a.warmup_steps > 0 {
        a.warmup_steps
    } else {
        (a.warmup_ratio * steps as f64).ceil() as usize
    };
    Ok(PreferenceTrainerConfig::new(loss_config(a)?, steps)
        .with_learning_rate(a.learning_rate)
        .with_weight_decay(a.weight_decay)
        .with_adam_epsilon(a.adam_epsilon)
        .with_warmup_steps(warmup)
        .with_max_grad_norm((a.max_grad_norm > 0.0).then_some(a.max_grad_norm))
        .with_per_device_train_batch_size(a.per_device_train_batch_size)
        .with_per_device_eval_batch_size(a.per_device_eval_batch_size)
        .with_seed(a.seed)
        .with_logging_steps(a.logging_steps)
        .with_eval_steps(a.eval_steps)
        .with_save_steps((a.save_steps > 0).then_some(a.save_steps))
        .with_nonfinite_check_steps(a.nonfinite_check_steps)
        .with_on_non_finite(match a.on_non_finite {
            OnNonFinite::Stop => NonFinitePolicy::Stop,
            OnNonFinite::Skip => NonFinitePolicy::Skip,
        }))
}

fn read_pairs(path: &Path, on_bad_line: BadLine) -> Result<(Vec<PairRecord>, ReadReport), String> {
    let policy = match on_bad_line {
        BadLine::Skip => ReadPolicy::SkipAndCount,
        BadLine::Fail => ReadPolicy::FailFast,
    };
    let (records, report) =
        read_jsonl::<PairRecord>(path, JsonlReaderConfig::new().with_policy(policy)).map_err(
            |e| format!("{e} (pass --on-bad-line skip to skip and count malformed lines)"),
        )?;
    if report.skipped > 0 {
        eprintln!(
            "warning: skipped {} malformed line(s): {report}",
            report.skipped
        );
    }
    if records.is_empty() {
        return Err(format!("{}: no pairs read ({report})", path.display()));
    }
    Ok((records, report))
}

fn row_line(label: &str, r: &MetricsRow) -> String {
    format!(
        "| {label} | {} | {:.4} | {:.3} | {:.4} | {:.3} | {:.3} |",
        r.step,
        r.loss,
        r.rewards_accuracies,
        r.rewards_margins,
        r.rewards_chosen,
        r.rewards_rejected
    )
}

/// Runs `cargo xtask train`.
pub fn run(a: &TrainArgs) -> Result<(), String> {
    let t0 = Instant::now();
    let e = |e: preferent::models::Error| e.to_string();
    let (records, train_report) = read_pairs(&a.data, a.on_bad_line)?;
    let mut reports = vec![train_report];
    let (train_records, eval_records) = match &a.eval_data {
        Some(p) => {
            let (eval, report) = read_pairs(p, a.on_bad_line)?;
            reports.push(report);
            (records, eval)
        }
        None => train_test_split(records, a.eval_split, a.seed).map_err(|e| e.to_string())?,
    };
    if train_records.is_empty() {
        return Err("no training pairs left after the evaluation split".into());
    }
    let collator = PairCollator::new(
        Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
        CollatorConfig::new().with_truncation(
            TruncationConfig::new()
                .with_max_length(Some(a.max_length))
                .with_max_prompt_length(a.max_prompt_length),
        ),
    );
    let encode = |rs: &[PairRecord]| -> Result<Vec<EncodedPair>, String> {
        rs.iter()
            .map(|r| collator.encoder.pair(r).map_err(|e| e.to_string()))
            .collect()
    };
    let (train, eval) = (encode(&train_records)?, encode(&eval_records)?);
    let cfg = trainer_config(a, train.len())?;
    let model_cfg = ByteLmConfig::for_vocab(collator.encoder.tokenizer.vocab_size())
        .with_d_model(a.d_model)
        .with_n_layers(a.n_layers)
        .with_n_heads(a.n_heads)
        .with_d_ff(a.d_ff)
        .with_max_seq_len(a.max_length);
    let device = Default::default();
    <AB as burn::tensor::backend::Backend>::seed(&device, a.seed);
    let policy = model_cfg.init::<AB>(&device).map_err(e)?;
    let reference = if !cfg.loss.needs_reference() {
        Reference::None
    } else if a.precompute_ref_log_probs {
        let frozen = frozen_reference(&policy);
        let fingerprint = dataset_fingerprint(&train_records);
        let cache = |pairs: &[EncodedPair], fp: u64| {
            reference_cache(
                &frozen,
                &collator,
                pairs,
                cfg.per_device_eval_batch_size,
                fp,
                &device,
            )
        };
        Reference::Cache {
            train: cache(&train, fingerprint).map_err(e)?,
            eval: Some(cache(&eval, dataset_fingerprint(&eval_records)).map_err(e)?),
        }
    } else {
        Reference::frozen(&policy)
    };
    let mut tr = match &a.resume_from_checkpoint {
        Some(dir) => PreferenceTrainer::load(dir, &cfg, policy, reference, &device).map_err(e)?,
        None => cfg.init(policy, reference, &device).map_err(e)?,
    };

    let out = &a.output_dir;
    std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let config_json = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>(),
        "data": a.data,
        "eval_data": a.eval_data,
        "eval_split": a.eval_split,
        "train_pairs": train.len(),
        "eval_pairs": eval.len(),
        "on_bad_line": format!("{:?}", a.on_bad_line).to_lowercase(),
        "max_length": a.max_length,
        "max_prompt_length": a.max_prompt_length,
        "precompute_ref_log_probs": a.precompute_ref_log_probs,
        "backend": "Autodiff<Flex> (CPU)",
        "model": serde_json::to_value(&model_cfg).map_err(|e| e.to_string())?,
        "trainer": serde_json::to_value(&cfg).map_err(|e| e.to_string())?,
    });
    let config_path = out.join("config.json");
    std::fs::write(
        &config_path,
        serde_json::to_string_pretty(&config_json).expect("json value"),
    )
    .map_err(|e| format!("writing {}: {e}", config_path.display()))?;
    eprintln!(
        "train {}: {} train / {} eval pairs, {} steps, writing to {}",
        cfg.loss.name(),
        train.len(),
        eval.len(),
        cfg.max_steps,
        out.display()
    );

    let before = (!eval.is_empty())
        .then(|| tr.evaluate(&collator, &eval))
        .transpose()
        .map_err(e)?;
    let t_fit = Instant::now();
    let opts = FitOptions {
        metrics_csv: Some(out.join("metrics.csv")),
        eval_csv: Some(out.join("eval_metrics.csv")),
        checkpoint_dir: cfg.save_steps.map(|_| out.join("checkpoints")),
        progress: true,
    };
    let start_step = tr.trainer.step;
    let summary = tr.fit(&collator, &train, &eval, &opts).map_err(e)?;
    let fit_s = t_fit.elapsed().as_secs_f64();
    let model_path = out.join("model.safetensors");
    tr.save_model(&model_path).map_err(e)?;

    let mut md = String::new();
    let _ = writeln!(md, "# Preference training run\n");
    let _ = writeln!(
        md,
        "Loss `{}`, {} steps (from step {start_step}), {} train / {} eval pairs, byte LM \
         d_model {} × {} layers, learning rate {}, batch {}, seed {}.\n",
        cfg.loss.name(),
        summary.steps,
        train.len(),
        eval.len(),
        a.d_model,
        a.n_layers,
        cfg.learning_rate,
        cfg.per_device_train_batch_size,
        cfg.seed
    );
    let _ = writeln!(md, "## Data\n");
    for r in &reports {
        let _ = writeln!(
            md,
            "- `{}`: {} lines, {} pairs read, {} malformed line(s) skipped, {} blank",
            r.file, r.lines, r.read, r.skipped, r.blank
        );
        for le in &r.errors {
            let _ = writeln!(md, "  - line {}: {}", le.line, le.problem);
        }
    }
    let _ = writeln!(md, "\n## Final numbers\n");
    let _ = writeln!(
        md,
        "| | step | loss | reward accuracy | margin | reward chosen | reward rejected |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    if let Some(b) = &before {
        let _ = writeln!(md, "{}", row_line("eval, at start", b));
    }
    if let Some(r) = summary.eval.last() {
        let _ = writeln!(md, "{}", row_line("eval, final", r));
    }
    if let Some(r) = summary.train.first() {
        let _ = writeln!(md, "{}", row_line("train, first window", r));
    }
    if let Some(r) = summary.train.last() {
        let _ = writeln!(md, "{}", row_line("train, last window", r));
    }
    let steps_run = summary.steps - start_step;
    let _ = writeln!(
        md,
        "\n{steps_run} steps in {fit_s:.1} s ({:.2} steps/s, evaluation included); skipped \
         steps: {:?}.\n",
        steps_run as f64 / fit_s.max(1e-9),
        summary.skipped_steps
    );
    let _ = writeln!(md, "## Files\n");
    let _ = writeln!(
        md,
        "- `config.json`, `metrics.csv` (training windows){}, `model.safetensors` (final \
         weights){}\n- no plots yet (plot the CSVs).",
        if eval.is_empty() {
            ""
        } else {
            ", `eval_metrics.csv`"
        },
        if summary.checkpoints.is_empty() {
            String::new()
        } else {
            format!(
                ", {} checkpoint(s) under `checkpoints/`",
                summary.checkpoints.len()
            )
        }
    );
    let report_path = out.join("report.md");
    std::fs::write(&report_path, &md)
        .map_err(|e| format!("writing {}: {e}", report_path.display()))?;
    println!("{md}");
    println!(
        "done in {:.1} s; run folder {}",
        t0.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: TrainArgs,
    }

    fn parse(extra: &[&str]) -> Result<TrainArgs, clap::Error> {
        let mut argv = vec!["train", "--data", "pairs.jsonl"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).map(|c| c.args)
    }

    #[test]
    fn defaults_are_trls() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.loss, "sigmoid");
        assert_eq!((a.learning_rate, a.num_train_epochs), (1e-6, 3.0));
        assert_eq!((a.per_device_train_batch_size, a.logging_steps), (8, 10));
        assert_eq!((a.max_grad_norm, a.seed, a.save_steps), (1.0, 42, 500));
        assert_eq!(a.on_bad_line, BadLine::Fail);
        let cfg = trainer_config(&a, 100).unwrap();
        assert_eq!(cfg.max_steps, 39, "ceil(100 / 8) × 3 epochs");
        match &cfg.loss {
            PreferenceLossConfig::Dpo(d) => assert_eq!(d.beta, 0.1),
            other => panic!("{other:?}"),
        }
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn flags_reach_the_config() {
        let a = parse(&[
            "--loss-type",
            "ipo",
            "--beta",
            "0.5",
            "--label-smoothing",
            "0.1",
            "--max-steps",
            "7",
            "--warmup-ratio",
            "0.3",
            "--max-grad-norm",
            "0",
            "--on-bad-line",
            "skip",
            "--on-non-finite",
            "skip",
            "--rpo-alpha",
            "1.0",
            "--f-divergence-type",
            "js_divergence",
            "--save-steps",
            "0",
            "--precompute-ref-log-probs",
        ])
        .unwrap();
        assert_eq!(a.on_bad_line, BadLine::Skip);
        assert!(a.precompute_ref_log_probs && !a.reference_free);
        let cfg = trainer_config(&a, 100).unwrap();
        assert_eq!((cfg.max_steps, cfg.warmup_steps), (7, 3));
        assert_eq!((cfg.max_grad_norm, cfg.save_steps), (None, None));
        assert_eq!(cfg.on_non_finite, NonFinitePolicy::Skip);
        let PreferenceLossConfig::Dpo(d) = &cfg.loss else {
            panic!("{:?}", cfg.loss)
        };
        assert_eq!(d.loss_types, vec![DpoLossType::Ipo]);
        assert_eq!(
            (d.beta, d.label_smoothing, d.rpo_alpha),
            (0.5, 0.1, Some(1.0))
        );
        assert_eq!(d.f_divergence_type, FDivergenceType::JsDivergence);

        let s = trainer_config(
            &parse(&["--loss", "simpo", "--simpo-gamma", "1.0"]).unwrap(),
            8,
        );
        match s.unwrap().loss {
            PreferenceLossConfig::Simpo(c) => assert_eq!((c.beta, c.gamma_beta_ratio), (2.0, 0.5)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            loss_config(&parse(&["--loss", "orpo"]).unwrap()).unwrap(),
            PreferenceLossConfig::Orpo(_)
        ));
    }

    #[test]
    fn unknown_flags_and_bad_values_are_clap_errors() {
        use clap::error::ErrorKind;
        let kind = |extra: &[&str]| parse(extra).unwrap_err().kind();
        assert_eq!(kind(&["--no-such-flag"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["--loss", "dpo_typo"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--beta=-1"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--beta", "abc"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--eval-split", "1.5"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--on-bad-line", "ignore"]), ErrorKind::InvalidValue);
        assert_eq!(kind(&["--max-steps", "x"]), ErrorKind::ValueValidation);
        assert!(
            Cli::try_parse_from(["train"]).is_err(),
            "--data is required"
        );
        let msg = parse(&["--loss", "dpo_typo"]).unwrap_err().to_string();
        assert!(msg.contains("sigmoid") && msg.contains("simpo"), "{msg}");
    }
}
