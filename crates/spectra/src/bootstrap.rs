//! Uncertainty of a distance by resampling probes.
//!
//! Each probe of SLQ is an independent draw, so the spread of a statistic
//! over probe resamples (with replacement, same count) estimates its
//! sampling error: how much JS0 would move with a different seed.

use rng::SplitMix;

use crate::stats::quantile;
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
    let se = if n > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt() } else { 0.0 };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p| quantile(&sorted, p).unwrap_or(f64::NAN);
    (se, [q(0.05), q(0.95)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_has_the_sample_sd_and_the_90_percent_interval() {
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
