//! Predictors from the blocks' spectra: how far apart the blocks'
//! curvature scales are, and what one learning rate costs on them.
//!
//! Both read each block's Ritz values per probe (the nodes of a `density`
//! record, in the Hessian's own units) and use two scales per block: its
//! largest eigenvalue, estimated as the largest Ritz value over the probes
//! (Lanczos finds the top of the spectrum first), and its k-th largest,
//! estimated as the median over probes of each probe's k-th largest Ritz
//! value, as `slq-density --normalize kth` does. Hessians at initialization
//! are indefinite, so the smallest eigenvalue is no curvature scale: the
//! k-th largest stands in for the bottom of the useful spectrum.

use records::Density;
use rng::SplitMix;
use spectra::stats::median;

use crate::{Error, Result};

/// One block's Ritz values, per probe, each ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRitz {
    pub block: String,
    pub probes: Vec<Vec<f64>>,
}

impl BlockRitz {
    /// The nodes of a density record grouped by the probe they came from,
    /// probes in order of first appearance.
    pub fn from_density(d: &Density) -> Self {
        let mut ids: Vec<u32> = Vec::new();
        let mut probes: Vec<Vec<f64>> = Vec::new();
        for (&x, &p) in d.nodes.iter().zip(&d.node_probe) {
            let i = ids.iter().position(|q| *q == p).unwrap_or_else(|| {
                ids.push(p);
                probes.push(Vec::new());
                ids.len() - 1
            });
            probes[i].push(x);
        }
        for p in &mut probes {
            p.sort_by(f64::total_cmp);
        }
        BlockRitz { block: d.block.clone(), probes }
    }

    /// Every probe once: the estimate itself.
    pub fn all(&self) -> Vec<usize> {
        (0..self.probes.len()).collect()
    }

    /// A bootstrap resample of the probes (indices, with repeats).
    pub fn resample(&self, rng: &mut SplitMix) -> Vec<usize> {
        let n = self.probes.len() as u64;
        (0..n).map(|_| rng.below(n) as usize).collect()
    }

    /// The largest Ritz value of the probes `take`.
    pub fn lambda_max(&self, take: &[usize]) -> Result<f64> {
        take.iter()
            .filter_map(|&i| self.probes.get(i).and_then(|p| p.last().copied()))
            .max_by(f64::total_cmp)
            .ok_or_else(|| Error::undefined(format!("block `{}` has no Ritz values", self.block)))
    }

    /// The median over the probes `take` of each probe's k-th largest Ritz
    /// value (1-based k). A probe with fewer than k values is an error,
    /// never a silent substitute.
    pub fn kth_largest(&self, k: usize, take: &[usize]) -> Result<f64> {
        let mut v = Vec::with_capacity(take.len());
        for &i in take {
            let p = &self.probes[i];
            if k == 0 || p.len() < k {
                return Err(Error::undefined(format!(
                    "block `{}`: probe {i} has {} Ritz values, fewer than the rank {k} asked for",
                    self.block,
                    p.len()
                )));
            }
            v.push(p[p.len() - k]);
        }
        median(v).ok_or_else(|| Error::undefined(format!("block `{}` has no probes", self.block)))
    }
}

fn positive(what: &str, values: &[f64]) -> Result<()> {
    if values.len() < 2 {
        return Err(Error::undefined(format!("{what}: needs at least two blocks, got {}", values.len())));
    }
    if let Some(i) = values.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(Error::undefined(format!(
            "{what}: block {i} has scale {}, not a positive number (log undefined)",
            values[i]
        )));
    }
    Ok(())
}

/// Spread of curvature scales across blocks: log10(max_b / min_b) of the
/// blocks' largest eigenvalues, and the sample standard deviation (n - 1)
/// of their log10.
pub fn curvature_spread(lambda_max: &[f64]) -> Result<(f64, f64)> {
    positive("curvature spread", lambda_max)?;
    let logs: Vec<f64> = lambda_max.iter().map(|v| v.log10()).collect();
    let (lo, hi) = logs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Ok((hi - lo, sd))
}

/// The price of one learning rate on the block-diagonal quadratic with
/// these blocks (the paper's Section 3), in decades: log10 of the whole
/// matrix's condition number minus the largest log10 condition number of a
/// single block, each condition number on the robust scale
/// lambda_max / lambda_k. The whole's is max_b lambda_max / min_b lambda_k.
/// Zero when one block holds both extremes; GD with one rate pays it,
/// GD with a rate per block does not.
pub fn one_rate_price(lambda_max: &[f64], lambda_k: &[f64]) -> Result<f64> {
    positive("one-rate price (largest eigenvalues)", lambda_max)?;
    positive("one-rate price (k-th largest eigenvalues)", lambda_k)?;
    if lambda_max.len() != lambda_k.len() {
        return Err(Error::undefined("one-rate price: as many k-th largest eigenvalues as largest ones"));
    }
    let top = lambda_max.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bottom = lambda_k.iter().copied().fold(f64::INFINITY, f64::min);
    let worst_block = lambda_max.iter().zip(lambda_k).map(|(m, k)| (m / k).log10()).fold(f64::NEG_INFINITY, f64::max);
    Ok((top / bottom).log10() - worst_block)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(probes: &[&[f64]]) -> BlockRitz {
        BlockRitz { block: "b".into(), probes: probes.iter().map(|p| p.to_vec()).collect() }
    }

    #[test]
    fn scales_come_from_the_right_order_statistics() {
        let b = block(&[&[-1.0, 2.0, 5.0, 9.0], &[-2.0, 1.0, 4.0, 8.0], &[0.0, 3.0, 6.0, 10.0]]);
        assert_eq!(b.lambda_max(&b.all()).unwrap(), 10.0);
        assert_eq!(b.lambda_max(&[1, 1]).unwrap(), 8.0);
        // 2nd largest per probe: 5, 4, 6 -> median 5; resampled [1, 1, 2]: 4, 4, 6 -> 4.
        assert_eq!(b.kth_largest(2, &b.all()).unwrap(), 5.0);
        assert_eq!(b.kth_largest(2, &[1, 1, 2]).unwrap(), 4.0);
        let e = b.kth_largest(5, &b.all()).unwrap_err().to_string();
        assert!(e.contains("fewer than the rank 5"), "{e}");
    }

    #[test]
    fn spread_and_price_have_their_closed_forms() {
        // Scales 1, 10, 1000: log10 range 3; logs 0, 1, 3: mean 4/3, sd sqrt(7/3).
        let (range, sd) = curvature_spread(&[1.0, 10.0, 1000.0]).unwrap();
        assert!((range - 3.0).abs() < 1e-14);
        assert!((sd - (7.0f64 / 3.0).sqrt()).abs() < 1e-14);
        // Block A: 1000 over 100 (kappa 10), block B: 10 over 1 (kappa 10):
        // together 1000 over 1, kappa 1000: one rate costs 2 decades.
        assert!((one_rate_price(&[1000.0, 10.0], &[100.0, 1.0]).unwrap() - 2.0).abs() < 1e-14);
        // Identical blocks: nothing to pay.
        assert_eq!(one_rate_price(&[5.0, 5.0], &[0.5, 0.5]).unwrap(), 0.0);
        // One block holding both extremes: nothing either.
        assert!(one_rate_price(&[100.0, 10.0], &[1.0, 5.0]).unwrap().abs() < 1e-15);
    }

    #[test]
    fn undefined_inputs_are_named() {
        assert!(curvature_spread(&[1.0]).unwrap_err().to_string().contains("at least two"));
        assert!(curvature_spread(&[1.0, -2.0]).unwrap_err().to_string().contains("block 1"));
        assert!(one_rate_price(&[1.0, 2.0], &[0.0, 1.0]).unwrap_err().to_string().contains("k-th"));
    }
}
