//! Candidate predictors of how far SGD falls behind Adam on a network,
//! computed at initialization, and the rank statistics that score them
//! against measured gaps.
//!
//! * [`spectral`]: from each block's Ritz values (`density` records): the
//!   spread of curvature scales across blocks, and the price one learning
//!   rate pays on a block-diagonal quadratic with these blocks.
//! * [`gradient`]: the spread of the blocks' gradient norms (`gradient` records).
//! * [`classes`]: the heaviness of the class-frequency tail (`classes` records).
//! * [`rank`]: Spearman's rho and Kendall's tau-b, with ties.
//! * [`gap`]: SGD's deficit against AdamW over seeds, with a t interval.
//! * [`rates`]: per-block learning-rate factors (curvature or gradient rule),
//!   their drift during training, and the share of the deficit they close.
//! * [`score`]: a predictor against the gaps: bootstrap over configurations,
//!   and leave-one-family-out ordering.
//!
//! Every statistic is a plain function of numbers; the resampling that gives
//! it an interval is the caller's choice of input (probes, batch parts,
//! examples, configurations), done with [`rng::SplitMix`] so a seed means
//! the same interval forever.

// `!(x > 0.0)` is deliberate: it is also true for NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod classes;
pub mod gap;
pub mod gradient;
pub mod rank;
pub mod rates;
pub mod score;
pub mod spectral;

mod error;
pub use error::{Error, Result};
