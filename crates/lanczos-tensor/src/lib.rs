//! Lanczos on the operator's device: the current vectors and the basis of
//! reorthogonalization are libtorch tensors where the operator lives (a
//! CUDA device, or the CPU), the three-term step and the
//! reorthogonalization are device vector and matrix products, and only
//! alpha and beta come back to the host.
//!
//! Why a second engine: the pure-Rust [`lanczos::lanczos`] takes its
//! operator through `apply(&[f64], &mut [f64])`, so on a GPU every
//! Hessian-vector product would copy its vector to the device and back,
//! and reorthogonalization would stream a host basis (31 GB for GPT-2's
//! embedding at 100 steps in f64) through the CPU while the GPU waits.
//!
//! The algorithm is the Rust engine's, decision for decision: the same
//! start vector normalized on the host by the same norm, the same budget
//! ladder ([`lanczos::within_budget`]: an f64 or f32 basis, its first rows,
//! or none), the same second-pass rule ([`lanczos::second_pass_needed`]),
//! partial reorthogonalization's estimate ([`lanczos::partial_estimate`]),
//! breakdown threshold ([`lanczos::is_breakdown`]) and stopping. Only the
//! order of the floating-point sums differs (libtorch's reductions instead
//! of the Rust engine's fixed chunks, block Gram-Schmidt instead of
//! row-by-row), so the two agree to rounding, not bit for bit; on one
//! device with one thread count the tensor engine gives the same bytes
//! every run on the CPU (on CUDA, as deterministic as cuBLAS's products).
//! A basis on disk ([`lanczos::BasisKept::Disk`]) belongs to the Rust
//! engine: asked for here, it is refused as a bad option.

use lanczos::{
    check_start, effective_options, is_breakdown, max_steps, partial_estimate, second_pass_needed, BasisKept,
    BasisPrecision, LanczosError, Options, Tridiagonal,
};
use tch::{Device, Kind, Tensor};

/// A symmetric linear operator whose vectors are 1-D f64 tensors on its
/// device: a Hessian-vector product that never leaves the GPU, a dense
/// matrix in tests.
pub trait TensorOperator {
    type Error: std::fmt::Debug + std::fmt::Display;
    fn dim(&self) -> usize;
    /// Where the operator's vectors live.
    fn device(&self) -> Device;
    /// A x, for `x` a 1-D f64 tensor of `dim()` entries on `device()`; the
    /// result is the same shape, kind and device.
    fn apply_tensor(&mut self, x: &Tensor) -> Result<Tensor, Self::Error>;
}

/// Which engine runs Lanczos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The pure-Rust loop of `lanczos` on host f64 vectors.
    Rust,
    /// This crate's loop on device tensors.
    Tensor,
}

impl Engine {
    /// The `tridiag` record's `engine` field.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Rust => "rust",
            Engine::Tensor => "tensor",
        }
    }
}

/// The engine asked for: one of them, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    Rust,
    Tensor,
    /// The tensor engine on a CUDA device, the Rust engine on the CPU (its
    /// results are bit-identical for any thread count; docs/gpu.md has the
    /// CPU timings of both), and the Rust engine whenever the basis may go
    /// to disk (only it keeps one there).
    Auto,
}

impl EngineChoice {
    /// The engine that runs on `device`; `basis_on_disk_allowed`: whether
    /// a basis directory was given.
    pub fn resolve(self, device: Device, basis_on_disk_allowed: bool) -> Engine {
        match self {
            EngineChoice::Rust => Engine::Rust,
            EngineChoice::Tensor => Engine::Tensor,
            EngineChoice::Auto if device.is_cuda() && !basis_on_disk_allowed => Engine::Tensor,
            EngineChoice::Auto => Engine::Rust,
        }
    }
}

impl std::str::FromStr for EngineChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rust" => Ok(EngineChoice::Rust),
            "tensor" => Ok(EngineChoice::Tensor),
            "auto" => Ok(EngineChoice::Auto),
            _ => Err(format!("unknown Lanczos engine `{s}` (expected `rust`, `tensor` or `auto`)")),
        }
    }
}

/// Rows of an f32 basis converted to f64 at a time for one product: at
/// most this many bytes of f64 scratch (and at least one row).
const SCRATCH_BYTES: usize = 256 << 20;

/// Run Lanczos on `op` from `start` (normalized internally), as
/// [`lanczos::lanczos`] does, with the vectors on the operator's device.
pub fn lanczos<O: TensorOperator>(
    op: &mut O,
    start: &[f64],
    opts: &Options,
) -> Result<Tridiagonal, LanczosError<O::Error>> {
    lanczos_with_progress(op, start, opts, |_| {})
}

/// As [`lanczos()`], calling `progress(step)` after each completed step.
pub fn lanczos_with_progress<O: TensorOperator>(
    op: &mut O,
    start: &[f64],
    opts: &Options,
    mut progress: impl FnMut(usize),
) -> Result<Tridiagonal, LanczosError<O::Error>> {
    let n = op.dim();
    let s = check_start(start, n).map_err(LanczosError::BadStart)?;
    let opts = &effective_options(opts, n).map_err(LanczosError::BadOptions)?;
    let kept = opts.basis_kept(n);
    if kept == BasisKept::Disk {
        return Err(LanczosError::BadOptions(
            "a basis on disk is kept by the Rust engine only (the tensor engine keeps its basis on the device)".into(),
        ));
    }
    let strategy = opts.reorth_run(n);
    let m = max_steps(opts, n);
    let mut omega = partial_estimate(opts, n);
    let device = op.device();
    let basis_error = |step: usize, what: String| LanczosError::Basis { step, error: std::io::Error::other(what) };
    let mut basis = DeviceBasis::new(kept, n, m, device).map_err(|e| basis_error(0, e))?;
    // Normalized on the host as the Rust engine does: the same first vector, bit for bit.
    let q_host: Vec<f64> = start.iter().map(|x| x / s).collect();
    let mut q = Tensor::from_slice(&q_host).to_device(device);
    drop(q_host);
    let mut q_prev: Option<Tensor> = None;
    let mut alpha: Vec<f64> = Vec::with_capacity(m);
    let mut beta: Vec<f64> = Vec::with_capacity(m);
    let mut anorm: f64 = 0.0;
    let mut breakdown = false;
    let mut reorth_steps = 0;

    for j in 0..m {
        let mut w = op.apply_tensor(&q).map_err(|error| LanczosError::Operator { step: j, error })?;
        let w_norm = norm(&w);
        // A finite norm means finite entries; an infinite one may be overflow alone.
        if !w_norm.is_finite() && !all_finite(&w) {
            return Err(LanczosError::NonFinite { step: j });
        }
        anorm = anorm.max(w_norm);
        let a = dot(&q, &w);
        axpy(-a, &q, &mut w);
        if let Some(prev) = &q_prev {
            axpy(-beta[j - 1], prev, &mut w);
        }
        alpha.push(a);
        basis.push(&q);
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
        let orthogonalized = chosen && basis.orthogonalize(&mut w);
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
        q_prev = Some(std::mem::replace(&mut q, w / b));
    }
    Ok(Tridiagonal { alpha, beta, breakdown, basis: kept, reorth: strategy, reorth_steps })
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.dot(b).double_value(&[])
}

fn norm(a: &Tensor) -> f64 {
    dot(a, a).sqrt()
}

fn all_finite(t: &Tensor) -> bool {
    t.isfinite().all().int64_value(&[]) != 0
}

/// y += alpha x, element by element (the Rust engine's axpy, value for value).
fn axpy(alpha: f64, x: &Tensor, y: &mut Tensor) {
    let _ = y.g_add_(&(x * alpha));
}

/// The stored Lanczos vectors: rows of a [capacity, dim] tensor on the
/// device, f64 or f32 (arithmetic in f64 either way).
struct DeviceBasis {
    rows: Option<Tensor>,
    capacity: usize,
    used: usize,
    /// Rows per product: all of them for f64; for f32, as many as
    /// [`SCRATCH_BYTES`] of f64 holds.
    chunk_rows: usize,
}

impl DeviceBasis {
    /// The store of `kept` for a run of `steps` steps on dimension `dim`,
    /// allocated once; a message when the device cannot hold it.
    fn new(kept: BasisKept, dim: usize, steps: usize, device: Device) -> Result<Self, String> {
        let (precision, capacity) = match kept {
            BasisKept::Full(p) => (p, steps),
            BasisKept::First(p, rows) => (p, rows.min(steps)),
            BasisKept::None | BasisKept::Disk => {
                return Ok(DeviceBasis { rows: None, capacity: 0, used: 0, chunk_rows: 1 })
            }
        };
        let kind = match precision {
            BasisPrecision::F64 => Kind::Double,
            BasisPrecision::F32 => Kind::Float,
        };
        let rows = Tensor::f_empty([capacity as i64, dim as i64], (kind, device)).map_err(|e| {
            let gib = (capacity * dim * precision.entry_bytes()) as f64 / lanczos::GIB;
            format!("the {} basis of {capacity} x {dim} ({gib:.2} GiB) on {device:?}: {e}", precision.name())
        })?;
        let chunk_rows = match precision {
            BasisPrecision::F64 => capacity.max(1),
            BasisPrecision::F32 => (SCRATCH_BYTES / (dim * 8).max(1)).clamp(1, capacity.max(1)),
        };
        Ok(DeviceBasis { rows: Some(rows), capacity, used: 0, chunk_rows })
    }

    /// Stores `q` (rounded to the basis's kind) while there is room.
    fn push(&mut self, q: &Tensor) {
        if let Some(rows) = &self.rows {
            if self.used < self.capacity {
                let mut row = rows.get(self.used as i64);
                row.copy_(q);
                self.used += 1;
            }
        }
    }

    /// Orthogonalizes `w` against every stored row: one block
    /// Gram-Schmidt sweep, and a second when the first removed most of
    /// `w` ([`second_pass_needed`]). Whether anything was stored.
    fn orthogonalize(&self, w: &mut Tensor) -> bool {
        let Some(rows) = &self.rows else { return false };
        if self.used == 0 {
            return false;
        }
        let before = norm(w);
        self.sweep(rows, w);
        if second_pass_needed(before, norm(w)) {
            self.sweep(rows, w);
        }
        true
    }

    /// w -= Q^T (Q w) over chunks of rows in order (classical within a
    /// chunk, modified between chunks; one chunk for an f64 basis).
    fn sweep(&self, rows: &Tensor, w: &mut Tensor) {
        let mut start = 0;
        while start < self.used {
            let len = self.chunk_rows.min(self.used - start);
            let q = rows.narrow(0, start as i64, len as i64);
            let q = if q.kind() == Kind::Double { q } else { q.to_kind(Kind::Double) };
            let c = q.mv(w);
            let _ = w.g_sub_(&c.matmul(&q));
            start += len;
        }
    }
}

/// A dense symmetric matrix as a [`TensorOperator`] on its tensor's device
/// (tests, and a GPU check without a network).
pub struct DenseTensorOperator {
    matrix: Tensor,
}

impl DenseTensorOperator {
    /// `matrix`: square, f64; symmetry is the caller's.
    pub fn new(matrix: Tensor) -> Result<Self, String> {
        let size = matrix.size();
        if size.len() != 2 || size[0] != size[1] {
            return Err(format!("a dense operator needs a square matrix, got shape {size:?}"));
        }
        if matrix.kind() != Kind::Double {
            return Err(format!("a dense operator needs f64 entries, got {:?}", matrix.kind()));
        }
        Ok(DenseTensorOperator { matrix })
    }
}

impl TensorOperator for DenseTensorOperator {
    type Error = std::convert::Infallible;
    fn dim(&self) -> usize {
        self.matrix.size()[0] as usize
    }
    fn device(&self) -> Device {
        self.matrix.device()
    }
    fn apply_tensor(&mut self, x: &Tensor) -> Result<Tensor, Self::Error> {
        Ok(self.matrix.mv(x))
    }
}
