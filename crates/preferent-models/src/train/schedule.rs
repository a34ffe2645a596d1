//! Linear warmup followed by cosine decay, composed from burn's LR schedulers.

use burn::config::Config;
use burn::optim::lr_scheduler::composed::{
    ComposedLrScheduler, ComposedLrSchedulerConfig, SchedulerReduction,
};
use burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::lr_scheduler::linear::LinearLrSchedulerConfig;

use crate::error::invalid;

/// Warmup-then-cosine learning-rate schedule.
///
/// ```text
/// warm(s) = a + (1 − a)·min(s, w)/w,            a = 1/(w + 1)   (1 when w = 0)
/// lr(s)   = warm(s) · [m·peak + (peak − m·peak)·½(1 + cos(π·s/total))]
/// ```
/// for step index `s = 0 … total` (burn's cosine restarts after `total`), with
/// `w = warmup_steps`, `m = min_lr_ratio`. Built as burn's `ComposedLrScheduler` (product reduction) of a
/// `LinearLrScheduler` (warmup factor) and a `CosineAnnealingLrScheduler` (decay), so its state
/// round-trips through burn's scheduler records.
///
/// Defaults: 10 % warmup is the common GPT/TRL choice (TRL `warmup_ratio` examples use 0.1);
/// `min_lr_ratio = 0.1` as in nanoGPT (`min_lr = learning_rate / 10`).
#[derive(Config, Debug)]
pub struct WarmupCosineConfig {
    /// Peak learning rate (in (0, 1]).
    pub peak_lr: f64,
    /// Total optimisation steps.
    pub total_steps: usize,
    /// Warmup steps (0 disables warmup).
    #[config(default = 0)]
    pub warmup_steps: usize,
    /// Final LR as a fraction of `peak_lr`.
    #[config(default = 0.1)]
    pub min_lr_ratio: f64,
}

impl WarmupCosineConfig {
    /// Builds the burn scheduler.
    pub fn init(&self) -> crate::Result<ComposedLrScheduler> {
        if !(self.peak_lr > 0.0 && self.peak_lr <= 1.0) {
            return Err(invalid("peak_lr", self.peak_lr, "must be in (0, 1]"));
        }
        if self.total_steps == 0 {
            return Err(invalid("total_steps", self.total_steps, "must be positive"));
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return Err(invalid(
                "min_lr_ratio",
                self.min_lr_ratio,
                "must be in [0, 1]",
            ));
        }
        let mut cfg = ComposedLrSchedulerConfig::new().with_reduction(SchedulerReduction::Prod);
        if self.warmup_steps > 0 {
            cfg = cfg.linear(LinearLrSchedulerConfig::new(
                1.0 / (self.warmup_steps as f64 + 1.0),
                1.0,
                self.warmup_steps,
            ));
        }
        cfg = cfg.cosine(
            CosineAnnealingLrSchedulerConfig::new(self.peak_lr, self.total_steps)
                .with_min_lr(self.peak_lr * self.min_lr_ratio),
        );
        cfg.init()
            .map_err(|e| crate::Error::Checkpoint(format!("scheduler: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::optim::lr_scheduler::LrScheduler;

    #[test]
    fn warmup_then_cosine_values() {
        // python3: peak=1e-2, w=4, T=10, m=0.1
        // import math
        // lin=[1/5+(1-1/5)*min(s,4)/4 for s in range(12)]
        // cos=[1e-3+0.5*(1e-2-1e-3)*(1+math.cos(math.pi*(s%11)/10)) for s in range(12)]
        // print([a*b for a,b in zip(lin,cos)])
        let expected = [
            0.0020000000000000005,
            0.003911901729331277,
            0.00548434588481236,
            0.006516026908252904,
            0.006890576474687264,
            0.0055000000000000005,
            0.004109423525312737,
            0.0028549663646838717,
            0.0018594235253127371,
            0.001220245676671809,
            0.001,
            0.010000000000000002,
        ];
        let mut s = WarmupCosineConfig::new(1e-2, 10)
            .with_warmup_steps(4)
            .init()
            .unwrap();
        let got: Vec<f64> = (0..12).map(|_| s.step()).collect();
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-9, "{got:?}");
        }
        assert!(WarmupCosineConfig::new(0.0, 10).init().is_err());
    }
}
