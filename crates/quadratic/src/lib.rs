//! Block-diagonal quadratics L(w) = 1/2 w^T H w with H = diag(H_1, ..., H_L)
//! (the paper's Section 3), the optimizers it compares on them, the
//! experiment that runs them, and the claims of its Propositions 1-2,
//! Theorems 1-2 and Table 2 as records.
//!
//! * [`problem`]: blocks H_l = Q_l diag(lambda_l) Q_l^T and the quadratic.
//! * [`cases`]: the eigenvalues of the paper's Cases 1-4.
//! * [`optimizer`]: GD, blockwise GD, Adam and momentum by name, the steps the
//!   theory gives them, and their update rules one step at a time.
//! * [`theory`]: the constants, rates and bounds of the theory.
//! * [`experiment`]: a configured experiment and its `problem`, `tune` and `iterate` records.
//! * [`claims`]: every claim as `check` and `distribution` records.
//! * [`stats`]: summaries of Monte-Carlo samples.
//!
//! Reading of the paper's construction (documented here because the text is
//! terse): H_l = Q_l Lambda_l Q_l^T with Q_l a Haar-random orthogonal matrix,
//! obtained as the Q factor of a d_l x d_l standard Gaussian matrix (Gram-
//! Schmidt, twice, so R has a positive diagonal and Q is exactly Haar), or
//! Q_l = I ([`Rotation::AxisAligned`]) to ask what the rotation does. The
//! linear term h is 0, so w* = 0, L* = 0 and the loss gap 1/2 w^T H w is
//! computed without cancellation down to the smallest normal numbers.
//!
//! Everything random comes from [`rng::SplitMix`] seeds, so a seed fixes
//! every number; matrix-vector products are plain loops in a fixed order (no
//! BLAS), so the trajectories are bit-for-bit reproducible.

// `!(x > 0.0)` is deliberate throughout: it is also true for NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod cases;
pub mod claims;
mod error;
pub mod experiment;
pub mod optimizer;
pub mod problem;
pub mod stats;
pub mod theory;

pub use error::{Error, Result};
pub use experiment::{Experiment, ExperimentConfig, TuneBy};
pub use optimizer::{Method, OptSpec, Optimizer, OptimizerRequest, RunOptions, Step, Stop, Summary};
pub use problem::{haar_orthogonal, Block, Quadratic, Rotation};
