//! Rank correlations with ties, as scipy.stats defines them (spearmanr:
//! Pearson's r of average ranks; kendalltau: tau-b).

/// Ranks 1..n, ties given the average of the ranks they span.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) hold ranks i+1..=j+1: their mean.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman's rho: NaN when either side is constant or n < 2.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "spearman: paired samples");
    if x.len() < 2 {
        return f64::NAN;
    }
    pearson(&average_ranks(x), &average_ranks(y))
}

/// The order of two values, -0 equal to 0 (as `==` says; `total_cmp` does not).
pub(crate) fn order(a: f64, b: f64) -> std::cmp::Ordering {
    a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal)
}

/// Kendall's tau-b: (concordant - discordant) / sqrt((n0 - tx)(n0 - ty)),
/// n0 the pairs, tx and ty the pairs tied in x and in y. NaN when either
/// side is constant or n < 2. Values are compared by their order, so
/// infinities take part (ranked beyond every finite value); NaN is not data.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "kendall: paired samples");
    let n = x.len();
    let (mut c, mut d, mut tx, mut ty, mut pairs) = (0i64, 0i64, 0i64, 0i64, 0i64);
    // Orders compared, not differences: infinite values (a target never
    // reached) rank above every finite one, and nothing underflows.
    for i in 0..n {
        for j in i + 1..n {
            pairs += 1;
            let (ox, oy) = (order(x[i], x[j]), order(y[i], y[j]));
            if ox.is_eq() {
                tx += 1;
            }
            if oy.is_eq() {
                ty += 1;
            }
            if !ox.is_eq() && !oy.is_eq() {
                if ox == oy {
                    c += 1;
                } else {
                    d += 1;
                }
            }
        }
    }
    let denominator = (((pairs - tx) * (pairs - ty)) as f64).sqrt();
    if denominator == 0.0 {
        return f64::NAN;
    }
    (c - d) as f64 / denominator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_their_average_rank() {
        assert_eq!(average_ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn infinities_rank_beyond_every_finite_value() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [0.5, 2.0, f64::INFINITY, f64::INFINITY];
        // Ranks of y: 1, 2, 3.5, 3.5: as if both infinities were one large value.
        let finite = [0.5, 2.0, 1e300, 1e300];
        assert_eq!(spearman(&x, &y), spearman(&x, &finite));
        assert_eq!(kendall_tau_b(&x, &y), kendall_tau_b(&x, &finite));
        assert!(kendall_tau_b(&x, &y) > 0.9);
    }

    #[test]
    fn perfect_and_reversed_orders() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((spearman(&x, &[10.0, 20.0, 30.0, 400.0]) - 1.0).abs() < 1e-15);
        assert!((kendall_tau_b(&x, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-15);
        assert!(spearman(&x, &[1.0; 4]).is_nan());
        assert!(kendall_tau_b(&[1.0], &[2.0]).is_nan());
    }
}
