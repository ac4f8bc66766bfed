//! Full reorthogonalization: modified Gram-Schmidt against a contiguous
//! basis, a second sweep only when the first one says it is needed,
//! multi-threaded over fixed chunks of the vector so that results are
//! bit-identical for any thread count.
//!
//! In Lanczos the new vector is already nearly orthogonal to the old ones
//! (the three-term recurrence did most of the work), so the first sweep
//! rarely removes much of it and the second sweep is rarely taken: the
//! basis is streamed about once per step instead of twice. Measured with
//! `examples/reorth_bench` (n = 235,200, m = 100): 1.07 CPU-s against 2.91
//! for the previous scalar loop, alpha equal to 2e-14.
//!
//! Why not classical Gram-Schmidt as two matrix-vector products (CGS2)? At
//! the sizes that matter (fc1.weight: 235,200 x 100 f64, 188 MB) the basis
//! lives in main memory and the work is bandwidth-bound. CGS2 streams the
//! basis three times per step even fused (c = Q w; w -= Q^T c with the second
//! c computed on the fly; w -= Q^T c), MGS2 twice: row k's update is fused
//! with row k+1's coefficient, so each pass reads one row from memory and
//! the previous row again from cache. Measured with `examples/reorth_bench`
//! while other builds ran: 2.2-3.0 CPU-s for MGS2 (both sweeps always)
//! against 5.1-5.4 for fused CGS2.

use rayon::prelude::*;

use crate::kernels::{dot_chunk, norm, Entry, CHUNK};

/// One Gram-Schmidt `sweep` of `w`, and a second only when the first removed
/// most of it (norm below 1/sqrt(2) of before: Kahan-Parlett, "twice is
/// enough"). `partials` is sized to one per chunk of `w` first.
pub(crate) fn twice_if_needed<E>(
    w: &mut [f64],
    partials: &mut Vec<f64>,
    mut sweep: impl FnMut(&mut [f64], &mut [f64]) -> Result<(), E>,
) -> Result<(), E> {
    partials.clear();
    partials.resize(w.len().div_ceil(CHUNK), 0.0);
    let before = norm(w);
    sweep(w, partials)?;
    if crate::second_pass_needed(before, norm(w)) {
        sweep(w, partials)?;
    }
    Ok(())
}

/// Vectors shorter than this are handled on the calling thread: a pass is
/// too small to pay for waking the pool (results are the same either way).
const PARALLEL_MIN_DIM: usize = 8 * CHUNK;

/// Whether a sweep over vectors of length `dim` splits over the pool's
/// threads (else it runs on the calling thread).
pub(crate) fn splits_over_threads(dim: usize) -> bool {
    dim >= PARALLEL_MIN_DIM
}

/// The stored Lanczos vectors, one row of length `dim` per vector, entries
/// of type `T` (f64, or f32 for half the memory; arithmetic is in f64).
#[derive(Debug, Clone)]
pub(crate) struct Basis<T> {
    dim: usize,
    rows: usize,
    /// Most rows kept: `push` beyond it is ignored.
    capacity: usize,
    data: Vec<T>,
}

impl<T: Entry> Basis<T> {
    /// Room for `rows` rows, allocated once: the store never grows past it.
    pub(crate) fn with_capacity(dim: usize, rows: usize) -> Self {
        Basis { dim, rows: 0, capacity: rows, data: Vec::with_capacity(dim * rows) }
    }

    /// Stores `v` (rounded to `T`) while there is room; a full store keeps
    /// its first rows.
    pub(crate) fn push(&mut self, v: &[f64]) {
        debug_assert_eq!(v.len(), self.dim);
        if self.rows < self.capacity {
            self.data.extend(v.iter().map(|x| T::from_f64(*x)));
            self.rows += 1;
        }
    }

    /// Bytes the store has allocated (its capacity, not only the rows used).
    #[cfg(test)]
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.data.capacity() * std::mem::size_of::<T>()
    }

    #[cfg(test)]
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    #[cfg(test)]
    pub(crate) fn row(&self, k: usize) -> &[T] {
        &self.data[k * self.dim..(k + 1) * self.dim]
    }

    /// Entries `start..start + len` of row `k`.
    fn row_chunk(&self, k: usize, start: usize, len: usize) -> &[T] {
        &self.data[k * self.dim + start..k * self.dim + start + len]
    }

    /// Orthogonalize `w` against every row in place, on the current rayon
    /// pool: one modified Gram-Schmidt sweep, and a second one only when the
    /// first removed so much of `w` (its norm fell below 1/sqrt(2) of what it
    /// was) that rounding may have left components along the basis: the
    /// Kahan-Parlett "twice is enough" test (Parlett, The Symmetric Eigenvalue
    /// Problem, sec. 6-9). `partials` is scratch space, reused across calls.
    pub(crate) fn orthogonalize(&self, w: &mut [f64], partials: &mut Vec<f64>) {
        debug_assert_eq!(w.len(), self.dim);
        if self.rows == 0 {
            return;
        }
        let swept: Result<(), std::convert::Infallible> = twice_if_needed(w, partials, |w, p| {
            self.sweep(w, p);
            Ok(())
        });
        let Ok(()) = swept;
    }

    /// One MGS sweep over rows 0..m. Pass t subtracts row t-1 and, fused
    /// with it, measures row t, so each pass reads one row from memory.
    fn sweep(&self, w: &mut [f64], partials: &mut [f64]) {
        let m = self.rows;
        let parallel = splits_over_threads(self.dim);
        self.for_each_chunk(parallel, w, partials, |start, wc, part| {
            *part = dot_chunk(self.row_chunk(0, start, wc.len()), wc)
        });
        for t in 1..=m {
            let c = partials.iter().fold(0.0, |s, p| s + p);
            let last = t == m;
            self.for_each_chunk(parallel, w, partials, |start, wc, part| {
                let len = wc.len();
                for (wi, qi) in wc.iter_mut().zip(self.row_chunk(t - 1, start, len)) {
                    *wi -= c * qi.to_f64();
                }
                if !last {
                    *part = dot_chunk(self.row_chunk(t, start, len), wc);
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
    fn nearly_dependent_basis(dim: usize, rows: usize, seed: u64) -> Basis<f64> {
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
        let mut basis = Basis::<f64>::with_capacity(dim, 3);
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
