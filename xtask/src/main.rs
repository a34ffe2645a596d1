//! `cargo xtask <command>`: project automation for preferent.
//!
//! - `cargo xtask validate [--wgpu] [--cuda]`: the CI checks, cheapest first.
//! - `cargo xtask demo [--quick]`: the end-to-end demo (language + diffusion side), writing a
//!   report, PNG sample grids and loss curves under `target/demo/`.
//! - `cargo xtask sampler-convergence [--out docs]`: error vs NFE of every sampler on the analytic
//!   Gaussian mixture (`nfe_error.{csv,md,png}`).
//! - `cargo xtask check-report [PATH]`: checks a demo report has the expected sections.
//! - `cargo xtask compare <logprobs|sampler|train|all> [--quick]`: side-by-side timings against
//!   PyTorch / diffusers installed into `.venv` (never in CI); build with `--release` for numbers:
//!   `cargo run --release -p xtask -- compare all`.
//! - `cargo xtask train --data FILE.jsonl --loss sigmoid --beta 0.1 …`: preference training of a
//!   byte LM (TRL `DPOConfig` flags), writing a run folder.
//! - `cargo xtask rl stock-cvar [--out target/rl]`: the RL crate's experiments (CSV, labelled
//!   SVG plots, a Markdown section).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod compare;
mod convergence;
mod demo;
mod plot;
mod rl;
mod train;
mod validate;

/// preferent project automation.
#[derive(Parser, Debug)]
#[command(name = "xtask", about = "preferent project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the CI checks locally (format, clippy, tests, docs), cheapest first.
    Validate {
        /// Also run the test suite on the wgpu lane.
        #[arg(long)]
        wgpu: bool,
        /// Also check that the `cuda` feature builds.
        #[arg(long)]
        cuda: bool,
    },
    /// Run the end-to-end demo and write target/demo/report.md.
    Demo {
        /// Smaller settings (≤ 2 minutes on 2 cores); used in CI.
        #[arg(long)]
        quick: bool,
        /// Output directory.
        #[arg(long, default_value = "target/demo")]
        out: PathBuf,
        /// Master seed for data, initialisation and sampling.
        #[arg(long, default_value_t = 20_240_601)]
        seed: u64,
        /// Run only one half of the demo.
        #[arg(long, value_enum)]
        only: Option<demo::Part>,
    },
    /// Time preferent against PyTorch / diffusers side by side (installs them into `.venv`).
    Compare {
        /// `logprobs`, `sampler`, `train` or `all`.
        which: String,
        /// Smaller sizes.
        #[arg(long)]
        quick: bool,
    },
    /// Error vs NFE of every sampler on the analytic Gaussian mixture (CSV, table, PNG).
    SamplerConvergence {
        /// Output directory.
        #[arg(long, default_value = "docs")]
        out: PathBuf,
    },
    /// Preference-train a byte LM on a JSONL file of pairs (TRL `DPOConfig` flags).
    Train(Box<train::TrainArgs>),
    /// Run an RL experiment (`stock-cvar`).
    Rl(rl::RlArgs),
    /// Check that a demo report contains every expected section.
    CheckReport {
        /// Report to check.
        #[arg(default_value = "target/demo/report.md")]
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { wgpu, cuda } => validate::run(wgpu, cuda),
        Command::Demo {
            quick,
            out,
            seed,
            only,
        } => demo::run(&demo::DemoOptions {
            quick,
            out,
            seed,
            only,
        }),
        Command::Compare { which, quick } => compare::run(&which, quick),
        Command::SamplerConvergence { out } => convergence::run(&out),
        Command::Train(args) => train::run(&args),
        Command::Rl(args) => rl::run(&args),
        Command::CheckReport { path } => std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|text| demo::report::check_sections(&text))
            .map(|()| eprintln!("{}: all expected sections present", path.display())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
