//! SGD's deficit against AdamW on one configuration, from training runs at
//! each optimizer's best rate over several seeds.

use spectra::stats::median;

use crate::{Error, Result};

/// One training run's held-out losses: (update, loss) at each evaluation,
/// in update order, and the final one.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub evals: Vec<(u64, f64)>,
}

impl Curve {
    /// The held-out loss evaluated at update `step`.
    pub fn at(&self, step: u64) -> Option<f64> {
        self.evals.iter().find(|(s, _)| *s == step).map(|(_, l)| *l)
    }

    /// The first evaluated update whose held-out loss is at most `target`.
    pub fn first_reaching(&self, target: f64) -> Option<u64> {
        self.evals.iter().find(|(_, l)| *l <= target).map(|(s, _)| *s)
    }

    pub fn last(&self) -> Option<(u64, f64)> {
        self.evals.last().copied()
    }
}

/// Two-sided 90% Student t quantile (the 95th percentile) for `df` degrees
/// of freedom; beyond 30, the normal's 1.6449.
pub fn t90(df: usize) -> f64 {
    const T: [f64; 30] = [
        6.313752, 2.919986, 2.353363, 2.131847, 2.015048, 1.943180, 1.894579, 1.859548, 1.833113, 1.812461, 1.795885,
        1.782288, 1.770933, 1.761310, 1.753050, 1.745884, 1.739607, 1.734064, 1.729133, 1.724718, 1.720743, 1.717144,
        1.713872, 1.710882, 1.708141, 1.705618, 1.703288, 1.701131, 1.699127, 1.697261,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        _ => 1.644854,
    }
}

/// Mean of `d` and its 90% t interval (NaN-wide with one value).
pub fn mean_interval(d: &[f64]) -> (f64, [f64; 2]) {
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    if d.len() < 2 {
        return (mean, [f64::NAN, f64::NAN]);
    }
    let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let half = t90(d.len() - 1) * sd / n.sqrt();
    (mean, [mean - half, mean + half])
}

/// The gap on a scale shared by every family: the mean over paired seeds of
/// ln(SGD's final loss / AdamW's), with its 90% t interval. The loss
/// difference itself carries each task's scale (a character model's loss is
/// near 2, an MNIST classifier's near 0.1), which a ranking across families
/// mixes in; the log ratio does not.
pub fn log_ratio(sgd_losses: &[f64], adamw_losses: &[f64]) -> Result<(f64, [f64; 2])> {
    if sgd_losses.len() != adamw_losses.len() || sgd_losses.is_empty() {
        return Err(Error::undefined(format!(
            "{} SGD losses against {} AdamW losses: need one pair per seed",
            sgd_losses.len(),
            adamw_losses.len()
        )));
    }
    if let Some(l) = sgd_losses.iter().chain(adamw_losses).find(|l| !(l.is_finite() && **l > 0.0)) {
        return Err(Error::undefined(format!("a final held-out loss of {l}: a log ratio needs positive losses")));
    }
    let d: Vec<f64> = sgd_losses.iter().zip(adamw_losses).map(|(s, a)| (s / a).ln()).collect();
    Ok(mean_interval(&d))
}

/// The gap's numbers from paired seeds (SGD's and AdamW's runs of seed s
/// share the initial weights and the batch order).
#[derive(Debug, Clone, PartialEq)]
pub struct GapEstimate {
    pub sgd_losses: Vec<f64>,
    pub adamw_losses: Vec<f64>,
    pub gap: f64,
    pub ci90: [f64; 2],
    /// [`log_ratio`]'s mean and interval.
    pub log_ratio: f64,
    pub log_ratio_ci90: [f64; 2],
    pub steps_ratio: Option<f64>,
    /// Whether SGD reached AdamW's mean loss at T/2 (median over seeds)
    /// within T: when not, the ratio is infinite, not unknown.
    pub sgd_reached: bool,
    pub flattened: bool,
    pub flatten_change: f64,
}

/// The gap of `sgd` against `adamw` (curves per seed, same seeds in the same
/// order), all trained for `steps` updates and evaluated at steps / 2 and
/// at steps. AdamW has flattened when its mean held-out loss at T is within
/// `tolerance` (relative) of its mean at T/2.
pub fn estimate(sgd: &[Curve], adamw: &[Curve], steps: u64, tolerance: f64) -> Result<GapEstimate> {
    if sgd.len() != adamw.len() || sgd.is_empty() {
        return Err(Error::undefined(format!(
            "{} SGD runs against {} AdamW runs: need the same seeds",
            sgd.len(),
            adamw.len()
        )));
    }
    let finals = |runs: &[Curve], who: &str| -> Result<Vec<f64>> {
        runs.iter()
            .enumerate()
            .map(|(s, c)| match c.last() {
                Some((t, l)) if t == steps && l.is_finite() => Ok(l),
                Some((t, _)) if t != steps => {
                    Err(Error::undefined(format!("{who}, seed {s}: last evaluation at update {t}, not {steps}")))
                }
                Some(_) => {
                    Err(Error::undefined(format!("{who}, seed {s}: the held-out loss at the end is not finite")))
                }
                None => Err(Error::undefined(format!("{who}, seed {s}: no held-out evaluation at all"))),
            })
            .collect()
    };
    let (ls, la) = (finals(sgd, "SGD")?, finals(adamw, "AdamW")?);
    let d: Vec<f64> = ls.iter().zip(&la).map(|(a, b)| a - b).collect();
    let (gap, ci90) = mean_interval(&d);
    let (log_ratio, log_ratio_ci90) = self::log_ratio(&ls, &la)?;
    let half = steps / 2;
    let mid: Vec<f64> = adamw
        .iter()
        .enumerate()
        .map(|(s, c)| {
            c.at(half).ok_or_else(|| Error::undefined(format!("AdamW, seed {s}: no evaluation at update {half} (T/2)")))
        })
        .collect::<Result<_>>()?;
    let n = mid.len() as f64;
    let (mid_mean, end_mean) = (mid.iter().sum::<f64>() / n, la.iter().sum::<f64>() / n);
    let flatten_change = (end_mean - mid_mean).abs() / mid_mean.abs();
    // Updates to reach AdamW's mean loss at T/2; never reached counts as infinite.
    let reach = |runs: &[Curve]| -> Option<f64> {
        let m = median(runs.iter().map(|c| c.first_reaching(mid_mean).map_or(f64::INFINITY, |s| s as f64)).collect())?;
        m.is_finite().then_some(m)
    };
    let sgd_reach = reach(sgd);
    let steps_ratio = match (sgd_reach, reach(adamw)) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    Ok(GapEstimate {
        sgd_losses: ls,
        adamw_losses: la,
        gap,
        ci90,
        log_ratio,
        log_ratio_ci90,
        steps_ratio,
        sgd_reached: sgd_reach.is_some(),
        flattened: flatten_change <= tolerance,
        flatten_change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(points: &[(u64, f64)]) -> Curve {
        Curve { evals: points.to_vec() }
    }

    #[test]
    fn paired_gap_with_its_t_interval() {
        let sgd = [curve(&[(50, 2.0), (100, 1.5)]), curve(&[(50, 2.2), (100, 1.7)]), curve(&[(50, 2.1), (100, 1.9)])];
        let adamw = [curve(&[(50, 1.0), (100, 1.0)]), curve(&[(50, 1.0), (100, 1.1)]), curve(&[(50, 1.0), (100, 1.2)])];
        let g = estimate(&sgd, &adamw, 100, 0.2).unwrap();
        // Differences 0.5, 0.6, 0.7: mean 0.6, sd 0.1, half width 2.919986 * 0.1 / sqrt(3).
        assert!((g.gap - 0.6).abs() < 1e-12);
        let half = 2.919986 * 0.1 / 3f64.sqrt();
        assert!((g.ci90[0] - (0.6 - half)).abs() < 1e-9 && (g.ci90[1] - (0.6 + half)).abs() < 1e-9);
        let logs = [1.5f64.ln(), (1.7f64 / 1.1).ln(), (1.9f64 / 1.2).ln()];
        assert!((g.log_ratio - logs.iter().sum::<f64>() / 3.0).abs() < 1e-12);
        // AdamW: 1.0 at T/2, 1.1 at T on average: 10% change, within 20%.
        assert!((g.flatten_change - 0.1).abs() < 1e-12 && g.flattened);
        // AdamW reaches 1.0 at update 50 in every seed; SGD never does.
        assert_eq!((g.steps_ratio, g.sgd_reached), (None, false));
    }

    #[test]
    fn log_ratio_of_paired_losses_with_its_t_interval() {
        // Ratios e^0.1, e^0.2, e^0.3: logs 0.1, 0.2, 0.3, mean 0.2, sd 0.1.
        let adamw = [0.5, 2.0, 0.1];
        let sgd: Vec<f64> = adamw.iter().zip([0.1f64, 0.2, 0.3]).map(|(a, d)| a * d.exp()).collect();
        let (m, ci) = log_ratio(&sgd, &adamw).unwrap();
        let half = 2.919986 * 0.1 / 3f64.sqrt();
        assert!((m - 0.2).abs() < 1e-12);
        assert!((ci[0] - (0.2 - half)).abs() < 1e-9 && (ci[1] - (0.2 + half)).abs() < 1e-9);
        // Scaling one seed's task (both losses) leaves it unchanged.
        let (m2, _) = log_ratio(&[sgd[0] * 10.0, sgd[1], sgd[2]], &[5.0, 2.0, 0.1]).unwrap();
        assert!((m2 - 0.2).abs() < 1e-12);
        assert!(log_ratio(&[1.0, 0.0], &[1.0, 1.0]).unwrap_err().to_string().contains("positive"));
        assert!(log_ratio(&[1.0], &[1.0, 1.0]).is_err());
    }

    #[test]
    fn steps_ratio_and_refusals() {
        let sgd = [curve(&[(50, 1.5), (100, 0.9)])];
        let adamw = [curve(&[(50, 1.0), (100, 0.8)])];
        let g = estimate(&sgd, &adamw, 100, 0.02).unwrap();
        assert_eq!(g.steps_ratio, Some(2.0));
        assert!(!g.flattened);
        assert!(estimate(&sgd, &[], 100, 0.02).is_err());
        let e = estimate(&sgd, &adamw, 200, 0.02).unwrap_err().to_string();
        assert!(e.contains("not 200"), "{e}");
        let nan = [curve(&[(50, 1.5), (100, f64::NAN)])];
        assert!(estimate(&nan, &adamw, 100, 0.02).unwrap_err().to_string().contains("not finite"));
    }
}
