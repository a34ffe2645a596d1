//! `cargo xtask demo`: preferent doing real work end to end on the CPU (burn's Flex backend).

pub mod adapters;
mod diffusion;
mod language;
pub mod report;

use std::path::PathBuf;
use std::time::Instant;

use preferent::models::ByteLmConfig;

/// The CPU backend the demo runs on (xtask is the only place that names one).
pub type IB = burn::backend::Flex;
/// [`IB`] with autodiff.
pub type AB = burn::backend::Autodiff<IB>;

/// Which half of the demo to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// Byte LM + DPO / SimPO / rDPO.
    Language,
    /// Digits denoiser + DDIM / DPM-Solver++.
    Diffusion,
}

/// Command-line options.
pub struct DemoOptions {
    /// Small settings for CI.
    pub quick: bool,
    /// Output directory.
    pub out: PathBuf,
    /// Master seed.
    pub seed: u64,
    /// Run only one part.
    pub only: Option<Part>,
}

fn lang_settings(quick: bool) -> language::LangSettings {
    if quick {
        language::LangSettings {
            digits: 4,
            model: ByteLmConfig::tiny().with_max_seq_len(16),
            pretrain_steps: 400,
            pretrain_target: 0.5,
            check_every: 20,
            pretrain_batch: 64,
            pretrain_lr: 3e-3,
            pair_prompts: 256,
            samples_per_prompt: 4,
            pref_steps: 60,
            pref_batch: 32,
            pref_lr: 2e-4,
            eval_prompts: 256,
        }
    } else {
        language::LangSettings {
            digits: 5,
            model: ByteLmConfig::tiny()
                .with_max_seq_len(16)
                .with_n_layers(3)
                .with_d_model(96)
                .with_d_ff(384),
            pretrain_steps: 1200,
            pretrain_target: 0.5,
            check_every: 25,
            pretrain_batch: 64,
            pretrain_lr: 2e-3,
            pair_prompts: 512,
            samples_per_prompt: 4,
            pref_steps: 60,
            pref_batch: 32,
            pref_lr: 2e-4,
            eval_prompts: 512,
        }
    }
}

fn diff_settings(quick: bool) -> diffusion::DiffSettings {
    if quick {
        diffusion::DiffSettings {
            hidden: 256,
            blocks: 3,
            train_steps: 1500,
            batch: 128,
            lr: 2e-3,
            clf_steps: 300,
            n_samples: 500,
        }
    } else {
        diffusion::DiffSettings {
            hidden: 256,
            blocks: 3,
            train_steps: 2500,
            batch: 128,
            lr: 2e-3,
            clf_steps: 600,
            n_samples: 1000,
        }
    }
}

/// Runs the demo and writes the report.
pub fn run(opts: &DemoOptions) -> Result<(), String> {
    let t0 = Instant::now();
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| format!("creating {}: {e}", opts.out.display()))?;
    let mode = if opts.quick { "quick" } else { "full" };
    eprintln!("preferent demo ({mode}), writing to {}", opts.out.display());

    let lang = if opts.only != Some(Part::Diffusion) {
        eprintln!("== Language side");
        let t = Instant::now();
        let r = language::run(&lang_settings(opts.quick), opts.seed, &opts.out)?;
        Some((r, t.elapsed().as_secs_f64()))
    } else {
        None
    };
    let diff = if opts.only != Some(Part::Language) {
        eprintln!("== Diffusion side");
        let t = Instant::now();
        let r = diffusion::run(&diff_settings(opts.quick), opts.seed, &opts.out)?;
        Some((r, t.elapsed().as_secs_f64()))
    } else {
        None
    };

    let files = report::write(&report::ReportInput {
        out: &opts.out,
        mode,
        seed: opts.seed,
        lang: lang.as_ref().map(|(r, s)| (r, *s)),
        diff: diff.as_ref().map(|(r, s)| (r, *s)),
        total_seconds: t0.elapsed().as_secs_f64(),
    })?;
    let report_path = opts.out.join("report.md");
    let text = std::fs::read_to_string(&report_path).map_err(|e| e.to_string())?;
    report::check_sections(&text)?;
    println!("demo finished in {:.1} s", t0.elapsed().as_secs_f64());
    println!("report: {}", report_path.display());
    for f in files {
        println!("  {}", opts.out.join(f).display());
    }
    Ok(())
}
