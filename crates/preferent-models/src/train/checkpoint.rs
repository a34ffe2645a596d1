//! Checkpoints: model weights as safetensors (burn-store), optimiser and scheduler state through
//! burn's named-MessagePack recorder, step and seed as JSON.

use std::path::Path;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::{Optimizer, SimpleOptimizer};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor};
use burn_store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};

use super::trainer::Trainer;
use crate::error::{Error, Result};

/// File name of the model weights inside a checkpoint directory.
pub const CHECKPOINT_MODEL: &str = "model.safetensors";
/// File name (without burn's `.mpk` extension) of the optimiser + scheduler state.
pub const CHECKPOINT_OPTIM: &str = "optim";
/// File name of the JSON metadata.
pub const CHECKPOINT_META: &str = "meta.json";

/// Step counter and seed stored next to the weights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Optimiser steps taken.
    pub step: usize,
    /// The trainer's data seed.
    pub seed: u64,
}

/// Parameter ids in module-visit order (stable for a given architecture).
struct ParamIds(Vec<ParamId>);

impl<B: Backend> ModuleVisitor<B> for ParamIds {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.id);
    }
}

fn param_ids<B: Backend, M: Module<B>>(module: &M) -> Vec<ParamId> {
    let mut v = ParamIds(Vec::new());
    module.visit(&mut v);
    v.0
}

/// Per float parameter, in visit order: its shape and a device-side "holds NaN or ±∞" flag.
struct NonFiniteParams<B: Backend> {
    flags: Vec<Tensor<B, 1, Int>>,
    shapes: Vec<Vec<usize>>,
}

impl<B: Backend> ModuleVisitor<B> for NonFiniteParams<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let v = param.val();
        self.shapes.push(v.dims().to_vec());
        // x − x is NaN exactly when x is NaN or ±∞.
        self.flags.push((v.clone() - v).is_nan().any().int());
    }
}

/// The first float parameter (visit-order index, shape) holding a NaN or ±∞; one host read.
fn first_non_finite_param<B: Backend, M: Module<B>>(module: &M) -> Option<(usize, Vec<usize>)> {
    let mut v = NonFiniteParams {
        flags: Vec::new(),
        shapes: Vec::new(),
    };
    module.visit(&mut v);
    if v.flags.is_empty() {
        return None;
    }
    let flags: Vec<i64> = Tensor::cat(v.flags, 0)
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .ok()?;
    let index = flags.iter().position(|&f| f != 0)?;
    Some((index, v.shapes.swap_remove(index)))
}

fn ckpt_err(what: &str, e: impl std::fmt::Debug) -> Error {
    Error::Checkpoint(format!("{what}: {e:?}"))
}

impl<B, M, O, S> Trainer<B, M, O, S>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + ModuleSnapshot<B>,
    O: SimpleOptimizer<B::InnerBackend>,
    S: LrScheduler,
{
    /// Writes `dir/model.safetensors`, `dir/optim.mpk` and `dir/meta.json`.
    ///
    /// Optimiser state is keyed by parameter *position* (module-visit order) rather than by burn's
    /// random `ParamId`s, so it can be re-attached to a freshly built model in [`Trainer::load`].
    ///
    /// # Errors
    /// [`Error::NonFiniteParameter`] (before anything is written, so an earlier checkpoint in
    /// `dir` survives) if a weight is NaN or ±∞; [`Error::Io`] / [`Error::Checkpoint`] naming the
    /// file on a write failure.
    pub fn save(&self, dir: &Path) -> Result<()> {
        if let Some((index, shape)) = first_non_finite_param(&self.model.valid()) {
            return Err(Error::NonFiniteParameter {
                path: dir.join(CHECKPOINT_MODEL).display().to_string(),
                index,
                shape,
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let mut store = SafetensorsStore::from_file(dir.join(CHECKPOINT_MODEL)).overwrite(true);
        self.model
            .save_into(&mut store)
            .map_err(|e| ckpt_err("saving model", e))?;
        let mut records = self.optim.to_record();
        let by_position: Vec<Option<_>> = param_ids(&self.model)
            .into_iter()
            .map(|id| records.remove(&id))
            .collect();
        let state = (by_position, self.scheduler.to_record::<B>());
        NamedMpkFileRecorder::<FullPrecisionSettings>::new()
            .record(state, dir.join(CHECKPOINT_OPTIM))
            .map_err(|e| ckpt_err("saving optimiser state", e))?;
        let meta = CheckpointMeta {
            step: self.step,
            seed: self.seed,
        };
        let path = dir.join(CHECKPOINT_META);
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&meta).expect("plain struct"),
        )
        .map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })
    }

    /// Restores a checkpoint written by [`Trainer::save`] into freshly built parts: `model` with
    /// the same architecture, a new `optim` from the same optimiser config and a new `scheduler`
    /// from the same schedule config. The non-finite check is off; turn it back on with
    /// [`Trainer::with_nonfinite_check`].
    ///
    /// # Errors
    /// [`Error::Io`] naming the path when `dir` or one of its three files is missing or
    /// unreadable; [`Error::Checkpoint`] (naming the file) when a file does not decode or does
    /// not match the model; [`Error::NonFiniteParameter`] when a stored weight is NaN or ±∞;
    /// [`Error::Parse`] for bad metadata.
    pub fn load(
        dir: &Path,
        mut model: M,
        optim: OptimizerAdaptor<O, M, B>,
        scheduler: S,
        device: &B::Device,
    ) -> Result<Self> {
        for path in [
            dir.to_path_buf(),
            dir.join(CHECKPOINT_MODEL),
            dir.join(format!("{CHECKPOINT_OPTIM}.mpk")),
            dir.join(CHECKPOINT_META),
        ] {
            // Name the missing path (burn's stores report a bare `NotFound`).
            if let Err(e) = std::fs::metadata(&path) {
                return Err(Error::Io {
                    path: path.display().to_string(),
                    source: e,
                });
            }
        }
        let model_path = dir.join(CHECKPOINT_MODEL);
        let mut store = SafetensorsStore::from_file(model_path.clone());
        let applied = model
            .load_from(&mut store)
            .map_err(|e| ckpt_err(&format!("loading model from {}", model_path.display()), e))?;
        if !applied.missing.is_empty() || !applied.errors.is_empty() {
            return Err(Error::Checkpoint(format!(
                "model does not match the checkpoint: missing {:?}, errors {:?}",
                applied.missing, applied.errors
            )));
        }
        if let Some((index, shape)) = first_non_finite_param(&model.valid()) {
            return Err(Error::NonFiniteParameter {
                path: model_path.display().to_string(),
                index,
                shape,
            });
        }
        type State<O, B, S> = (
            Vec<Option<burn::optim::record::AdaptorRecord<O, B>>>,
            <S as LrScheduler>::Record<B>,
        );
        let (by_position, sched): State<O, B, S> =
            NamedMpkFileRecorder::<FullPrecisionSettings>::new()
                .load(dir.join(CHECKPOINT_OPTIM), device)
                .map_err(|e| {
                    let path = dir.join(format!("{CHECKPOINT_OPTIM}.mpk"));
                    ckpt_err(
                        &format!("loading optimiser state from {}", path.display()),
                        e,
                    )
                })?;
        let ids = param_ids(&model);
        if ids.len() != by_position.len() {
            return Err(Error::Checkpoint(format!(
                "optimiser state has {} parameters, the model {}",
                by_position.len(),
                ids.len()
            )));
        }
        let records = ids
            .into_iter()
            .zip(by_position)
            .filter_map(|(id, r)| r.map(|r| (id, r)))
            .collect();
        let path = dir.join(CHECKPOINT_META);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let meta: CheckpointMeta = serde_json::from_str(&text).map_err(|e| Error::Parse {
            what: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Trainer {
            model,
            optim: optim.load_record(records),
            scheduler: scheduler.load_record::<B>(sched),
            step: meta.step,
            seed: meta.seed,
            guard: None,
        })
    }
}
