//! The optimizers, as libtorch's own (`torch::optim`, through tch's
//! `COptimizer`) over a list of tensors, with PyTorch's defaults and its
//! update rules (see the PyTorch documentation of `SGD`, `Adam`, `AdamW`):
//!
//! * `sgd`: b <- mu b + g (b = g at the first step; no dampening, no
//!   Nesterov), p <- p - lr b; weight decay, if any, adds wd p to g first;
//! * `adam`: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
//!   p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps); weight
//!   decay adds wd p to g (L2, coupled);
//! * `adamw`: the same, after p <- p (1 - lr wd) (decoupled weight decay).
//!
//! These are not the `quadratic` crate's `adam`, the paper's rule on a
//! quadratic (moments from the first gradient, no bias correction, epsilon 0).

use tch::{COptimizer, Tensor};

use crate::error::{Error, Result};

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    Sgd,
    Adam,
    AdamW,
}

impl OptimizerKind {
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
        }
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam),
            "adamw" => Ok(OptimizerKind::AdamW),
            _ => Err(format!("unknown optimizer `{s}` (expected sgd, adam or adamw)")),
        }
    }
}

/// An optimizer with its hyper-parameters (the learning rate is set per step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerSpec {
    pub kind: OptimizerKind,
    /// SGD's momentum mu.
    pub momentum: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl OptimizerSpec {
    /// PyTorch's defaults (Adam and AdamW: betas 0.9, 0.999, eps 1e-8;
    /// weight decay 0, AdamW's 0.01), with SGD's momentum at 0.9 (PyTorch's
    /// default is 0; 0.9 is what the paper and most recipes use).
    pub fn defaults(kind: OptimizerKind) -> Self {
        let weight_decay = if kind == OptimizerKind::AdamW { 0.01 } else { 0.0 };
        OptimizerSpec { kind, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay }
    }

    /// Tensors the size of the parameters the optimizer keeps beside them:
    /// Adam's two moments, SGD's momentum buffer (none without momentum).
    pub fn state_tensors(&self) -> usize {
        match self.kind {
            OptimizerKind::Adam | OptimizerKind::AdamW => 2,
            OptimizerKind::Sgd if self.momentum != 0.0 => 1,
            OptimizerKind::Sgd => 0,
        }
    }

    /// Libtorch's optimizer over `params` at rate `lr`, parameter i in
    /// parameter group `group[i]` (groups numbered from 0, none empty).
    pub fn build(&self, lr: f64, params: &[Tensor], group: &[usize]) -> Result<COptimizer> {
        let o = match self.kind {
            OptimizerKind::Sgd => COptimizer::sgd(lr, self.momentum, 0.0, self.weight_decay, false),
            OptimizerKind::Adam => COptimizer::adam(lr, self.beta1, self.beta2, self.weight_decay, self.eps, false),
            OptimizerKind::AdamW => COptimizer::adamw(lr, self.beta1, self.beta2, self.weight_decay, self.eps, false),
        };
        let mut o =
            o.map_err(|e| Error::invalid(format!("libtorch refused the {} optimizer: {e}", self.kind.name())))?;
        for (p, g) in params.iter().zip(group) {
            o.add_parameters(p, *g).map_err(|e| Error::invalid(format!("libtorch optimizer: {e}")))?;
        }
        Ok(o)
    }
}
