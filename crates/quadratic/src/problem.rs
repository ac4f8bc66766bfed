//! Blocks H_l = Q_l diag(lambda) Q_l^T and the block-diagonal problem.

use rng::SplitMix;

use crate::error::{Error, Result};

/// How each block's eigenvectors Q_l are chosen. Rotating within a block
/// leaves its spectrum unchanged; it decides whether a diagonal
/// preconditioner (Adam's) can be exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    /// Q_l Haar-random ([`haar_orthogonal`]): the paper's construction.
    #[default]
    Haar,
    /// Q_l = I: every block is diagonal, H_l = diag(lambda_l) in the order
    /// the eigenvalues were generated (ascending, for every case).
    AxisAligned,
}

impl Rotation {
    /// The value of the `problem` record's `rotation` field.
    pub fn record_name(self) -> &'static str {
        match self {
            Rotation::Haar => "haar-qr",
            Rotation::AxisAligned => "none",
        }
    }
}

/// One diagonal block: its requested eigenvalues, eigenvectors and the
/// dense symmetric matrix they make.
#[derive(Debug, Clone)]
pub struct Block {
    pub name: String,
    /// Ascending, all positive and finite.
    pub eigenvalues: Vec<f64>,
    /// d x d row-major; column k is the eigenvector of `eigenvalues[k]`.
    pub q: Vec<f64>,
    /// d x d row-major, exactly symmetric.
    pub h: Vec<f64>,
}

/// A Haar-random d x d orthogonal matrix (row-major): the Q factor of a
/// standard Gaussian matrix by classical Gram-Schmidt applied twice per
/// column, normalising with a positive norm so that R's diagonal is positive
/// (which is what makes Q Haar-distributed).
pub fn haar_orthogonal(d: usize, rng: &mut SplitMix) -> Vec<f64> {
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(d);
    // Draw the Gaussian matrix column by column (a fixed order = a fixed stream).
    let mut g: Vec<Vec<f64>> = (0..d).map(|_| (0..d).map(|_| rng.normal()).collect()).collect();
    for (j, col) in g.iter_mut().enumerate() {
        for _pass in 0..2 {
            for prev in cols.iter().take(j) {
                let c: f64 = prev.iter().zip(col.iter()).map(|(a, b)| a * b).sum();
                for (x, p) in col.iter_mut().zip(prev) {
                    *x -= c * p;
                }
            }
        }
        let n = col.iter().map(|x| x * x).sum::<f64>().sqrt();
        // A Gaussian matrix is singular with probability 0; a zero column
        // here would mean a broken generator.
        assert!(n > 0.0, "degenerate Gaussian matrix");
        cols.push(col.iter().map(|x| x / n).collect());
    }
    let mut q = vec![0.0; d * d];
    for (k, col) in cols.iter().enumerate() {
        for i in 0..d {
            q[i * d + k] = col[i];
        }
    }
    q
}

impl Block {
    /// H = Q diag(eigenvalues) Q^T with a fresh Haar Q from `rng`.
    /// Eigenvalues are sorted ascending; they must be finite and positive.
    pub fn new(name: &str, eigenvalues: &[f64], rng: &mut SplitMix) -> Result<Block> {
        let d = eigenvalues.len();
        let q = haar_orthogonal(d, rng);
        Block::with_eigenvectors(name, eigenvalues, q)
    }

    /// H = Q diag(eigenvalues) Q^T for a given orthogonal Q (row-major).
    pub fn with_eigenvectors(name: &str, eigenvalues: &[f64], q: Vec<f64>) -> Result<Block> {
        let d = eigenvalues.len();
        if d == 0 {
            return Err(Error::Invalid(format!("block `{name}` has no eigenvalues")));
        }
        if q.len() != d * d {
            return Err(Error::Invalid(format!(
                "block `{name}`: eigenvector matrix has {} entries, expected {}",
                q.len(),
                d * d
            )));
        }
        if let Some(x) = eigenvalues.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
            return Err(Error::Invalid(format!("block `{name}`: eigenvalue {x} is not finite and positive")));
        }
        // Sort eigenvalues ascending together with their eigenvectors.
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| eigenvalues[a].total_cmp(&eigenvalues[b]));
        let lam: Vec<f64> = order.iter().map(|&k| eigenvalues[k]).collect();
        let mut qs = vec![0.0; d * d];
        for (new_k, &old_k) in order.iter().enumerate() {
            for i in 0..d {
                qs[i * d + new_k] = q[i * d + old_k];
            }
        }
        let mut h = vec![0.0; d * d];
        for i in 0..d {
            for j in i..d {
                let mut s = 0.0;
                for k in 0..d {
                    s += qs[i * d + k] * lam[k] * qs[j * d + k];
                }
                h[i * d + j] = s;
                h[j * d + i] = s;
            }
        }
        Ok(Block { name: name.to_string(), eigenvalues: lam, q: qs, h })
    }

    /// A diagonal block (Q = I, up to the ascending sort): H = diag(eigenvalues)
    /// in the order given.
    pub fn diagonal(name: &str, eigenvalues: &[f64]) -> Result<Block> {
        let d = eigenvalues.len();
        let mut q = vec![0.0; d * d];
        for i in 0..d {
            q[i * d + i] = 1.0;
        }
        Block::with_eigenvectors(name, eigenvalues, q)
    }

    pub fn dim(&self) -> usize {
        self.eigenvalues.len()
    }
    pub fn lambda_min(&self) -> f64 {
        self.eigenvalues[0]
    }
    pub fn lambda_max(&self) -> f64 {
        self.eigenvalues[self.dim() - 1]
    }
    pub fn kappa(&self) -> f64 {
        self.lambda_max() / self.lambda_min()
    }

    /// y = H x.
    pub fn matvec(&self, x: &[f64], y: &mut [f64]) {
        let d = self.dim();
        for (i, yi) in y.iter_mut().enumerate().take(d) {
            let row = &self.h[i * d..(i + 1) * d];
            *yi = row.iter().zip(x).map(|(a, b)| a * b).sum();
        }
    }
}

/// L(w) = 1/2 w^T H w with H = diag(H_1, ..., H_L).
#[derive(Debug, Clone)]
pub struct Quadratic {
    pub blocks: Vec<Block>,
    offsets: Vec<usize>,
}

impl Quadratic {
    pub fn new(blocks: Vec<Block>) -> Result<Quadratic> {
        if blocks.is_empty() {
            return Err(Error::Invalid("a problem needs at least one block".into()));
        }
        let mut offsets = Vec::with_capacity(blocks.len() + 1);
        let mut o = 0;
        for b in &blocks {
            offsets.push(o);
            o += b.dim();
        }
        offsets.push(o);
        Ok(Quadratic { blocks, offsets })
    }

    /// Build from per-block eigenvalues, each block rotated by its own Haar Q
    /// drawn in order from `rng`.
    pub fn rotated(names: &[String], eigenvalues: &[Vec<f64>], rng: &mut SplitMix) -> Result<Quadratic> {
        let blocks = names.iter().zip(eigenvalues).map(|(n, e)| Block::new(n, e, rng)).collect::<Result<Vec<_>>>()?;
        Quadratic::new(blocks)
    }

    /// Build from per-block eigenvalues with diagonal blocks (Q_l = I).
    pub fn axis_aligned(names: &[String], eigenvalues: &[Vec<f64>]) -> Result<Quadratic> {
        let blocks = names.iter().zip(eigenvalues).map(|(n, e)| Block::diagonal(n, e)).collect::<Result<Vec<_>>>()?;
        Quadratic::new(blocks)
    }

    pub fn dim(&self) -> usize {
        self.offsets[self.blocks.len()]
    }

    /// The index range of block `l` in w.
    pub fn range(&self, l: usize) -> std::ops::Range<usize> {
        self.offsets[l]..self.offsets[l + 1]
    }

    pub fn lambda_min(&self) -> f64 {
        self.blocks.iter().map(Block::lambda_min).fold(f64::INFINITY, f64::min)
    }
    pub fn lambda_max(&self) -> f64 {
        self.blocks.iter().map(Block::lambda_max).fold(0.0, f64::max)
    }
    pub fn kappa(&self) -> f64 {
        self.lambda_max() / self.lambda_min()
    }

    /// g = H w.
    pub fn grad(&self, w: &[f64], g: &mut [f64]) {
        for (l, b) in self.blocks.iter().enumerate() {
            let r = self.range(l);
            b.matvec(&w[r.clone()], &mut g[r]);
        }
    }

    /// L(w) - L* = 1/2 w^T H w, given g = H w.
    pub fn loss_from_grad(w: &[f64], g: &[f64]) -> f64 {
        0.5 * w.iter().zip(g).map(|(a, b)| a * b).sum::<f64>()
    }

    pub fn loss(&self, w: &[f64]) -> f64 {
        let mut g = vec![0.0; self.dim()];
        self.grad(w, &mut g);
        Self::loss_from_grad(w, &g)
    }

    /// A standard Gaussian start point.
    pub fn gaussian_start(&self, rng: &mut SplitMix) -> Vec<f64> {
        (0..self.dim()).map(|_| rng.normal()).collect()
    }
}

/// Euclidean norm, scaled so that tiny vectors (|x| < 1e-154) do not
/// underflow to 0 through their squares.
pub(crate) fn norm(x: &[f64]) -> f64 {
    let m = x.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    if m == 0.0 || !m.is_finite() {
        return m;
    }
    m * x.iter().map(|a| (a / m) * (a / m)).sum::<f64>().sqrt()
}
