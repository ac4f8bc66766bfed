//! quad-sim's flags.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use quadratic::Rotation;

pub const TOOL: &str = "quad-sim";

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    allow_negative_numbers = true,
    about = "Run GD, blockwise GD and Adam on the paper's block-diagonal quadratics (Section 3)",
    long_about = "Builds L(w) = 1/2 w^T H w with H = diag(H_1..H_L), H_l = Q_l diag(lambda_l) Q_l^T \
(Q_l Haar-random: the Q factor of a Gaussian matrix; --rotation none: Q_l = I, so H is diagonal and \
Adam's diagonal preconditioner is aligned with its eigenvectors), h = 0 and a standard Gaussian w0 (the \
same for either rotation), all from --seed, and writes one `problem` record (eigenvalue extremes, condition numbers, Assumption 1 \
constants c1, c2, r and Theorem 2's step), optionally `spectrum` records, then for each \
--optimizer its `iterate` records (t, loss gap, gradient norm, distance to w*).

Cases: 1 and 2 sample each block's eigenvalues from `density` records (--spectra; the paper uses \
GPT2's embedding, 3rd query, 3rd value, 3rd MLP fc blocks for case 1 and ResNet18's 1st-4th \
convolutions for case 2), then shift and scale all blocks together into [1, kappa] so that H has \
condition number exactly kappa. Case 3 (heterogeneous): {1,2,3}, {99,100,101}, {kappa-2,kappa-1,kappa}; \
case 4 (homogeneous): the same nine values dealt round-robin, {1,99,kappa-2}, ... With --blocks / \
--block-dim other than 3 x 3, cases 3-4 use clusters of unit-spaced values at geometrically spaced \
levels from 1 to kappa.

Optimizers (--optimizer NAME, NAME=LR or NAME=grid; repeatable): gd (eta = 2/(mu+L)), bgd \
(eta_l = 1/lambda_max(H_l); LR multiplies it), adam-frozen (beta1 = 0, beta2 = 1: D0 = diag|g0| \
fixed; default step = Theorem 2's eta = min_l c1_l), adam (beta1 = 0, beta2 = --beta2, epsilon 0, \
no bias correction), sgd-momentum and adam-momentum (beta1 = --beta1). Moments start at m0 = g0, \
v0 = g0^2. Optimizers without a step (adam, the momentum ones, or NAME=grid) are tuned over \
--lr-grid: every learning rate tried is a `tune` record and the best (fewest steps to --stop-rel, else \
smallest final loss gap; --tune-by grad-norm: smallest final |grad|) is run again for its iterates. \
Optimizers with a theory step (gd, bgd, adam-frozen) are also tried at that step when tuned.",
    after_help = "Examples:
  quad-sim --case 3 | theory-check
  quad-sim --case 4 --optimizer gd --optimizer adam-frozen --optimizer adam --every 10
  quad-sim --case 3 --kappa 5000 --emit-spectra --iters 0       # eigenvalues only
  quad-sim --case 1 --spectra gpt2.density.jsonl | theory-check
  quad-sim --spectra my.density.jsonl --spectra-block wte --spectra-block h.0.mlp.c_fc --block-dim 200
  quad-sim --case 3 --blocks 5 --block-dim 20 --optimizer adam=0.05 --optimizer gd
  quad-sim --case 3 --rotation none | theory-check   # Case 3 with diagonal blocks"
)]
pub struct Args {
    /// The paper's case: 1 (Transformer-type spectra), 2 (CNN-type), 3
    /// (heterogeneous), 4 (homogeneous). Without it, --spectra is required.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub case: Option<u8>,

    /// Condition number of the whole H (the paper's v1 text: 2000; a later version: 5000).
    #[arg(long, default_value_t = 2000.0)]
    pub kappa: f64,

    /// Number of blocks (cases 3-4: default 3; with --spectra: the first N density blocks).
    #[arg(long)]
    pub blocks: Option<usize>,

    /// Dimension of each block (cases 3-4: default 3; with --spectra: default 100).
    #[arg(long)]
    pub block_dim: Option<usize>,

    /// `density` records (from slq-density) to sample block spectra from.
    #[arg(long)]
    pub spectra: Option<PathBuf>,

    /// With --spectra: use this block (name `block` or `model/block`); repeatable, in order.
    #[arg(long = "spectra-block")]
    pub spectra_blocks: Vec<String>,

    /// Optimizer: gd, bgd, adam, adam-frozen, sgd-momentum, adam-momentum;
    /// `NAME=LR` fixes the step, `NAME=grid` tunes it. Default: gd, bgd, adam-frozen, adam.
    #[arg(long = "optimizer")]
    pub optimizers: Vec<String>,

    /// Step for the optimizers given without one that would otherwise be tuned.
    #[arg(long)]
    pub lr: Option<f64>,

    /// Learning rates to tune over, comma-separated. Default: 1e-4, 10^-3.5, ..., 1
    /// for the Adam variants; the same times 100 / lambda_max for sgd-momentum.
    #[arg(long, value_delimiter = ',', conflicts_with = "lr_log_grid")]
    pub lr_grid: Option<Vec<f64>>,

    /// A log-spaced tuning grid LO:HI:N, N points per decade from LO to HI
    /// (e.g. 1e-5:1:4), instead of --lr-grid.
    #[arg(long, value_name = "LO:HI:N")]
    pub lr_log_grid: Option<String>,

    /// What tuning minimises: loss-gap (fewest steps to --stop-rel, else the
    /// smallest final loss gap) or grad-norm (the smallest final |grad|).
    #[arg(long, default_value = "loss-gap")]
    pub tune_by: String,

    /// beta1 of sgd-momentum and adam-momentum.
    #[arg(long, default_value_t = 0.9)]
    pub beta1: f64,

    /// beta2 of adam and adam-momentum.
    #[arg(long, default_value_t = 0.999)]
    pub beta2: f64,

    /// Steps per trajectory.
    #[arg(long, default_value_t = 5000)]
    pub iters: u64,

    /// Write every K-th iterate (and always the first and last).
    #[arg(long, default_value_t = 1)]
    pub every: u64,

    /// Stop a trajectory once its loss gap is below this fraction of the initial one.
    #[arg(long, default_value_t = 1e-30)]
    pub stop_rel: f64,

    /// Each block's eigenvectors: `haar` (Haar-random Q_l, the paper's
    /// construction) or `none` (Q_l = I: diagonal blocks, each block's
    /// eigenvalues ascending along its diagonal). The problem's id gets
    /// `-rotation-none` with `none`.
    #[arg(long, value_enum, default_value_t = RotationArg::Haar)]
    pub rotation: RotationArg,

    /// Base seed: rotations, start point and spectrum samples derive from it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Also write each block's eigenvalues as `spectrum` records (the paper's Figures 6-7).
    #[arg(long)]
    pub emit_spectra: bool,
}

/// The values of --rotation.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RotationArg {
    Haar,
    #[value(name = "none")]
    AxisAligned,
}

impl From<RotationArg> for Rotation {
    fn from(r: RotationArg) -> Rotation {
        match r {
            RotationArg::Haar => Rotation::Haar,
            RotationArg::AxisAligned => Rotation::AxisAligned,
        }
    }
}
