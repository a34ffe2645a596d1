//! The one loss interface: every preference loss is a validated loss object built by its
//! config's `init()`, taking a typed batch and returning [`LossOutput`] with detached metrics.
//!
//! ```text
//! let loss = SomeConfig::new().with_…(…).init()?;      // validates once (LossConfig)
//! let out  = loss.forward(batch)?;                     // PreferenceLoss: typed errors
//! out.loss.backward();                                 // differentiable [1]
//! out.metrics.read() / out.metrics.to_log()            // detached; one device read, on demand
//! out.non_finite                                       // detached [1] NaN/±∞ indicator
//! ```

use burn::tensor::{backend::Backend, Tensor};

use crate::error::LossError;
use crate::output::LossOutput;

/// A configuration that validates itself once and builds its loss object.
pub trait LossConfig {
    /// The validated loss.
    type Loss;

    /// Validates every hyperparameter and returns the loss.
    ///
    /// # Errors
    /// [`LossError::InvalidParameter`] (naming the field and value) or another typed error for
    /// an inconsistent configuration.
    fn init(&self) -> Result<Self::Loss, LossError>;
}

/// A preference loss: a typed batch in, the loss with detached metrics out.
///
/// Designed for the hardest members: the DPO family (optional reference, lengths, WPO weights,
/// several summed loss types), KTO (an unpaired batch with a KL baseline), Plackett–Luce (ranked
/// lists) and BRAIn (several samples per prompt) — so the batch is an associated type, not a
/// fixed set of tensors.
pub trait PreferenceLoss<B: Backend> {
    /// What one step's loss takes.
    type Batch;
    /// The detached metrics.
    type Metrics: LossMetrics;

    /// Evaluates the loss on one batch.
    ///
    /// # Errors
    /// [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`], [`LossError::MissingInput`] for
    /// malformed batches; [`LossError::NonFinite`] only when the config asks for the (syncing)
    /// host check — the detached [`LossOutput::non_finite`] is always computed.
    fn forward(&self, batch: Self::Batch) -> Result<LossOutput<B, Self::Metrics>, LossError>;
}

/// Detached metrics that can be logged.
pub trait LossMetrics {
    /// Every metric under its TRL log name (e.g. `rewards/chosen`), read with one device
    /// transfer.
    fn to_log(&self) -> Vec<(&'static str, f64)>;
}

/// Reads `[1]` tensors back with one device transfer (concatenated first); used by the
/// metrics structs' `read()`.
pub fn read_scalars<B: Backend>(ts: &[&Tensor<B, 1>]) -> Vec<f64> {
    if ts.is_empty() {
        return Vec::new();
    }
    let all = Tensor::cat(ts.iter().map(|t| (*t).clone()).collect(), 0);
    all.into_data().iter::<f64>().collect()
}

/// Declares a metrics struct of detached `[1]` tensors, its host copy (`f64` fields) with a
/// one-transfer `read()`, and its [`LossMetrics`] impl with the log names — the metrics
/// bookkeeping every loss shares (also used by preferent-diffusion and preferent-rl).
///
/// ```text
/// scalar_metrics! {
///     /// docs
///     pub struct FooMetrics => FooMetricsHost {
///         /// docs
///         accuracy: "rewards/accuracies",
///     }
/// }
/// ```
#[macro_export]
macro_rules! scalar_metrics {
    (
        $(#[$meta:meta])*
        pub struct $name:ident => $host:ident {
            $( $(#[$fmeta:meta])* $field:ident : $log:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name<B: burn::tensor::backend::Backend> {
            $( $(#[$fmeta])* pub $field: burn::tensor::Tensor<B, 1>, )*
        }

        #[doc = concat!("Host copy of [`", stringify!($name), "`] (see its fields).")]
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $host {
            $( $(#[$fmeta])* pub $field: f64, )*
        }

        impl<B: burn::tensor::backend::Backend> $name<B> {
            /// Reads every metric back to the host with one device transfer.
            pub fn read(&self) -> $host {
                let v = $crate::base::read_scalars(&[$(&self.$field),*]);
                let mut it = v.into_iter();
                $host { $( $field: it.next().unwrap_or(f64::NAN), )* }
            }
        }

        impl<B: burn::tensor::backend::Backend> $crate::base::LossMetrics for $name<B> {
            fn to_log(&self) -> Vec<(&'static str, f64)> {
                let h = self.read();
                vec![$( ($log, h.$field) ),*]
            }
        }
    };
}

/// Mean of `[B]` as a detached `[1]`.
pub(crate) fn dmean<B: Backend>(t: &Tensor<B, 1>) -> Tensor<B, 1> {
    t.clone().detach().mean()
}

/// Fraction of rows with `a > b` (strict; ties count 0), detached `[1]`.
pub(crate) fn frac_greater<B: Backend>(a: &Tensor<B, 1>, b: &Tensor<B, 1>) -> Tensor<B, 1> {
    a.clone()
        .detach()
        .greater(b.clone().detach())
        .float()
        .mean()
}

/// Declares the validated loss object of a config (`$config::init` validates once and returns
/// it; [`LossConfig`] is implemented) — the bookkeeping every loss beyond the pairwise family
/// shares. The config needs `validate(&self) -> Result<(), LossError>` and `Clone`.
#[macro_export]
macro_rules! validated_loss {
    ($(#[$meta:meta])* $config:ident => $loss:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $loss {
            config: $config,
        }

        impl $loss {
            /// The validated configuration.
            pub fn config(&self) -> &$config {
                &self.config
            }
        }

        impl $config {
            /// Validates the configuration once and returns the loss.
            ///
            /// # Errors
            #[doc = concat!("As [`", stringify!($config), "::validate`].")]
            pub fn init(&self) -> Result<$loss, $crate::error::LossError> {
                self.validate()?;
                Ok($loss {
                    config: self.clone(),
                })
            }
        }

        impl $crate::base::LossConfig for $config {
            type Loss = $loss;

            fn init(&self) -> Result<$loss, $crate::error::LossError> {
                $config::init(self)
            }
        }
    };
}
