//! A spectral density as a weighted sum of Gaussians of one width, the form
//! stochastic Lanczos quadrature produces. Evaluated exactly (no grid), so
//! divergences can integrate where the mass is.

/// Gaussians are treated as zero beyond this many sigmas (exp(-40.5) ~ 3e-18
/// of the peak): the window used for evaluation and for supports.
pub const SUPPORT_SIGMAS: f64 = 9.0;

const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

#[derive(Debug, Clone)]
pub struct Mixture {
    /// Centres in ascending order.
    centers: Vec<f64>,
    weights: Vec<f64>,
    sigma: f64,
}

impl Mixture {
    /// A mixture of N(c_i, sigma^2) with weights w_i. Weights need not sum to
    /// one (a bootstrap resample keeps its own total); sigma must be > 0.
    pub fn new(centers: &[f64], weights: &[f64], sigma: f64) -> Self {
        assert_eq!(centers.len(), weights.len());
        assert!(sigma > 0.0 && sigma.is_finite(), "sigma must be positive");
        let mut idx: Vec<usize> = (0..centers.len()).collect();
        idx.sort_by(|&a, &b| centers[a].total_cmp(&centers[b]));
        Mixture {
            centers: idx.iter().map(|&i| centers[i]).collect(),
            weights: idx.iter().map(|&i| weights[i]).collect(),
            sigma,
        }
    }

    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    pub fn total_weight(&self) -> f64 {
        self.weights.iter().sum()
    }

    /// Indices of centres within `reach` of the interval [lo, hi], in
    /// coordinates relative to `origin`.
    fn window(&self, origin: f64, lo: f64, hi: f64, reach: f64) -> std::ops::Range<usize> {
        let a = self.centers.partition_point(|&c| c - origin < lo - reach);
        let b = self.centers.partition_point(|&c| c - origin <= hi + reach);
        a..b.max(a)
    }

    /// The density at x.
    pub fn eval(&self, x: f64) -> f64 {
        self.eval_from(0.0, x)
    }

    /// The density at `origin + x`, with every distance taken as
    /// `x - (c - origin)`: exact near the origin even when sigma is below the
    /// floating-point spacing of the centres themselves.
    pub fn eval_from(&self, origin: f64, x: f64) -> f64 {
        let s = self.sigma;
        let mut sum = 0.0;
        for i in self.window(origin, x, x, SUPPORT_SIGMAS * s) {
            let z = (x - (self.centers[i] - origin)) / s;
            sum += self.weights[i] * (-0.5 * z * z).exp();
        }
        sum * INV_SQRT_2PI / s
    }

    /// The mass of [origin + lo, origin + hi] (relative coordinates as in
    /// [`Mixture::eval_from`]), counting each Gaussian within its support.
    pub fn mass_from(&self, origin: f64, lo: f64, hi: f64) -> f64 {
        let s = self.sigma;
        let mut mass = 0.0;
        for i in self.window(origin, lo, hi, SUPPORT_SIGMAS * s) {
            let c = self.centers[i] - origin;
            mass += self.weights[i] * normal_mass((lo - c) / s, (hi - c) / s);
        }
        mass
    }

    /// The mean of the density over [lo, hi]: the mass in the cell divided by
    /// its width. Computed from the normal CDF per Gaussian, in the tail that
    /// avoids cancellation, so it stays accurate far from the centres.
    pub fn cell_average(&self, lo: f64, hi: f64) -> f64 {
        let s = self.sigma;
        let mut mass = 0.0;
        for i in self.window(0.0, lo, hi, SUPPORT_SIGMAS * s) {
            mass += self.weights[i] * normal_mass((lo - self.centers[i]) / s, (hi - self.centers[i]) / s);
        }
        mass / (hi - lo)
    }

    /// Cell averages on the uniform grid of `n` cells [lo + i h, lo + (i+1) h]:
    /// the same numbers as [`Mixture::cell_average`] cell by cell, computed
    /// node by node with one normal-tail evaluation per grid edge near the
    /// node instead of two per (cell, node) pair.
    pub fn grid_cell_averages(&self, lo: f64, h: f64, n: usize) -> Vec<f64> {
        let s = self.sigma;
        let r = SUPPORT_SIGMAS * s;
        let mut mass = vec![0.0; n];
        // Tail of the normal CDF at z: Phi(z) for z < 0, 1 - Phi(z) otherwise.
        let tail = |z: f64| 0.5 * libm::erfc(z.abs() * std::f64::consts::FRAC_1_SQRT_2);
        let mut tails: Vec<(f64, bool)> = Vec::new();
        for (c, w) in self.centers.iter().zip(&self.weights) {
            let first = (((c - r - lo) / h).floor().max(0.0) as usize).min(n);
            let last = (((c + r - lo) / h).ceil().max(0.0) as usize).min(n);
            if first >= last {
                continue;
            }
            tails.clear();
            tails.extend((first..=last).map(|k| {
                let z = (lo + k as f64 * h - c) / s;
                (tail(z), z < 0.0)
            }));
            for (i, pair) in tails.windows(2).enumerate() {
                let ((t0, below0), (t1, below1)) = (pair[0], pair[1]);
                let p = match (below0, below1) {
                    (true, true) => t1 - t0,
                    (false, false) => t0 - t1,
                    _ => 1.0 - t0 - t1,
                };
                mass[first + i] += w * p;
            }
        }
        mass.iter_mut().for_each(|m| *m /= h);
        mass
    }

    /// Merged intervals [c - k sigma, c + k sigma] over all centres with
    /// positive weight: outside them the density is below 1e-17 of any peak.
    pub fn support(&self) -> Vec<(f64, f64)> {
        self.support_from(0.0, 0..self.centers.len())
    }

    /// [`Mixture::support`] of the centres `range` (indices in ascending
    /// order), in coordinates relative to `origin`.
    pub fn support_from(&self, origin: f64, range: std::ops::Range<usize>) -> Vec<(f64, f64)> {
        let r = SUPPORT_SIGMAS * self.sigma;
        let mut out: Vec<(f64, f64)> = Vec::new();
        for (c, w) in self.centers[range.clone()].iter().zip(&self.weights[range]) {
            if *w <= 0.0 {
                continue;
            }
            let c = c - origin;
            let (a, b) = (c - r, c + r);
            match out.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        out
    }

    /// Centres in ascending order and their weights.
    pub fn centers(&self) -> &[f64] {
        &self.centers
    }
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    pub fn min_center(&self) -> Option<f64> {
        self.centers.first().copied()
    }
    pub fn max_center(&self) -> Option<f64> {
        self.centers.last().copied()
    }
}

/// P(a <= Z <= b) for a standard normal Z, without cancellation in the tails.
pub fn normal_mass(a: f64, b: f64) -> f64 {
    let r = std::f64::consts::FRAC_1_SQRT_2;
    if a >= 0.0 {
        0.5 * (libm::erfc(a * r) - libm::erfc(b * r))
    } else if b <= 0.0 {
        0.5 * (libm::erfc(-b * r) - libm::erfc(-a * r))
    } else {
        1.0 - 0.5 * (libm::erfc(-a * r) + libm::erfc(b * r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_gaussian_has_the_closed_form_density() {
        let m = Mixture::new(&[2.0], &[1.0], 0.5);
        for x in [-1.0, 1.5, 2.0, 2.7, 5.0] {
            let exact = (-(x - 2.0f64).powi(2) / (2.0 * 0.25)).exp() / (0.5 * (2.0 * std::f64::consts::PI).sqrt());
            assert!((m.eval(x) - exact).abs() <= 1e-15 * exact.max(1e-300) + 1e-300, "x={x}");
        }
    }

    #[test]
    fn normal_mass_matches_known_values() {
        // Phi(1) - Phi(-1) = erf(1/sqrt 2) = 0.682689492137086
        assert!((normal_mass(-1.0, 1.0) - 0.682_689_492_137_086).abs() < 1e-15);
        // Far tail: P(Z > 10) = 7.619853024160527e-24, relative accuracy kept.
        let t = normal_mass(10.0, f64::INFINITY);
        assert!((t / 7.619_853_024_160_527e-24 - 1.0).abs() < 1e-12, "{t}");
    }

    #[test]
    fn grid_cell_averages_equal_cell_by_cell_averages() {
        let m = Mixture::new(&[-1.0, 0.0, 0.001, 2.5], &[0.1, 0.4, 0.2, 0.3], 0.05);
        for (lo, h, n) in [(-2.0, 0.01, 500), (-1.5, 0.3, 15), (-1.0, 1e-4, 300)] {
            let fast = m.grid_cell_averages(lo, h, n);
            for (i, f) in fast.iter().enumerate() {
                let a = lo + i as f64 * h;
                let slow = m.cell_average(a, a + h);
                // Both are differences of CDF values of order one: rounding costs
                // a few eps of mass per cell, i.e. ~eps / h in the average.
                let tol = 2e-15 / h + 1e-13 * slow;
                assert!((f - slow).abs() <= tol, "cell {i}: {f} vs {slow}");
            }
        }
    }

    #[test]
    fn supports_merge_overlapping_windows() {
        let m = Mixture::new(&[0.0, 1.0, 100.0], &[0.3, 0.3, 0.4], 0.1);
        let s = m.support();
        assert_eq!(s.len(), 2);
        assert!((s[0].0 + 0.9).abs() < 1e-12 && (s[0].1 - 1.9).abs() < 1e-12);
    }
}
