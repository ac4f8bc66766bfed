//! Vector kernels whose results do not depend on the thread count.
//!
//! Every reduction over a vector of length n is split into fixed chunks of
//! [`CHUNK`] entries (a constant, not a function of the thread count). Within
//! a chunk, [`LANES`] independent accumulators let the compiler vectorize and
//! are combined in a fixed order; chunk sums are then added in chunk order.
//! Threads only decide who computes which chunk, never how sums associate,
//! so results are bit-identical for any number of threads.

/// Entries per chunk: 8 KiB of f64, so a chunk of `w` stays in L1 while the
/// matching chunks of all stored basis vectors stream past it.
pub(crate) const CHUNK: usize = 1024;

/// Independent accumulators per dot product.
const LANES: usize = 8;

/// A stored basis entry: f64, or f32 to halve the basis. Arithmetic is in
/// f64 either way; for f64 the conversion is the identity, so the f64 basis
/// computes exactly what it did before f32 existed.
pub(crate) trait Entry: Copy + Send + Sync + 'static {
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl Entry for f64 {
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
}

impl Entry for f32 {
    /// Rounds to nearest.
    #[inline]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// Dot product of two equal-length slices (one chunk or less) with
/// [`LANES`] accumulators combined in a fixed pairwise order.
#[inline]
pub(crate) fn dot_chunk<T: Entry>(a: &[T], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; LANES];
    let (a8, a_tail) = a.split_at(a.len() - a.len() % LANES);
    let (b8, b_tail) = b.split_at(a8.len());
    for (x, y) in a8.chunks_exact(LANES).zip(b8.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += x[l].to_f64() * y[l];
        }
    }
    for (l, (x, y)) in a_tail.iter().zip(b_tail).enumerate() {
        acc[l] += x.to_f64() * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Dot product: chunk sums added in chunk order.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    a.chunks(CHUNK).zip(b.chunks(CHUNK)).map(|(x, y)| dot_chunk(x, y)).fold(0.0, |s, p| s + p)
}

pub(crate) fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// y += alpha x (element-wise, hence the same for any split).
#[inline]
pub(crate) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_dot_matches_exact_integer_sums() {
        // Small integers: every partial sum is exact in f64, so any
        // association gives the true value.
        for n in [0, 1, 7, 8, 9, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5] {
            let a: Vec<f64> = (0..n).map(|i| (i % 13) as f64 - 6.0).collect();
            let b: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
            let exact: i64 = (0..n).map(|i| ((i % 13) as i64 - 6) * (i % 5) as i64).sum();
            assert_eq!(dot(&a, &b), exact as f64, "n = {n}");
        }
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
    }
}
