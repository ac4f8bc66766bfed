//! Scoring a predictor against measured gaps: rank correlations with
//! bootstrap intervals over configurations, and leave-one-family-out.

use rng::SplitMix;
use spectra::bootstrap::summarize;

use crate::rank::{kendall_tau_b, order, spearman};

/// A correlation and its 90% percentile interval over bootstrap resamples
/// of the configurations (resamples on which it is undefined, all values
/// tied, are left out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub value: f64,
    pub ci90: [f64; 2],
}

/// Spearman's rho and Kendall's tau-b of `x` against `y`, each with a 90%
/// interval from `replicates` resamples of the (x, y) pairs drawn with `rng`,
/// and how many resamples had both defined (the others are left out).
pub fn associations(x: &[f64], y: &[f64], replicates: usize, rng: &mut SplitMix) -> (Interval, Interval, usize) {
    let n = x.len();
    let (mut rhos, mut taus) = (Vec::with_capacity(replicates), Vec::with_capacity(replicates));
    for _ in 0..replicates {
        let idx: Vec<usize> = (0..n).map(|_| rng.below(n as u64) as usize).collect();
        let xs: Vec<f64> = idx.iter().map(|&i| x[i]).collect();
        let ys: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
        let (r, t) = (spearman(&xs, &ys), kendall_tau_b(&xs, &ys));
        if r.is_finite() && t.is_finite() {
            rhos.push(r);
            taus.push(t);
        }
    }
    let used = rhos.len();
    (
        Interval { value: spearman(x, y), ci90: summarize(&rhos).1 },
        Interval { value: kendall_tau_b(x, y), ci90: summarize(&taus).1 },
        used,
    )
}

/// Leave one family out: for each family with two or more configurations,
/// the direction of the predictor (the sign of Spearman's rho) is learnt
/// from the other families alone, then each pair of the held-out family
/// (distinct in both x and y) is ordered by it; returns the share of pairs
/// ordered as their gaps are, and the number of pairs (None: no pair could
/// be judged).
pub fn leave_one_family_out(x: &[f64], y: &[f64], family: &[&str]) -> (Option<f64>, u64) {
    let mut families: Vec<&str> = family.to_vec();
    families.sort_unstable();
    families.dedup();
    let (mut right, mut pairs) = (0u64, 0u64);
    for f in families {
        let inside: Vec<usize> = (0..x.len()).filter(|&i| family[i] == f).collect();
        if inside.len() < 2 {
            continue;
        }
        let outside: Vec<usize> = (0..x.len()).filter(|&i| family[i] != f).collect();
        let xs: Vec<f64> = outside.iter().map(|&i| x[i]).collect();
        let ys: Vec<f64> = outside.iter().map(|&i| y[i]).collect();
        let sign = spearman(&xs, &ys).signum();
        if !sign.is_finite() || sign == 0.0 {
            continue;
        }
        for (a, &i) in inside.iter().enumerate() {
            for &j in &inside[a + 1..] {
                let (ox, oy) = (order(x[i], x[j]), order(y[i], y[j]));
                if ox.is_eq() || oy.is_eq() {
                    continue;
                }
                pairs += 1;
                if (ox == oy) == (sign > 0.0) {
                    right += 1;
                }
            }
        }
    }
    ((pairs > 0).then(|| right as f64 / pairs as f64), pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leave_one_family_out_learns_the_sign_elsewhere() {
        // Family a: x rises with y; family b: also. Each learns "+" from the other.
        let x = [1.0, 2.0, 3.0, 10.0, 20.0, 30.0];
        let y = [0.1, 0.2, 0.3, 1.0, 2.0, 3.0];
        let fam = ["a", "a", "a", "b", "b", "b"];
        assert_eq!(leave_one_family_out(&x, &y, &fam), (Some(1.0), 6));
        // Reverse family b's order within itself: its 3 pairs now go wrong,
        // and a (learning from reversed b, a minus) gets its 3 wrong too.
        let y2 = [0.1, 0.2, 0.3, 3.0, 2.0, 1.0];
        assert_eq!(leave_one_family_out(&x, &y2, &fam), (Some(0.0), 6));
        // Singleton families are never held out.
        assert_eq!(leave_one_family_out(&x[..2], &y[..2], &["a", "b"]), (None, 0));
    }

    #[test]
    fn bootstrap_interval_brackets_a_clear_association() {
        let x: Vec<f64> = (0..30).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| v + if (*v as i64) % 3 == 0 { 5.0 } else { 0.0 }).collect();
        let (rho, tau, used) = associations(&x, &y, 200, &mut SplitMix::new(1));
        assert_eq!(used, 200);
        assert!(rho.ci90[0] <= rho.value && rho.value <= rho.ci90[1], "{rho:?}");
        assert!(tau.ci90[0] <= tau.value && tau.value <= tau.ci90[1], "{tau:?}");
        assert!(rho.ci90[0] > 0.8, "{rho:?}");
    }
}
