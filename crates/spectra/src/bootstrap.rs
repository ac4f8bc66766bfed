//! Uncertainty of a distance by resampling probes.
//!
//! Each probe of SLQ is an independent draw, so the spread of a statistic
//! over probe resamples (with replacement, same count) estimates its
//! sampling error: how much JS0 would move with a different seed.

use rng::SplitMix;
use std::collections::BTreeMap;

/// Multiplicity of each probe in one resample of `probes` (distinct ids).
pub fn resample(probes: &[u32], rng: &mut SplitMix) -> BTreeMap<u32, u32> {
    let mut counts = BTreeMap::new();
    for _ in 0..probes.len() {
        let p = probes[rng.below(probes.len() as u64) as usize];
        *counts.entry(p).or_insert(0) += 1;
    }
    counts
}

/// Standard error (sample standard deviation) and 90% percentile interval
/// (5th and 95th percentiles, linear interpolation) of bootstrap replicates.
pub fn summarize(values: &[f64]) -> (f64, [f64; 2]) {
    let n = values.len();
    if n == 0 {
        return (0.0, [f64::NAN, f64::NAN]);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let se = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (se, [quantile(&sorted, 0.05), quantile(&sorted, 0.95)])
}

/// Quantile of sorted data, linear interpolation between order statistics.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let pos = q * (n - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    if i + 1 >= n {
        sorted[n - 1]
    } else {
        sorted[i] + frac * (sorted[i + 1] - sorted[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_order_statistics() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.05), 5.0);
        assert_eq!(quantile(&v, 0.95), 95.0);
        let (se, ci) = summarize(&[1.0, 3.0]);
        assert!((se - 2f64.sqrt()).abs() < 1e-15);
        assert!((ci[0] - 1.1).abs() < 1e-12 && (ci[1] - 2.9).abs() < 1e-12);
    }

    #[test]
    fn resample_keeps_the_probe_count() {
        let mut rng = SplitMix::new(3);
        let c = resample(&[4, 7, 9], &mut rng);
        assert_eq!(c.values().sum::<u32>(), 3);
        assert!(c.keys().all(|k| [4, 7, 9].contains(k)));
    }
}
