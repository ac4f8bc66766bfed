//! Order statistics of samples: the one quantile rule the workspace uses.

/// Quantile of ascending data by linear interpolation between order
/// statistics (R's type 7): position q (n - 1), q clamped to [0, 1]. At an
/// exact order statistic (and for n = 1) that value is returned as is, so
/// infinite data do not turn into NaN. None for empty data.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    let pos = q.clamp(0.0, 1.0) * n.checked_sub(1)? as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    if frac == 0.0 || i + 1 >= n {
        return Some(sorted[i.min(n - 1)]);
    }
    Some(sorted[i] + frac * (sorted[i + 1] - sorted[i]))
}

/// Median: the middle value, or the mean of the two middle values written
/// (a + b) / 2 -- not type 7's a + (b - a) / 2, which can differ in the last
/// bit. Sorts `v`. None for empty data.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(0.5 * (v[n / 2 - 1] + v[n / 2])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_order_statistics() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.05), Some(5.0));
        assert_eq!(quantile(&v, 0.95), Some(95.0));
        assert_eq!(quantile(&[1.0, 3.0], 0.25), Some(1.5));
        assert_eq!(quantile(&[1.0, 3.0], 1.0), Some(3.0));
        assert_eq!(quantile(&[1.0, 3.0], 7.0), Some(3.0), "q is clamped");
        assert_eq!(quantile(&[2.0], 0.3), Some(2.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn exact_order_statistics_survive_infinite_neighbours() {
        assert_eq!(quantile(&[1.0, 2.0, f64::INFINITY], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, f64::INFINITY], 1.0), Some(f64::INFINITY));
    }

    #[test]
    fn median_averages_the_middle_pair() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
