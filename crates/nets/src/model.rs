//! A network we can differentiate together with what it owns: its
//! parameters under their names, its loss (through [`Net`]), the check of
//! the data it reads, and its checkpoints. The zoo's models and a user's
//! TorchScript module are both [`Model`]s, so that the tools that take a
//! Hessian or train never ask which one they hold.

use std::path::Path;

use tch::{Kind, Tensor};

use crate::checkpoint;
use crate::data::Batch;
use crate::error::Result;
use crate::models::{Built, TorchScript};
use crate::net::Net;
use crate::params;

/// A network with its own parameters and checkpoints.
pub trait Model: Net {
    /// The parameters that are trained and blocked, under their names, in
    /// block order.
    fn named_parameters(&self) -> Vec<(String, Tensor)>;
    /// Every tensor a checkpoint holds, under its name.
    fn checkpoint_tensors(&self) -> Vec<(String, Tensor)>;
    /// The dtype of its parameters.
    fn kind(&self) -> Kind;
    /// Write its weights to a safetensors file.
    fn save(&self, path: &Path) -> Result<()> {
        checkpoint::save_named(&self.checkpoint_tensors(), path)
    }
    /// Replace its weights by a checkpoint's (see [`checkpoint::load_named`]).
    fn load(&self, path: &Path) -> Result<()> {
        checkpoint::load_named(&self.checkpoint_tensors(), path)
    }
    /// Whether it reads `first`, the first batch of its data, and the
    /// data's labels up to `classes` - 1 (where the data has classes):
    /// checked once, before any work.
    fn check_data(&self, first: &Batch, _classes: Option<i64>) -> Result<()> {
        self.check(first)
    }
}

impl Net for Built {
    fn loss(&self, batch: &Batch) -> Tensor {
        self.net.loss(batch)
    }
    fn try_loss(&self, batch: &Batch) -> Result<Tensor> {
        self.net.try_loss(batch)
    }
    fn check(&self, batch: &Batch) -> Result<()> {
        self.net.check(batch)
    }
    fn output(&self, batch: &Batch) -> Option<Tensor> {
        self.net.output(batch)
    }
}

impl Model for Built {
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        params::named_parameters(&self.vs)
    }
    /// Buffers too (BatchNorm's running statistics).
    fn checkpoint_tensors(&self) -> Vec<(String, Tensor)> {
        params::named_variables(&self.vs)
    }
    fn kind(&self) -> Kind {
        self.kind
    }
}

impl Model for TorchScript {
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        TorchScript::named_parameters(self)
    }
    fn checkpoint_tensors(&self) -> Vec<(String, Tensor)> {
        TorchScript::checkpoint_tensors(self)
    }
    fn kind(&self) -> Kind {
        TorchScript::kind(self)
    }
    /// A module states no classes: its output is checked against the data's
    /// (later batches may hold labels the first does not).
    fn check_data(&self, first: &Batch, classes: Option<i64>) -> Result<()> {
        self.check(first)?;
        match classes {
            Some(classes) => self.check_classes(first, classes),
            None => Ok(()),
        }
    }
}
