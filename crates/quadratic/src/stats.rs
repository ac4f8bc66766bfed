//! Quantiles and means of Monte-Carlo samples.

/// Linear-interpolation quantile (R's type 7) of a sample; q in [0, 1].
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty());
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

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
    pub median: f64,
    pub q75: f64,
    pub q95: f64,
    pub max: f64,
}

pub fn summarize(x: &[f64]) -> Quantiles {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    Quantiles {
        mean: mean(&s),
        min: s[0],
        q05: quantile(&s, 0.05),
        q25: quantile(&s, 0.25),
        median: quantile(&s, 0.5),
        q75: quantile(&s, 0.75),
        q95: quantile(&s, 0.95),
        max: s[s.len() - 1],
    }
}
