//! Block-diagonal quadratics L(w) = 1/2 w^T H w with H = diag(H_1, ..., H_L)
//! (the paper's Section 3), the optimizers it compares on them, and the
//! constants and bounds of its Propositions 1-2 and Theorems 1-2.
//!
//! Reading of the paper's construction (documented here because the text is
//! terse): H_l = Q_l Lambda_l Q_l^T with Q_l a Haar-random orthogonal matrix,
//! obtained as the Q factor of a d_l x d_l standard Gaussian matrix (Gram-
//! Schmidt, twice, so R has a positive diagonal and Q is exactly Haar). The
//! linear term h is 0, so w* = 0, L* = 0 and the loss gap 1/2 w^T H w is
//! computed without cancellation down to the smallest normal numbers.
//!
//! Everything random comes from [`rng::SplitMix`] seeds, so a seed fixes
//! every number; matrix-vector products are plain loops in a fixed order (no
//! BLAS), so the trajectories are bit-for-bit reproducible.

// `!(x > 0.0)` is deliberate throughout: it is also true for NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod cases;
pub mod optim;
pub mod problem;
pub mod stats;
pub mod theory;

pub use optim::{Method, OptSpec, RunOptions, Step, Stop, Summary};
pub use problem::{haar_orthogonal, Block, Quadratic};
