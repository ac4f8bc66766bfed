//! The spread of the blocks' gradient norms at initialization (Tomihari &
//! Sato's gradient heterogeneity), with resampling over parts of the batch.

use rng::SplitMix;

use crate::{Error, Result};

/// The norm of a block's gradient when part k of the batch is taken
/// `counts[k]` times: the gradient is sum_k a_k g_k with
/// a_k = counts_k weights_k / sum_j counts_j weights_j, and its squared norm
/// a^T G a, G the parts' Gram matrix (row-major). All counts 1: the
/// gradient of the whole batch.
pub fn resampled_norm(weights: &[f64], gram: &[f64], counts: &[u32]) -> Result<f64> {
    let k = weights.len();
    if gram.len() != k * k || counts.len() != k {
        return Err(Error::undefined(format!(
            "{k} parts need a {k} x {k} Gram matrix and {k} counts, got {} entries and {} counts",
            gram.len(),
            counts.len()
        )));
    }
    let total: f64 = weights.iter().zip(counts).map(|(w, c)| w * f64::from(*c)).sum();
    if !(total > 0.0) {
        return Err(Error::undefined("no part of the batch was drawn"));
    }
    let a: Vec<f64> = weights.iter().zip(counts).map(|(w, c)| w * f64::from(*c) / total).collect();
    let mut sq = 0.0;
    for i in 0..k {
        for j in 0..k {
            sq += a[i] * a[j] * gram[i * k + j];
        }
    }
    // Rounding can take a zero norm a hair below 0.
    Ok(sq.max(0.0).sqrt())
}

/// Multiplicities of a bootstrap resample of `parts` parts.
pub fn resample_parts(parts: usize, rng: &mut SplitMix) -> Vec<u32> {
    let mut counts = vec![0u32; parts];
    for _ in 0..parts {
        counts[rng.below(parts as u64) as usize] += 1;
    }
    counts
}

/// log10(max_b / min_b) of the blocks' gradient norms.
pub fn spread(norms: &[f64]) -> Result<f64> {
    if norms.len() < 2 {
        return Err(Error::undefined(format!("gradient spread: needs at least two blocks, got {}", norms.len())));
    }
    if let Some(i) = norms.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(Error::undefined(format!("gradient spread: block {i} has gradient norm {}", norms[i])));
    }
    let (lo, hi) = norms.iter().fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(*x), b.max(*x)));
    Ok((hi / lo).log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampled_norm_is_the_norm_of_the_weighted_mean() {
        // Parts g0 = (1, 0), g1 = (0, 2), g2 = (3, 4), weights 0.25, 0.25, 0.5.
        let g = [[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]];
        let w = [0.25, 0.25, 0.5];
        let gram: Vec<f64> = g.iter().flat_map(|a| g.iter().map(move |b| a[0] * b[0] + a[1] * b[1])).collect();
        // Whole batch: 0.25 (1, 0) + 0.25 (0, 2) + 0.5 (3, 4) = (1.75, 2.5).
        let whole = resampled_norm(&w, &gram, &[1, 1, 1]).unwrap();
        assert!((whole - (1.75f64.powi(2) + 2.5f64.powi(2)).sqrt()).abs() < 1e-14);
        // Part 2 twice, part 0 once: (0.25 (1, 0) + 1.0 (3, 4)) / 1.25 = (2.6, 3.2).
        let r = resampled_norm(&w, &gram, &[1, 0, 2]).unwrap();
        assert!((r - (2.6f64.powi(2) + 3.2f64.powi(2)).sqrt()).abs() < 1e-14);
        assert!(resampled_norm(&w, &gram, &[0, 0, 0]).is_err());
        assert!(resampled_norm(&w, &gram[..4], &[1, 1, 1]).is_err());
    }

    #[test]
    fn spread_in_decades() {
        assert!((spread(&[0.01, 1.0, 0.1]).unwrap() - 2.0).abs() < 1e-14);
        assert!(spread(&[1.0]).is_err());
        assert!(spread(&[1.0, 0.0]).unwrap_err().to_string().contains("block 1"));
        let mut rng = SplitMix::new(1);
        assert_eq!(resample_parts(5, &mut rng).iter().sum::<u32>(), 5);
    }
}
