//! The Markdown report of the demo, and the check of its sections.

use std::fmt::Write as _;
use std::path::Path;

use super::diffusion::DiffResult;
use super::language::LangResult;
use crate::plot::{line_plot, smooth, Series};

/// Section headings every report has, in order.
pub const SECTIONS: [&str; 3] = ["## Language side", "## Diffusion side", "## Files"];

/// Inputs to [`write()`].
pub struct ReportInput<'a> {
    /// Output directory.
    pub out: &'a Path,
    /// "quick" or "full".
    pub mode: &'a str,
    /// Master seed.
    pub seed: u64,
    /// Language results and wall time.
    pub lang: Option<(&'a LangResult, f64)>,
    /// Diffusion results and wall time.
    pub diff: Option<(&'a DiffResult, f64)>,
    /// Total wall time so far.
    pub total_seconds: f64,
}

/// Checks that `text` has every heading of [`SECTIONS`] in order.
pub fn check_sections(text: &str) -> Result<(), String> {
    let mut from = 0;
    for s in SECTIONS {
        match text[from..].lines().position(|l| l.trim_end() == s) {
            Some(_) => {
                let at = text[from..]
                    .find(&format!("{s}\n"))
                    .or_else(|| text[from..].find(s))
                    .unwrap_or(0);
                from += at + s.len();
            }
            None => {
                return Err(format!(
                    "report is missing section `{s}` (or it is out of order)"
                ))
            }
        }
    }
    Ok(())
}

const COLORS: [[u8; 3]; 6] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
];
const COLOR_NAMES: [&str; 6] = ["blue", "orange", "green", "red", "purple", "brown"];

/// Writes `report.md` and the loss-curve PNGs; returns the files written (relative to `out`).
pub fn write(inp: &ReportInput<'_>) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    let mut md = String::new();
    let _ = writeln!(md, "# preferent demo report ({} run)\n", inp.mode);
    let _ = writeln!(
        md,
        "Backend: burn Flex (CPU) with Autodiff; seed {}; total wall time {:.1} s. All numbers below are measured in this run.\n",
        inp.seed, inp.total_seconds
    );

    let _ = writeln!(md, "{}\n", SECTIONS[0]);
    match inp.lang {
        None => {
            let _ = writeln!(md, "Not run (`--only diffusion`).\n");
        }
        Some((r, secs)) => {
            let _ = writeln!(md, "Task: {}. Byte LM with {} parameters. Wall time {secs:.1} s (pretraining {:.1} s).\n", r.setup, r.params, r.pretrain_seconds);
            let _ = writeln!(
                md,
                "{}\n",
                match r.stopped_at_target {
                    Some((step, acc)) => format!(
                        "Pretraining stopped at step {step} when one temperature-1 sample per validation prompt was exactly right {:.1} % of the time (target {:.0} %), so that preference optimisation has room to improve.",
                        100.0 * acc,
                        100.0 * r.pretrain_target
                    ),
                    None => format!(
                        "Pretraining ran all {} steps without reaching the {:.0} % validation target.",
                        r.pretrain_steps_taken,
                        100.0 * r.pretrain_target
                    ),
                }
            );
            let _ = writeln!(
                md,
                "Pretrained model (the reference policy): greedy exact-match accuracy **{:.1} %**, one temperature-1 sample per prompt **{:.1} %** ({} held-out prompts; binomial standard error of an accuracy near {:.0} % is ±{:.1} points, so differences of a few points are within noise).\n",
                100.0 * r.base.greedy,
                100.0 * r.base.sampled,
                r.eval_prompts,
                100.0 * r.base.sampled,
                100.0 * (r.base.sampled * (1.0 - r.base.sampled) / r.eval_prompts as f64).sqrt()
            );
            let _ = writeln!(
                md,
                "Preference pairs: {} (for each prompt, every exactly-correct sample of the model as chosen against each distinct incorrect sample as rejected, as judged by the verifier; {:.1} % of samples were exactly correct; {} pairs have a correct chosen answer). The noisy runs flip 20 % of the pairs' labels (the same pairs for every method).\n",
                r.pairs,
                100.0 * r.sample_correct_rate,
                r.pairs_with_correct_chosen
            );
            let _ = writeln!(
                md,
                "Losses come from `preferent::losses` (`pairwise::dpo_loss` with loss type `Sigmoid` for DPO and `Robust` with ε = label_smoothing for rDPO; `simpo::simpo_loss`), on summed (DPO, rDPO) or length-averaged (SimPO) completion log-probs from `ByteLm::token_log_probs`; the reference model is the frozen pretrained LM. DPO/rDPO use β = 1 instead of TRL's default 0.1: with summed log-probs over completions of a few bytes, β = 0.1 let the policy drift far from the reference and lowered accuracy in trial runs. Accuracy is measured on held-out prompts.\n"
            );
            let _ = writeln!(md, "| method | hyperparameters | labels | greedy acc. (before → after) | sampled acc. (before → after) | implicit-reward pair acc. (clean labels) | final loss | time |");
            let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
            for run in &r.runs {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {:.1} % → {:.1} % | {:.1} % → {:.1} % | {:.1} % | {:.4} | {:.1} s |",
                    run.method,
                    run.hparams,
                    if run.noisy { "20 % flipped" } else { "clean" },
                    100.0 * r.base.greedy,
                    100.0 * run.acc.greedy,
                    100.0 * r.base.sampled,
                    100.0 * run.acc.sampled,
                    100.0 * run.pair_acc,
                    run.final_loss,
                    run.seconds
                );
            }
            let find =
                |m: &str, noisy: bool| r.runs.iter().find(|x| x.method == m && x.noisy == noisy);
            if let (Some(dn), Some(rn)) = (find("DPO", true), find("rDPO", true)) {
                let (d, rd) = (dn.acc.sampled, rn.acc.sampled);
                let verdict = if rd > d + 0.01 {
                    format!("rDPO beat DPO under 20 % label noise in this run (sampled accuracy {:.1} % vs {:.1} %).", 100.0 * rd, 100.0 * d)
                } else if rd + 0.01 < d {
                    format!("rDPO did **not** show an advantage under noise in this run: DPO reached {:.1} % sampled accuracy vs rDPO {:.1} %.", 100.0 * d, 100.0 * rd)
                } else {
                    format!("rDPO and DPO were within 1 point under 20 % label noise in this run ({:.1} % vs {:.1} % sampled accuracy): no clear rDPO advantage shown.", 100.0 * rd, 100.0 * d)
                };
                let _ = writeln!(
                    md,
                    "\n{verdict} Greedy accuracy: rDPO {:.1} %, DPO {:.1} %.\n",
                    100.0 * rn.acc.greedy,
                    100.0 * dn.acc.greedy
                );
            }
            line_plot(
                &inp.out.join("lm_pretrain_loss.png"),
                &[Series {
                    values: &smooth(&r.pretrain_losses, 10),
                    color: COLORS[0],
                }],
                true,
            )?;
            files.push("lm_pretrain_loss.png".to_string());
            for noisy in [false, true] {
                let runs: Vec<_> = r.runs.iter().filter(|x| x.noisy == noisy).collect();
                let sm: Vec<Vec<f64>> = runs.iter().map(|x| smooth(&x.losses, 5)).collect();
                let series: Vec<Series<'_>> = sm
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Series {
                        values: v,
                        color: COLORS[i],
                    })
                    .collect();
                let name = format!("pref_loss_{}.png", if noisy { "noisy" } else { "clean" });
                line_plot(&inp.out.join(&name), &series, false)?;
                files.push(name);
            }
            let legend: Vec<String> = r
                .runs
                .iter()
                .filter(|x| !x.noisy)
                .enumerate()
                .map(|(i, x)| format!("{} = {}", x.method, COLOR_NAMES[i]))
                .collect();
            let _ = writeln!(
                md,
                "Loss curves: `lm_pretrain_loss.png` (pretraining loss, log scale, 10-step moving average), `pref_loss_clean.png` and `pref_loss_noisy.png` (preference losses per step, 5-step moving average; {}). The losses are on different scales (rDPO's can be negative).\n",
                legend.join(", ")
            );
            files.extend(["lm_pretrain.csv".to_string()]);
            files.extend(r.runs.iter().map(|x| {
                format!(
                    "pref_{}_{}.csv",
                    x.method.to_lowercase(),
                    if x.noisy { "noisy" } else { "clean" }
                )
            }));
        }
    }

    let _ = writeln!(md, "{}\n", SECTIONS[1]);
    match inp.diff {
        None => {
            let _ = writeln!(md, "Not run (`--only language`).\n");
        }
        Some((r, secs)) => {
            let _ = writeln!(
                md,
                "Model: {}. {} parameters. Wall time {secs:.1} s (denoiser training {:.1} s).\n",
                r.setup, r.params, r.train_seconds
            );
            let _ = writeln!(
                md,
                "Quality metric: a small MLP digits classifier trained in the demo (held-out accuracy **{:.1} %** on 297 digits). Confidence = mean max-softmax probability on samples; FD = Fréchet distance between Gaussians fitted to its 64-d penultimate features of the samples and of all 1797 real digits (lower is better).\n",
                100.0 * r.clf_test_acc
            );
            let _ = writeln!(
                md,
                "Samplers come from `preferent::samplers` (`solvers::Ddim`, `solvers::DpmSolverMultistep`, driven by `solvers::sample`), all settings starting from the same x_T; outputs are clamped to [−1, 1] before scoring.\n"
            );
            let _ = writeln!(md, "| sampler | NFE | confidence | FD | predicted-class histogram (0–9) | sampling time | grid |");
            let _ = writeln!(md, "|---|---|---|---|---|---|---|");
            for row in &r.rows {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.3} | {:.2} | {:?} | {:.2} s | `{}` |",
                    row.name,
                    row.nfe,
                    row.confidence,
                    row.fd,
                    row.class_counts,
                    row.seconds,
                    row.grid
                );
            }
            let _ = writeln!(md, "\nReference points for the same metrics:\n");
            let _ = writeln!(md, "| images | confidence | FD |");
            let _ = writeln!(md, "|---|---|---|");
            for (name, c, fd) in &r.reference_rows {
                let _ = writeln!(md, "| {name} | {c:.3} | {fd:.2} |");
            }
            line_plot(
                &inp.out.join("denoiser_loss.png"),
                &[Series {
                    values: &smooth(&r.losses, 50),
                    color: COLORS[0],
                }],
                true,
            )?;
            line_plot(
                &inp.out.join("classifier_loss.png"),
                &[Series {
                    values: &smooth(&r.clf_losses, 10),
                    color: COLORS[1],
                }],
                true,
            )?;
            let _ = writeln!(md, "\nLoss curves: `denoiser_loss.png` (ε-MSE, log scale, 50-step moving average), `classifier_loss.png` (cross-entropy, log scale). Real digits for comparison: `digits_real.png`.\n");
            files.extend(
                [
                    "denoiser_loss.png",
                    "classifier_loss.png",
                    "digits_real.png",
                    "denoiser.csv",
                ]
                .map(String::from),
            );
            files.extend(r.rows.iter().map(|x| x.grid.clone()));
        }
    }

    let _ = writeln!(md, "{}\n", SECTIONS[2]);
    let _ = writeln!(md, "All under `{}`:\n", inp.out.display());
    for f in &files {
        let _ = writeln!(md, "- `{f}`");
    }
    files.insert(0, "report.md".to_string());
    let path = inp.out.join("report.md");
    std::fs::write(&path, md).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_check_accepts_complete_reports_and_rejects_others() {
        let ok = "# r\n\n## Language side\n\nx\n## Diffusion side\n\ny\n## Files\n\n- a\n";
        assert!(check_sections(ok).is_ok());
        assert!(check_sections("## Language side\n## Files\n").is_err());
        assert!(check_sections("## Diffusion side\n## Language side\n## Files\n").is_err());
    }

    #[test]
    fn a_report_without_runs_has_all_sections() {
        let dir = std::env::temp_dir().join(format!("xtask-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write(&ReportInput {
            out: &dir,
            mode: "quick",
            seed: 1,
            lang: None,
            diff: None,
            total_seconds: 0.0,
        })
        .unwrap();
        let text = std::fs::read_to_string(dir.join("report.md")).unwrap();
        check_sections(&text).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
