//! Summaries of Monte-Carlo samples.

use spectra::stats::quantile;

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Summary of a sample: mean, min, q05, q25, median, q75, q95, max.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    pub mean: f64,
    pub min: f64,
    pub q05: f64,
    pub q25: f64,
    /// The 0.5 quantile of the interpolation rule of the others.
    pub median: f64,
    pub q75: f64,
    pub q95: f64,
    pub max: f64,
}

/// None for an empty sample.
pub fn summarize(x: &[f64]) -> Option<Quantiles> {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    Some(Quantiles {
        mean: mean(&s),
        min: *s.first()?,
        q05: quantile(&s, 0.05)?,
        q25: quantile(&s, 0.25)?,
        median: quantile(&s, 0.5)?,
        q75: quantile(&s, 0.75)?,
        q95: quantile(&s, 0.95)?,
        max: *s.last()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_one_to_five() {
        let q = summarize(&[5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
        assert_eq!((q.mean, q.min, q.median, q.max), (3.0, 1.0, 3.0, 5.0));
        assert_eq!((q.q25, q.q75), (2.0, 4.0));
        assert!((q.q05 - 1.2).abs() < 1e-15 && (q.q95 - 4.8).abs() < 1e-15);
        assert_eq!(summarize(&[]), None);
    }
}
