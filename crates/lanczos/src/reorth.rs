//! Full reorthogonalization: classical Gram-Schmidt applied twice (CGS2)
//! against a contiguous basis, multi-threaded over fixed chunks of the
//! vector so that results are bit-identical for any thread count.
//!
//! One pass of classical Gram-Schmidt is two matrix-vector products over the
//! basis Q (rows q_k): c = Q w, then w -= Q^T c. Twice is enough for
//! orthogonality to rounding error. The second pass's coefficients are
//! computed chunk by chunk right after the first pass's update of that chunk
//! (the chunk of w is still in cache), so CGS2 reads Q three times, not four.

use rayon::prelude::*;

use crate::kernels::{dot_chunk, CHUNK};

/// Below this many basis entries a step runs on the calling thread: the
/// work is too small to pay for waking the pool (results are the same).
const PARALLEL_MIN_ENTRIES: usize = 1 << 16;

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

    /// Entries `start..start + len` of every row, in row order.
    fn chunk_rows(&self, start: usize, len: usize) -> impl Iterator<Item = &[f64]> {
        (0..self.rows).map(move |k| &self.data[k * self.dim + start..k * self.dim + start + len])
    }

    /// Orthogonalize `w` against every row (CGS2), in place. `partials` is
    /// scratch space, reused across calls.
    pub(crate) fn orthogonalize(&self, w: &mut [f64], partials: &mut Vec<f64>) {
        debug_assert_eq!(w.len(), self.dim);
        let m = self.rows;
        if m == 0 {
            return;
        }
        let chunks = self.dim.div_ceil(CHUNK);
        partials.clear();
        partials.resize(chunks * m, 0.0);
        let parallel = chunks > 1 && m * self.dim >= PARALLEL_MIN_ENTRIES;

        // Pass 1: partial coefficients of w, per chunk.
        self.for_each_chunk(parallel, w, partials, |basis, start, wc, part| {
            for (p, q) in part.iter_mut().zip(basis.chunk_rows(start, wc.len())) {
                *p = dot_chunk(q, wc);
            }
        });
        let c1 = sum_in_chunk_order(partials, m);
        // First update, fused with the partial coefficients of the result.
        self.for_each_chunk(parallel, w, partials, |basis, start, wc, part| {
            subtract_combination(basis, start, wc, &c1);
            for (p, q) in part.iter_mut().zip(basis.chunk_rows(start, wc.len())) {
                *p = dot_chunk(q, wc);
            }
        });
        let c2 = sum_in_chunk_order(partials, m);
        // Second update.
        self.for_each_chunk(parallel, w, partials, |basis, start, wc, _| {
            subtract_combination(basis, start, wc, &c2);
        });
    }

    /// Call `f(self, start, chunk of w, the chunk's m partials)` for every
    /// chunk, on the current rayon pool when `parallel`.
    fn for_each_chunk<F>(&self, parallel: bool, w: &mut [f64], partials: &mut [f64], f: F)
    where
        F: Fn(&Basis, usize, &mut [f64], &mut [f64]) + Sync,
    {
        let m = self.rows;
        if parallel {
            w.par_chunks_mut(CHUNK)
                .zip(partials.par_chunks_mut(m))
                .enumerate()
                .for_each(|(i, (wc, part))| f(self, i * CHUNK, wc, part));
        } else {
            for (i, (wc, part)) in w.chunks_mut(CHUNK).zip(partials.chunks_mut(m)).enumerate() {
                f(self, i * CHUNK, wc, part);
            }
        }
    }
}

/// wc -= sum_k c[k] q_k (restricted to the chunk), k in increasing order.
fn subtract_combination(basis: &Basis, start: usize, wc: &mut [f64], c: &[f64]) {
    for (ck, q) in c.iter().zip(basis.chunk_rows(start, wc.len())) {
        for (wi, qi) in wc.iter_mut().zip(q) {
            *wi -= ck * qi;
        }
    }
}

/// c[k] = sum over chunks of partials[chunk * m + k], chunks in order.
fn sum_in_chunk_order(partials: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m];
    for part in partials.chunks_exact(m) {
        for (ck, p) in c.iter_mut().zip(part) {
            *ck += p;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{dot, norm};
    use crate::SplitMix;

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
    fn cgs2_keeps_a_nearly_dependent_basis_orthonormal() {
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
