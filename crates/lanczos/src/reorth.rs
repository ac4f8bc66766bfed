//! Full reorthogonalization: modified Gram-Schmidt applied twice (MGS2)
//! against a contiguous basis, multi-threaded over fixed chunks of the
//! vector so that results are bit-identical for any thread count.
//!
//! Why not classical Gram-Schmidt as two matrix-vector products (CGS2)? At
//! the sizes that matter (fc1.weight: 235,200 x 100 f64, 188 MB) the basis
//! lives in main memory and the work is bandwidth-bound. CGS2 streams the
//! basis three times per step even fused (c = Q w; w -= Q^T c with the second
//! c computed on the fly; w -= Q^T c), MGS2 twice: row k's update is fused
//! with row k+1's coefficient, so each pass reads one row from memory and
//! the previous row again from cache. Measured with `examples/reorth_bench`:
//! 3.0 CPU-s for MGS2 against 5.1-5.4 for fused CGS2 (see the bench's notes).

use rayon::prelude::*;

use crate::kernels::{dot_chunk, CHUNK};

/// Vectors shorter than this are handled on the calling thread: a pass is
/// too small to pay for waking the pool (results are the same either way).
const PARALLEL_MIN_DIM: usize = 8 * CHUNK;

/// The stored Lanczos vectors, one row of length `dim` per vector.
#[derive(Debug, Clone)]
pub(crate) struct Basis {
    dim: usize,
    rows: usize,
    data: Vec<f64>,
}

impl Basis {
    pub(crate) fn with_capacity(dim: usize, rows: usize) -> Self {
        Basis { dim, rows: 0, data: Vec::with_capacity(dim * rows) }
    }

    pub(crate) fn push(&mut self, v: &[f64]) {
        debug_assert_eq!(v.len(), self.dim);
        self.data.extend_from_slice(v);
        self.rows += 1;
    }

    #[cfg(test)]
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    #[cfg(test)]
    pub(crate) fn row(&self, k: usize) -> &[f64] {
        &self.data[k * self.dim..(k + 1) * self.dim]
    }

    /// Entries `start..start + len` of row `k`.
    fn row_chunk(&self, k: usize, start: usize, len: usize) -> &[f64] {
        &self.data[k * self.dim + start..k * self.dim + start + len]
    }

    /// Orthogonalize `w` against every row, twice (MGS2), in place, on the
    /// current rayon pool. `partials` (one coefficient part per chunk) is
    /// scratch space, reused across calls.
    pub(crate) fn orthogonalize(&self, w: &mut [f64], partials: &mut Vec<f64>) {
        debug_assert_eq!(w.len(), self.dim);
        let m = self.rows;
        if m == 0 {
            return;
        }
        partials.clear();
        partials.resize(self.dim.div_ceil(CHUNK), 0.0);
        let parallel = self.dim >= PARALLEL_MIN_DIM;
        self.for_each_chunk(parallel, w, partials, |start, wc, part| {
            *part = dot_chunk(self.row_chunk(0, start, wc.len()), wc)
        });
        // Pass t subtracts row (t-1) mod m and measures row t mod m: rows 0..m, then 0..m again.
        for t in 1..=2 * m {
            let c = partials.iter().fold(0.0, |s, p| s + p);
            let (prev, next) = ((t - 1) % m, t % m);
            let last = t == 2 * m;
            self.for_each_chunk(parallel, w, partials, |start, wc, part| {
                let len = wc.len();
                for (wi, qi) in wc.iter_mut().zip(self.row_chunk(prev, start, len)) {
                    *wi -= c * qi;
                }
                if !last {
                    *part = dot_chunk(self.row_chunk(next, start, len), wc);
                }
            });
        }
    }

    /// Call `f(start, chunk of w, the chunk's partial)` for every chunk, on
    /// the current rayon pool when `parallel`.
    fn for_each_chunk<F>(&self, parallel: bool, w: &mut [f64], partials: &mut [f64], f: F)
    where
        F: Fn(usize, &mut [f64], &mut f64) + Sync,
    {
        if parallel {
            w.par_chunks_mut(CHUNK)
                .zip(partials.par_iter_mut())
                .enumerate()
                .for_each(|(i, (wc, p))| f(i * CHUNK, wc, p));
        } else {
            for (i, (wc, p)) in w.chunks_mut(CHUNK).zip(partials.iter_mut()).enumerate() {
                f(i * CHUNK, wc, p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{dot, norm};
    use rng::SplitMix;

    /// An orthonormal basis of `rows` vectors built with `orthogonalize`
    /// itself from Gaussian vectors, each made nearly parallel to the
    /// previous one (the hard case for Gram-Schmidt).
    fn nearly_dependent_basis(dim: usize, rows: usize, seed: u64) -> Basis {
        let mut rng = SplitMix::new(seed);
        let mut basis = Basis::with_capacity(dim, rows);
        let mut scratch = Vec::new();
        let mut prev: Vec<f64> = vec![0.0; dim];
        for _ in 0..rows {
            let mut v: Vec<f64> = prev.iter().map(|p| p + 1e-6 * rng.normal()).collect();
            if v.iter().all(|x| x.abs() < 1e-3) {
                v = (0..dim).map(|_| rng.normal()).collect();
            }
            basis.orthogonalize(&mut v, &mut scratch);
            let s = norm(&v);
            v.iter_mut().for_each(|x| *x /= s);
            basis.push(&v);
            prev = v;
        }
        basis
    }

    #[test]
    fn mgs2_keeps_a_nearly_dependent_basis_orthonormal() {
        let (dim, rows) = (3 * CHUNK + 77, 60);
        let basis = nearly_dependent_basis(dim, rows, 4);
        let mut worst: f64 = 0.0;
        for i in 0..rows {
            for j in 0..=i {
                let target = if i == j { 1.0 } else { 0.0 };
                worst = worst.max((dot(basis.row(i), basis.row(j)) - target).abs());
            }
        }
        assert!(worst < 1e-14, "max |Q Q^T - I| = {worst:e}");
    }

    #[test]
    fn orthogonalize_removes_exactly_the_span_of_an_axis_basis() {
        // Rows e_0, e_5, e_CHUNK+1: the projection is known entry by entry.
        let dim = 2 * CHUNK + 3;
        let mut basis = Basis::with_capacity(dim, 3);
        for k in [0, 5, CHUNK + 1] {
            let mut e = vec![0.0; dim];
            e[k] = 1.0;
            basis.push(&e);
        }
        let mut w: Vec<f64> = (0..dim).map(|i| i as f64 + 1.0).collect();
        let mut expected = w.clone();
        for k in [0, 5, CHUNK + 1] {
            expected[k] = 0.0;
        }
        basis.orthogonalize(&mut w, &mut Vec::new());
        assert_eq!(w, expected);
        assert_eq!(basis.rows(), 3);
    }
}
