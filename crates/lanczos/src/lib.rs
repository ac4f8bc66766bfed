//! Lanczos tridiagonalization of a symmetric operator, in f64 and pure Rust.
//!
//! The algorithm needs only matrix-vector products, dot products and axpys,
//! so it has no BLAS/LAPACK dependency and can sit in the dependency tree of
//! a libtorch binary without rerouting libtorch's matmuls (docs/libtorch.md).
//!
//! Full reorthogonalization (modified Gram-Schmidt over a contiguous basis,
//! a second sweep when the first one removed most of the vector; vectorized)
//! runs on a rayon pool, shared by every run of the process that asks for
//! the same number of threads ([`Options::threads`]), and only when the
//! vectors are long enough for a sweep to split over threads. Every
//! reduction is split into fixed chunks combined in a fixed order, so the
//! tridiagonal is bit-identical for any thread count, not only for a given one.
//! Partial reorthogonalization ([`Reorth::Partial`]) runs the same sweep
//! only at the steps where Simon's estimate of the loss of orthogonality,
//! scaled by the operator's precision ([`Options::operator_eps`]), passes
//! its threshold (src/partial.rs says why, and against which vectors).
//!
//! The basis is stored in f64 or, for half the memory, in f32
//! ([`BasisPrecision`]), whole or only its first vectors ([`BasisKept`]);
//! [`within_budget`] picks the first rung of the ladder f64 basis -> f32
//! basis -> the first vectors that fit, in f32 -> no reorthogonalization
//! (docs/performance.md measures what each rung costs in accuracy); given a
//! directory ([`Options::basis_dir`]), a basis over budget goes to a file
//! there instead, whole and in f64, so the result stays exact.
//!
//! ```
//! use lanczos::{lanczos, DenseSymmetric, Options, Probe};
//! use rng::SplitMix;
//! let a = DenseSymmetric::diagonal(&[1.0, 2.0, 3.0]);
//! let v = Probe::Gaussian.vector(3, &mut SplitMix::new(7));
//! let t = lanczos(&mut { a }, &v, &Options::default()).unwrap();
//! assert_eq!(t.alpha.len(), 3);
//! ```

mod disk;
mod kernels;
mod memory;
mod operator;
mod partial;
mod pool;
mod probe;
mod reorth;
mod rules;

use disk::DiskBasis;
use kernels::{axpy, dot, norm};
pub use memory::{within_budget, BasisMemory, GIB};
pub use operator::{DenseSymmetric, Diagonal, SymmetricOperator};
pub use probe::Probe;
use reorth::Basis;
pub use rules::{
    check_start, effective_options, is_breakdown, max_steps, partial_estimate, second_pass_needed, PartialEstimate,
};

/// Reorthogonalization strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reorth {
    /// Orthogonalize each new vector against the whole stored basis, once,
    /// and again when the first sweep removed most of it (Kahan-Parlett:
    /// "twice is enough"): the Ritz values carry no spurious copies. Memory:
    /// steps x dim x 8 bytes.
    Full,
    /// Simon's partial reorthogonalization: the loss of orthogonality is
    /// estimated at every step from alpha and beta alone (O(steps) work),
    /// and the new vector is orthogonalized, against the basis vectors it
    /// has lost orthogonality to, only when the estimate passes
    /// [`Options::partial_threshold`] (and again at the step after). The
    /// basis stays semi-orthogonal, which keeps the Ritz values and the
    /// Gauss rule those of an orthogonal basis to the operator's precision.
    /// Memory as `Full`.
    Partial,
    /// The plain three-term recurrence: two vectors of memory, but converged
    /// Ritz values reappear as spurious copies after loss of orthogonality.
    None,
}

impl Reorth {
    pub fn name(self) -> &'static str {
        match self {
            Reorth::Full => "full",
            Reorth::Partial => "partial",
            Reorth::None => "none",
        }
    }

    /// Whether the strategy keeps a basis.
    pub fn keeps_basis(self) -> bool {
        !matches!(self, Reorth::None)
    }
}

/// How the basis of full reorthogonalization is stored. The Lanczos vectors
/// and all arithmetic stay f64; only the stored copies used for
/// reorthogonalization are rounded, so an f32 basis keeps the new vector
/// orthogonal to the old ones to about f32 precision (6e-8) instead of f64's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasisPrecision {
    /// steps x dim x 8 bytes.
    F64,
    /// steps x dim x 4 bytes.
    F32,
}

impl BasisPrecision {
    pub fn name(self) -> &'static str {
        match self {
            BasisPrecision::F64 => "f64",
            BasisPrecision::F32 => "f32",
        }
    }

    pub fn entry_bytes(self) -> usize {
        match self {
            BasisPrecision::F64 => 8,
            BasisPrecision::F32 => 4,
        }
    }
}

/// The basis precision asked for: one of them, or as precise as the
/// operator's products (`auto`): rounding the stored vectors to f32 costs
/// nothing when the products themselves carry only f32's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasisChoice {
    Auto,
    F64,
    F32,
}

impl BasisChoice {
    /// The precision for an operator whose products are accurate to
    /// `operator_eps` (see [`Options::operator_eps`]).
    pub fn resolve(self, operator_eps: f64) -> BasisPrecision {
        match self {
            BasisChoice::F64 => BasisPrecision::F64,
            BasisChoice::F32 => BasisPrecision::F32,
            BasisChoice::Auto if operator_eps >= f32::EPSILON as f64 => BasisPrecision::F32,
            BasisChoice::Auto => BasisPrecision::F64,
        }
    }
}

impl std::str::FromStr for BasisChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BasisChoice::Auto),
            "f64" => Ok(BasisChoice::F64),
            "f32" => Ok(BasisChoice::F32),
            _ => Err(format!("unknown basis precision `{s}` (expected `auto`, `f64` or `f32`)")),
        }
    }
}

impl std::str::FromStr for Reorth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(Reorth::Full),
            "partial" => Ok(Reorth::Partial),
            "none" => Ok(Reorth::None),
            _ => Err(format!("unknown reorthogonalization `{s}` (expected `full`, `partial` or `none`)")),
        }
    }
}

/// Options of one Lanczos run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Maximum number of steps m (capped at the operator's dimension).
    pub steps: usize,
    pub reorth: Reorth,
    /// The relative precision of the operator's products: f64's epsilon
    /// for an operator computed in f64, f32's (1.2e-7) for one computed in
    /// f32, whose products are accurate only to that. It scales partial
    /// reorthogonalization's estimate of the loss of orthogonality and sets
    /// its default threshold.
    pub operator_eps: f64,
    /// [`Reorth::Partial`] orthogonalizes when the estimated |q_j^T q_k|
    /// passes this (None: sqrt(`operator_eps`), the semi-orthogonality that
    /// keeps the Ritz values as accurate as the operator allows), against
    /// the q_k whose estimate passed its 3/2 power.
    pub partial_threshold: Option<f64>,
    /// Storage of the basis when `reorth` keeps one.
    pub basis: BasisPrecision,
    /// Keep only the first so many Lanczos vectors for reorthogonalization
    /// (None: all of them). See [`BasisKept::First`].
    pub basis_rows: Option<usize>,
    /// A budget in GiB for the basis: when set, the run first moves down the
    /// ladder of [`within_budget`] for its operator's dimension, so the basis
    /// it keeps fits (the result's [`Tridiagonal::basis`] says which rung ran).
    pub basis_budget_gib: Option<f64>,
    /// Where a basis over the budget may be kept on disk, whole and in f64
    /// (see [`BasisKept::Disk`]); None: the in-memory ladder alone.
    pub basis_dir: Option<std::path::PathBuf>,
    /// Keep the basis in a file in `basis_dir` (set by [`within_budget`]).
    pub basis_on_disk: bool,
    /// Breakdown tolerance, relative to the largest ||A q_j|| seen so far:
    /// when beta_j falls below it the Krylov space is (numerically)
    /// invariant and the run ends with the tridiagonal found so far.
    pub breakdown_tol: f64,
    /// Threads for reorthogonalization. 0: the rayon pool the caller runs in
    /// (the global pool, sized to the core count, unless the caller installed
    /// another); else a pool of that size, built once per process. Vectors
    /// too short to split run on the calling thread either way. The result
    /// does not depend on this setting, only the time.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            steps: 100,
            reorth: Reorth::Full,
            operator_eps: f64::EPSILON,
            partial_threshold: None,
            basis: BasisPrecision::F64,
            basis_rows: None,
            basis_budget_gib: None,
            basis_dir: None,
            basis_on_disk: false,
            breakdown_tol: 1e-10,
            threads: 0,
        }
    }
}

impl Options {
    /// What a run with these options on dimension `dim` keeps for
    /// reorthogonalization.
    pub fn basis_kept(&self, dim: usize) -> BasisKept {
        let steps = self.steps.min(dim).max(1);
        match (self.reorth.keeps_basis(), self.basis_rows) {
            (false, _) | (true, Some(0)) => BasisKept::None,
            (true, None) if self.basis_on_disk && self.basis_dir.is_some() => BasisKept::Disk,
            (true, Some(rows)) if rows < steps => BasisKept::First(self.basis, rows),
            (true, _) => BasisKept::Full(self.basis),
        }
    }

    /// The strategy a run on dimension `dim` follows: `reorth` while the
    /// whole basis is kept, else none (the first vectors of
    /// [`BasisKept::First`] are always orthogonalized against, the rest of
    /// the recurrence runs without reorthogonalization).
    pub fn reorth_run(&self, dim: usize) -> Reorth {
        match self.basis_kept(dim) {
            BasisKept::Full(_) | BasisKept::Disk => self.reorth,
            BasisKept::First(..) | BasisKept::None => Reorth::None,
        }
    }

    /// Partial reorthogonalization's threshold: the one set, else
    /// sqrt(`operator_eps`).
    pub fn partial_threshold(&self) -> f64 {
        self.partial_threshold.unwrap_or(self.operator_eps.sqrt())
    }

    /// Why these options cannot run, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(self.operator_eps > 0.0 && self.operator_eps < 1.0) {
            return Err(format!("operator precision {} is not in (0, 1)", self.operator_eps));
        }
        let t = self.partial_threshold();
        if !(t > 0.0 && t < 1.0) {
            return Err(format!("partial reorthogonalization threshold {t} is not in (0, 1)"));
        }
        Ok(())
    }
}

/// What a run kept for reorthogonalization: the strategy that ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasisKept {
    /// Every Lanczos vector: full reorthogonalization.
    Full(BasisPrecision),
    /// The first so many Lanczos vectors; each new vector is orthogonalized
    /// against them only. Eigenvalues that converge within those steps (the
    /// outliers, first) then get no ghost copies later; the rest of the
    /// recurrence runs as without reorthogonalization.
    First(BasisPrecision, usize),
    /// Every Lanczos vector, f64, in a file read back at each step: full
    /// reorthogonalization, bit-identical to `Full(F64)`, with one vector
    /// in memory.
    Disk,
    /// No basis: the three-term recurrence alone.
    None,
}

impl BasisKept {
    /// The `tridiag` record's `basis` field: `f64`, `f32`, `f32-first-K`
    /// (the first K vectors in f32), `f64-disk`, or `none`.
    pub fn name(self) -> String {
        match self {
            BasisKept::Full(p) => p.name().to_string(),
            BasisKept::Disk => "f64-disk".to_string(),
            BasisKept::First(p, rows) => format!("{}-first-{rows}", p.name()),
            BasisKept::None => "none".to_string(),
        }
    }

    /// `full` when every vector is kept, else `none`. (A run's strategy is
    /// [`Tridiagonal::reorth`]: this is what a basis allows.)
    pub fn reorth(self) -> Reorth {
        match self {
            BasisKept::Full(_) | BasisKept::Disk => Reorth::Full,
            BasisKept::First(..) | BasisKept::None => Reorth::None,
        }
    }
}

/// The result of a Lanczos run: T = tridiag(beta, alpha, beta).
#[derive(Debug, Clone, PartialEq)]
pub struct Tridiagonal {
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
    /// True when the run ended early at an invariant subspace.
    pub breakdown: bool,
    /// What the run kept for reorthogonalization.
    pub basis: BasisKept,
    /// The strategy that ran (see [`Options::reorth_run`]).
    pub reorth: Reorth,
    /// Steps whose new Lanczos vector was orthogonalized against stored
    /// ones: every step that produced a vector with `Full` (steps - 1, or
    /// steps at a breakdown), those the estimate chose with `Partial`, and
    /// 0 without a basis (with [`BasisKept::First`], every step, against
    /// the first vectors).
    pub reorth_steps: usize,
}

/// Why a run could not complete.
#[derive(Debug)]
pub enum LanczosError<E> {
    /// The start vector is zero, empty, or of the wrong length.
    BadStart(String),
    /// An option is out of its range.
    BadOptions(String),
    /// The operator failed (e.g. a non-finite Hessian-vector product).
    Operator { step: usize, error: E },
    /// The operator returned a non-finite vector.
    NonFinite { step: usize },
    /// The basis file could not be written or read.
    Basis { step: usize, error: std::io::Error },
}

impl<E: std::fmt::Display> std::fmt::Display for LanczosError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LanczosError::BadStart(m) => write!(f, "bad start vector: {m}"),
            LanczosError::BadOptions(m) => write!(f, "bad Lanczos options: {m}"),
            LanczosError::Operator { step, error } => write!(f, "matvec failed at Lanczos step {step}: {error}"),
            LanczosError::NonFinite { step } => write!(f, "matvec returned NaN or Inf at Lanczos step {step}"),
            LanczosError::Basis { step, error } => write!(f, "at Lanczos step {step}: {error}"),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for LanczosError<E> {}

/// Run Lanczos on `op` from `start` (normalized internally).
///
/// beta_j is measured after reorthogonalization, and the start vector is
/// normalized by its exact norm (no epsilon added), so with full
/// reorthogonalization and m = n the Ritz values equal the eigenvalues to
/// rounding error.
pub fn lanczos<O: SymmetricOperator>(
    op: &mut O,
    start: &[f64],
    opts: &Options,
) -> Result<Tridiagonal, LanczosError<O::Error>> {
    lanczos_with_progress(op, start, opts, |_| {})
}

/// As [`lanczos`], calling `progress(step)` after each completed step.
pub fn lanczos_with_progress<O: SymmetricOperator>(
    op: &mut O,
    start: &[f64],
    opts: &Options,
    progress: impl FnMut(usize),
) -> Result<Tridiagonal, LanczosError<O::Error>> {
    run(op, start, opts, progress).map(|(t, _)| t)
}

/// The basis a run keeps for reorthogonalization.
#[derive(Debug)]
enum Store {
    None,
    F64(Basis<f64>),
    F32(Basis<f32>),
    Disk(DiskBasis),
}

impl Store {
    /// The store of a run of `steps` steps on dimension `dim`, allocated
    /// once (a file in `dir` for [`BasisKept::Disk`]).
    fn new(kept: BasisKept, dim: usize, steps: usize, dir: Option<&std::path::Path>) -> std::io::Result<Self> {
        let (precision, rows) = match kept {
            BasisKept::None => return Ok(Store::None),
            BasisKept::Disk => {
                let dir = dir.ok_or_else(|| std::io::Error::other("a basis on disk needs a directory"))?;
                return Ok(Store::Disk(DiskBasis::create(dir, dim)?));
            }
            BasisKept::Full(p) => (p, steps),
            BasisKept::First(p, rows) => (p, rows),
        };
        Ok(match precision {
            BasisPrecision::F64 => Store::F64(Basis::with_capacity(dim, rows)),
            BasisPrecision::F32 => Store::F32(Basis::with_capacity(dim, rows)),
        })
    }

    /// Stores `q` (while there is room).
    fn push(&mut self, q: &[f64]) -> std::io::Result<()> {
        match self {
            Store::None => {}
            Store::F64(b) => b.push(q),
            Store::F32(b) => b.push(q),
            Store::Disk(b) => b.push(q)?,
        }
        Ok(())
    }

    /// Orthogonalizes `w` against every stored vector; whether anything
    /// is stored to orthogonalize against.
    fn orthogonalize(&mut self, w: &mut [f64], scratch: &mut Vec<f64>) -> std::io::Result<bool> {
        match self {
            Store::None => return Ok(false),
            Store::F64(b) => b.orthogonalize(w, scratch),
            Store::F32(b) => b.orthogonalize(w, scratch),
            Store::Disk(b) => b.orthogonalize(w, scratch)?,
        }
        Ok(true)
    }

    /// Bytes the store has allocated.
    #[cfg(test)]
    fn allocated_bytes(&self) -> usize {
        match self {
            Store::None => 0,
            Store::F64(b) => b.allocated_bytes(),
            Store::F32(b) => b.allocated_bytes(),
            Store::Disk(b) => b.allocated_bytes(),
        }
    }
}

/// The Lanczos iteration; also returns the basis store for tests.
fn run<O: SymmetricOperator>(
    op: &mut O,
    start: &[f64],
    opts: &Options,
    mut progress: impl FnMut(usize),
) -> Result<(Tridiagonal, Store), LanczosError<O::Error>> {
    let n = op.dim();
    let s = check_start(start, n).map_err(LanczosError::BadStart)?;
    let opts = &effective_options(opts, n).map_err(LanczosError::BadOptions)?;
    let kept = opts.basis_kept(n);
    let strategy = opts.reorth_run(n);
    let m = max_steps(opts, n);
    let mut omega = partial_estimate(opts, n);
    let mut reorth_steps = 0;
    let mut q: Vec<f64> = start.iter().map(|x| x / s).collect();
    let mut q_prev: Vec<f64> = vec![0.0; n];
    let mut basis =
        Store::new(kept, n, m, opts.basis_dir.as_deref()).map_err(|error| LanczosError::Basis { step: 0, error })?;
    let mut scratch = Vec::new();
    // Only a sweep that splits over threads goes to the pool: a shorter one
    // runs here, where handing it to a worker would cost two context
    // switches a step and gain nothing.
    let splits = matches!(basis, Store::F64(_) | Store::F32(_)) && reorth::splits_over_threads(n);
    let pool = if splits && opts.threads > 0 { pool::shared(opts.threads) } else { None };
    let mut w = vec![0.0; n];
    let mut alpha = Vec::with_capacity(m);
    let mut beta: Vec<f64> = Vec::with_capacity(m);
    let mut anorm: f64 = 0.0;
    let mut breakdown = false;

    for j in 0..m {
        op.apply(&q, &mut w).map_err(|error| LanczosError::Operator { step: j, error })?;
        if w.iter().any(|x| !x.is_finite()) {
            return Err(LanczosError::NonFinite { step: j });
        }
        anorm = anorm.max(norm(&w));
        let a = dot(&q, &w);
        axpy(-a, &q, &mut w);
        if j > 0 {
            axpy(-beta[j - 1], &q_prev, &mut w);
        }
        alpha.push(a);
        basis.push(&q).map_err(|error| LanczosError::Basis { step: j, error })?;
        if j + 1 == m {
            // The last w is never normalized: nothing to orthogonalize.
            progress(j + 1);
            break;
        }
        let before = if omega.is_some() { norm(&w) } else { 0.0 };
        let chosen = match &mut omega {
            Some(o) => o.step(&alpha, &beta, before, anorm),
            None => true,
        };
        let mut orthogonalized = false;
        if chosen {
            orthogonalized = match &pool {
                Some(pool) => pool.install(|| basis.orthogonalize(&mut w, &mut scratch)),
                None => basis.orthogonalize(&mut w, &mut scratch),
            }
            .map_err(|error| LanczosError::Basis { step: j, error })?;
        }
        reorth_steps += orthogonalized as usize;
        progress(j + 1);
        let b = if orthogonalized || omega.is_none() { norm(&w) } else { before };
        if let Some(o) = &mut omega {
            o.finish(orthogonalized);
        }
        if is_breakdown(b, anorm, opts.breakdown_tol) {
            breakdown = true;
            break;
        }
        beta.push(b);
        std::mem::swap(&mut q_prev, &mut q);
        for (qi, wi) in q.iter_mut().zip(&w) {
            *qi = wi / b;
        }
    }
    Ok((Tridiagonal { alpha, beta, breakdown, basis: kept, reorth: strategy, reorth_steps }, basis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rng::SplitMix;

    #[test]
    fn an_automatic_basis_is_as_precise_as_the_operator() {
        let auto = |eps: f64| BasisChoice::Auto.resolve(eps);
        assert_eq!(auto(f64::EPSILON), BasisPrecision::F64);
        assert_eq!(auto(f32::EPSILON as f64), BasisPrecision::F32);
        assert_eq!(auto(2f64.powi(-7)), BasisPrecision::F32);
        assert_eq!(BasisChoice::F64.resolve(1e-3), BasisPrecision::F64);
        assert_eq!(BasisChoice::F32.resolve(f64::EPSILON), BasisPrecision::F32);
        assert_eq!("f32".parse::<BasisChoice>(), Ok(BasisChoice::F32));
        assert!("half".parse::<BasisChoice>().unwrap_err().contains("`auto`, `f64` or `f32`"));
    }

    #[test]
    fn a_basis_on_disk_gives_the_in_memory_tridiagonal_bit_for_bit_and_leaves_no_file() {
        let n = 2 * kernels::CHUNK + 300;
        let d: Vec<f64> = (0..n).map(|i| if i < 4 { 100.0 * (i + 1) as f64 } else { (i % 97) as f64 / 97.0 }).collect();
        let mut op = Diagonal(d);
        let v = Probe::Gaussian.vector(n, &mut SplitMix::new(3));
        let dir = std::env::temp_dir().join(format!("lanczos-disk-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let memory = Options { steps: 80, ..Options::default() };
        let disk = Options { basis_dir: Some(dir.clone()), basis_on_disk: true, ..memory.clone() };
        let (a, _) = run(&mut op, &v, &memory, |_| {}).unwrap();
        let (b, store) = run(&mut op, &v, &disk, |_| {}).unwrap();
        assert_eq!((a.basis, b.basis), (BasisKept::Full(BasisPrecision::F64), BasisKept::Disk));
        assert_eq!((a.alpha, a.beta, a.breakdown), (b.alpha, b.beta, b.breakdown));
        let Store::Disk(file) = store else { panic!("not on disk") };
        assert_eq!(file.file_len().unwrap(), (80 * n * 8) as u64);
        // Unlinked as soon as it was made: a killed run leaves nothing either.
        assert!(!file.path().exists(), "{} is visible", file.path().display());
        drop(file);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
        // A directory that cannot take the file is an error naming it.
        let gone = Options { basis_dir: Some(dir.join("missing")), ..disk };
        match run(&mut op, &v, &gone, |_| {}) {
            Err(LanczosError::Basis { step: 0, error }) => assert!(error.to_string().contains("missing"), "{error}"),
            other => panic!("expected a basis error, got {:?}", other.map(|(t, _)| t)),
        }
    }

    #[test]
    fn the_lanczos_basis_stays_orthonormal_past_convergence() {
        // Well-separated outliers converge within a few steps; without
        // reorthogonalization the basis would then lose orthogonality.
        let n = 2 * kernels::CHUNK + 300;
        let d: Vec<f64> = (0..n).map(|i| if i < 4 { 100.0 * (i + 1) as f64 } else { (i % 97) as f64 / 97.0 }).collect();
        let mut op = Diagonal(d);
        let v = Probe::Gaussian.vector(n, &mut SplitMix::new(3));
        let m = 80;
        let (t, store) = run(&mut op, &v, &Options { steps: m, ..Options::default() }, |_| {}).unwrap();
        let Store::F64(basis) = store else { panic!("the default stores an f64 basis") };
        assert_eq!((t.alpha.len(), basis.rows()), (m, m));
        let mut worst: f64 = 0.0;
        for i in 0..m {
            for j in 0..=i {
                let target = if i == j { 1.0 } else { 0.0 };
                worst = worst.max((dot(basis.row(i), basis.row(j)) - target).abs());
            }
        }
        assert!(worst < 1e-13, "max |Q Q^T - I| = {worst:e}");
    }

    #[test]
    fn the_basis_a_run_allocates_stays_within_its_budget() {
        let (n, m) = (3 * kernels::CHUNK + 11, 60);
        let mut op = Diagonal((0..n).map(|i| (i % 89) as f64 + if i < 3 { 500.0 } else { 0.0 }).collect());
        let v = Probe::Gaussian.vector(n, &mut SplitMix::new(5));
        let full_bytes = (m * n * 8) as f64;
        for (fraction, kept, bytes) in [
            (1.0, BasisKept::Full(BasisPrecision::F64), m * n * 8),
            (0.999, BasisKept::Full(BasisPrecision::F32), m * n * 4),
            (0.5, BasisKept::Full(BasisPrecision::F32), m * n * 4),
            // A tenth of the f64 basis: 0.1 x 60 x 2 = 12 f32 vectors.
            (0.1, BasisKept::First(BasisPrecision::F32, 12), 12 * n * 4),
            (0.5 / 60.0, BasisKept::First(BasisPrecision::F32, 1), n * 4),
            (0.4 / 60.0, BasisKept::None, 0),
            (0.0, BasisKept::None, 0),
        ] {
            let budget = fraction * full_bytes / GIB;
            let opts = Options { steps: m, basis_budget_gib: Some(budget), ..Options::default() };
            let (t, store) = run(&mut op, &v, &opts, |_| {}).unwrap();
            assert_eq!((t.basis, t.alpha.len()), (kept, m), "budget {fraction} x the f64 basis");
            assert_eq!(store.allocated_bytes(), bytes, "budget {fraction} x the f64 basis");
            assert!(store.allocated_bytes() as f64 <= budget * GIB);
        }
        // With a directory, a basis over the budget goes to disk whole, in
        // f64, with one row and an I/O buffer in memory.
        let dir = std::env::temp_dir().join(format!("lanczos-budget-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (fraction, kept) in [
            (0.999, BasisKept::Disk),
            // One row and the 8,000-byte buffer (1,000 entries in tests) fit.
            (1.4 / 60.0, BasisKept::Disk),
            // One row alone: not enough; the in-memory ladder (two f32 rows).
            (1.0 / 60.0, BasisKept::First(BasisPrecision::F32, 2)),
        ] {
            let budget = fraction * full_bytes / GIB;
            let opts = Options {
                steps: m,
                basis_budget_gib: Some(budget),
                basis_dir: Some(dir.clone()),
                ..Options::default()
            };
            let (t, store) = run(&mut op, &v, &opts, |_| {}).unwrap();
            assert_eq!(t.basis, kept, "budget {fraction} x the f64 basis, with a directory");
            assert!(store.allocated_bytes() as f64 <= budget * GIB);
        }
        std::fs::remove_dir_all(&dir).unwrap();
        // Without a budget the options are followed as given.
        let (t, store) = run(&mut op, &v, &Options { steps: m, ..Options::default() }, |_| {}).unwrap();
        assert_eq!((t.basis, store.allocated_bytes()), (BasisKept::Full(BasisPrecision::F64), m * n * 8));
    }

    #[test]
    fn partial_reorthogonalization_keeps_the_basis_semi_orthogonal() {
        // Clusters 1e-6 apart and outliers, as many steps as the dimension:
        // every |q_i^T q_k| stays under the threshold sqrt(eps), which the
        // estimate is there to guarantee.
        let n = 300;
        let mut d = vec![50.0, 20.0, -10.0];
        for centre in [1.0, 2.0, 3.0] {
            d.extend((0..10).map(|i| centre * (1.0 + 1e-6 * i as f64)));
        }
        let rest = n - d.len();
        d.extend((0..rest).map(|i| -1.0 + 5.0 * ((i as f64 + 0.5) / rest as f64).powi(2)));
        let v = Probe::Gaussian.vector(n, &mut SplitMix::new(1));
        let opts = Options { steps: n, reorth: Reorth::Partial, ..Options::default() };
        let (t, store) = run(&mut Diagonal(d), &v, &opts, |_| {}).unwrap();
        let Store::F64(basis) = store else { panic!("partial keeps an f64 basis") };
        let mut worst: f64 = 0.0;
        for i in 0..n {
            for k in 0..i {
                worst = worst.max(dot(basis.row(i), basis.row(k)).abs());
            }
        }
        assert!(worst <= opts.partial_threshold(), "max |q_i^T q_k| = {worst:e}");
        assert!(t.reorth_steps < n - 1, "{} steps reorthogonalized", t.reorth_steps);
    }
}
