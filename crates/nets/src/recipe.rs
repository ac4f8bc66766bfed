//! How a model is made, resolved once from a typed [`ModelSpec`]: a zoo row
//! with its options checked against what the row accepts, or a TorchScript
//! module loaded and checked. Before any data is read, a [`Recipe`] says
//! what the model reads ([`Contract`]); once the data's shape is known it
//! builds [`Model`]s, as many as asked for (one per learning rate), every
//! one from the same weights.

use std::path::PathBuf;

use tch::{Device, Kind, Tensor};

use crate::data::{Batch, DataKind, Input, Shape};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::models::{try_build, Arch, Loss, TorchScript};
use crate::zoo::{zoo_entry, ModelOptions, ZooEntry};

/// Which model, before anything is loaded.
#[derive(Debug, Clone)]
pub enum ModelSpec {
    /// A zoo row, shaped by `options`, its weights drawn from `init_seed`.
    Zoo { name: String, options: ModelOptions, init_seed: u64 },
    /// A user's TorchScript module; `train`: in train mode (BatchNorm's
    /// batch statistics).
    TorchScript { path: PathBuf, loss: Loss, train: bool },
}

/// What a model reads, known before its data is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// The input it reads (None: a module states none; the user says).
    pub input: Option<Input>,
    /// Its context, the default and longest sequence length.
    pub context: Option<i64>,
    /// Its data set when none is named.
    pub default_data: Option<DataKind>,
    /// Its Hessian batch when none is asked for.
    pub default_batch: Option<i64>,
    /// Whether its shape depends on the data (a zoo model's classes or
    /// vocabulary): then the data is read before it is built.
    pub shaped_by_data: bool,
}

/// A resolved [`ModelSpec`]: what it reads, and how to build it.
pub struct Recipe {
    how: How,
    kind: Kind,
    device: Device,
}

enum How {
    Zoo {
        entry: &'static ZooEntry,
        options: ModelOptions,
        init_seed: u64,
        arch: Option<Arch>,
    },
    TorchScript {
        path: PathBuf,
        loss: Loss,
        train: bool,
        /// The module loaded at resolution, handed out by the first build.
        loaded: Option<TorchScript>,
        /// A user's batch of several inputs, which each fresh module holds.
        inputs: Option<Vec<(String, Tensor)>>,
        what: String,
    },
}

impl Recipe {
    /// Resolve `spec` in `kind` (None: f32 for the zoo, a module's own) on
    /// `device`: a zoo model's options are checked, a module is loaded.
    pub fn resolve(spec: &ModelSpec, kind: Option<Kind>, device: Device) -> Result<Recipe> {
        match spec {
            ModelSpec::Zoo { name, options, init_seed } => {
                let entry = zoo_entry(name)?;
                entry.check(options)?;
                let how = How::Zoo { entry, options: options.clone(), init_seed: *init_seed, arch: None };
                Ok(Recipe { how, kind: kind.unwrap_or(Kind::Float), device })
            }
            ModelSpec::TorchScript { path, loss, train } => {
                let module = TorchScript::load(path, device, kind, *loss, *train)?;
                let how = How::TorchScript {
                    path: path.clone(),
                    loss: *loss,
                    train: *train,
                    inputs: None,
                    what: String::new(),
                    loaded: None,
                };
                let mut recipe = Recipe { how, kind: module.kind(), device };
                if let How::TorchScript { loaded, .. } = &mut recipe.how {
                    *loaded = Some(module);
                }
                Ok(recipe)
            }
        }
    }

    /// The model's name: the zoo's, or the module file's stem.
    pub fn name(&self) -> String {
        match &self.how {
            How::Zoo { entry, .. } => entry.name.to_string(),
            How::TorchScript { path, .. } => {
                path.file_stem().map_or_else(|| "torchscript".into(), |s| s.to_string_lossy().into_owned())
            }
        }
    }

    /// The dtype of the model's parameters.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// What the model reads.
    pub fn contract(&self) -> Contract {
        match &self.how {
            How::Zoo { entry, .. } => Contract {
                input: Some(entry.input),
                context: entry.context,
                default_data: Some(entry.default_data),
                default_batch: Some(entry.default_batch),
                shaped_by_data: true,
            },
            How::TorchScript { .. } => {
                Contract { input: None, context: None, default_data: None, default_batch: None, shaped_by_data: false }
            }
        }
    }

    /// Whether its batches are a user's named tensors (`input`, `input.N`,
    /// `target`) rather than a data set's.
    pub fn takes_named_batches(&self) -> bool {
        matches!(self.how, How::TorchScript { .. })
    }

    /// A user's batch of named tensors as a [`Batch`] for this model (on its
    /// device); `what` names the batch in messages. Every model built later
    /// reads it.
    pub fn attach(&mut self, named: Vec<(String, Tensor)>, what: &str) -> Result<Batch> {
        match &mut self.how {
            How::TorchScript { loaded: Some(module), inputs, what: w, .. } => {
                let copy = named.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
                let batch = module.batch_from(copy, what)?;
                *inputs = Some(named);
                *w = what.to_string();
                Ok(batch)
            }
            _ => Err(Error::mismatch("only a TorchScript module reads a batch of named tensors")),
        }
    }

    /// Shape the model for data of `shape` (a zoo model's input features,
    /// classes or vocabulary).
    pub fn fit(&mut self, shape: Shape) -> Result<()> {
        if let How::Zoo { entry, options, arch, .. } = &mut self.how {
            let (input, classes) = match shape {
                Shape::Classes { features, classes } => (features, classes),
                Shape::Tokens { vocab } => (0, vocab),
            };
            *arch = Some(entry.arch(options, input, classes)?);
        }
        Ok(())
    }

    /// Parameters of the model, where known before it is built.
    pub fn param_count(&self) -> Option<i64> {
        match &self.how {
            How::Zoo { arch, .. } => arch.as_ref().map(Arch::param_count),
            How::TorchScript { .. } => None,
        }
    }

    /// A model with its first weights: the same every call.
    pub fn build(&mut self) -> Result<Box<dyn Model>> {
        let (kind, device) = (self.kind, self.device);
        match &mut self.how {
            How::Zoo { arch: Some(arch), init_seed, .. } => Ok(Box::new(try_build(arch, kind, device, *init_seed)?)),
            How::Zoo { entry, .. } => Err(Error::mismatch(format!("{} is built for its data (fit first)", entry.name))),
            How::TorchScript { path, loss, train, loaded, inputs, what } => {
                if let Some(module) = loaded.take() {
                    return Ok(Box::new(module));
                }
                let mut module = TorchScript::load(path, device, Some(kind), *loss, *train)?;
                if let Some(named) = inputs {
                    let copy = named.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
                    module.batch_from(copy, what)?;
                }
                Ok(Box::new(module))
            }
        }
    }
}
