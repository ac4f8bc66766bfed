//! Pooling the Gauss rules of a block's probes into one density record.
//!
//! Each probe's rule is weighted 1/probes, so the pooled weights sum to one
//! and the density is the average of the probes' smoothed spectral measures
//! (the paper's Algorithm 5). The smoothing is a Gaussian of standard
//! deviation sigma per node; how sigma is chosen is a named [`SigmaRule`].

use records::{Density, Tridiag};

use crate::error::{Error, Result};
use crate::mixture::{Mixture, SUPPORT_SIGMAS};
use crate::quadrature::gauss_rule;
use crate::stats::median;

/// The axis the density is drawn on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Axis {
    /// x = lambda / scale.
    Linear,
    /// x = log10(max(|lambda| / scale, floor)); heavy-tailed spectra span
    /// many decades. `None` floor: 1e-10 times the largest |lambda| / scale.
    Log10Abs { floor: Option<f64> },
}

impl Axis {
    pub fn name(self) -> &'static str {
        match self {
            Axis::Linear => "linear",
            Axis::Log10Abs { .. } => "log10abs",
        }
    }
}

/// How the node values are scaled before the axis transform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Normalize {
    None,
    /// Divide by an estimate of the k-th largest eigenvalue: the median over
    /// probes of each probe's k-th largest Ritz value (the paper's figures
    /// divide by the 10th largest).
    KthLargest(usize),
}

/// How the Gaussian width is chosen (in axis units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SigmaRule {
    /// A fixed standard deviation. The authors' code uses sqrt(1e-5).
    Absolute(f64),
    /// Variance = factor * max(1, range of the nodes): PyHessian and
    /// Ghorbani et al. (factor 1e-5).
    Range { variance_factor: f64 },
    /// sigma = fraction * (k-th largest eigenvalue estimate, after scaling):
    /// a width relative to the block's own curvature scale. Linear axis only.
    Relative { fraction: f64, rank: usize },
}

impl SigmaRule {
    pub fn name(self) -> &'static str {
        match self {
            SigmaRule::Absolute(_) => "absolute",
            SigmaRule::Range { .. } => "range",
            SigmaRule::Relative { .. } => "relative",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DensityOptions {
    pub axis: Axis,
    pub normalize: Normalize,
    pub sigma: SigmaRule,
    /// Number of grid cells.
    pub grid_size: usize,
    /// Padding on each side, as a fraction of the node range; the grid also
    /// always extends 9 sigma beyond the extreme nodes so that it holds the
    /// whole mass.
    pub pad: f64,
}

impl Default for DensityOptions {
    fn default() -> Self {
        DensityOptions {
            axis: Axis::Linear,
            normalize: Normalize::None,
            sigma: SigmaRule::Absolute(1e-5f64.sqrt()),
            grid_size: 1000,
            pad: 0.05,
        }
    }
}

/// The Gauss rule of one probe of a block.
#[derive(Debug, Clone)]
pub struct ProbeRule {
    pub probe: u32,
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
}

impl ProbeRule {
    pub fn from_tridiag(t: &Tridiag) -> Result<Self> {
        let (nodes, weights) = gauss_rule(&t.alpha, &t.beta)?;
        Ok(ProbeRule { probe: t.probe, nodes, weights })
    }

    /// The k-th largest node (1-based); None when there are fewer.
    fn kth_largest(&self, k: usize) -> Option<f64> {
        let n = self.nodes.len();
        // nodes are ascending
        (k >= 1 && k <= n).then(|| self.nodes[n - k])
    }
}

/// Map a Hessian eigenvalue to the density's axis.
pub fn to_axis(lambda: f64, axis: &str, scale: f64, log_floor: f64) -> f64 {
    let x = lambda / scale;
    if axis == "log10abs" {
        x.abs().max(log_floor).log10()
    } else {
        x
    }
}

/// Pool the probes of one block into a density record.
pub fn pool_density(model: &str, block: &str, dim: u64, rules: &[ProbeRule], opts: &DensityOptions) -> Result<Density> {
    if rules.is_empty() {
        return Err("no probes".into());
    }
    if opts.grid_size < 2 {
        return Err("grid size must be at least 2".into());
    }
    let probes = rules.len();
    // rules is not empty, so the median exists; NaN would fail the positivity checks below.
    // A probe with fewer than k Ritz values has no k-th largest: refused,
    // rather than its smallest standing in for it.
    let kth = |k: usize| -> Result<f64> {
        let values = rules
            .iter()
            .map(|r| {
                r.kth_largest(k).ok_or_else(|| {
                    Error::new(format!(
                        "the {k}-th largest eigenvalue is asked for, but probe {} has only {} Ritz values",
                        r.probe,
                        r.nodes.len()
                    ))
                })
            })
            .collect::<Result<Vec<f64>>>()?;
        Ok(median(values).unwrap_or(f64::NAN))
    };

    let scale = match opts.normalize {
        Normalize::None => 1.0,
        Normalize::KthLargest(k) => {
            let s = kth(k)?;
            if !(s > 0.0) {
                return Err(Error::new(format!(
                    "cannot normalize by the {k}-th largest eigenvalue: its estimate is {s} (not positive)"
                )));
            }
            s
        }
    };

    let mut nodes = Vec::new();
    let mut weights = Vec::new();
    let mut node_probe = Vec::new();
    for r in rules {
        nodes.extend_from_slice(&r.nodes);
        weights.extend(r.weights.iter().map(|w| w / probes as f64));
        node_probe.extend(std::iter::repeat_n(r.probe, r.nodes.len()));
    }
    let lambda_min = nodes.iter().copied().fold(f64::INFINITY, f64::min);
    let lambda_max = nodes.iter().copied().fold(f64::NEG_INFINITY, f64::max);

    let (axis_name, log_floor) = match opts.axis {
        Axis::Linear => ("linear", None),
        Axis::Log10Abs { floor } => {
            let max_abs = nodes.iter().map(|x| (x / scale).abs()).fold(0.0, f64::max);
            let f = floor.unwrap_or(1e-10 * max_abs);
            if !(f > 0.0) {
                return Err("log axis needs a positive floor: every node is zero".into());
            }
            ("log10abs", Some(f))
        }
    };
    let xs: Vec<f64> = nodes.iter().map(|&l| to_axis(l, axis_name, scale, log_floor.unwrap_or(0.0))).collect();
    let xmin = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let xmax = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = xmax - xmin;

    let sigma = match opts.sigma {
        SigmaRule::Absolute(s) => s,
        SigmaRule::Range { variance_factor } => (variance_factor * range.max(1.0)).sqrt(),
        SigmaRule::Relative { fraction, rank } => {
            if axis_name != "linear" {
                return Err("relative sigma is defined on the linear axis only".into());
            }
            let s = kth(rank)? / scale;
            if !(s > 0.0) {
                return Err(Error::new(format!(
                    "relative sigma: the {rank}-th largest eigenvalue estimate is {s} (not positive)"
                )));
            }
            fraction * s
        }
    };
    if !(sigma > 0.0 && sigma.is_finite()) {
        return Err(Error::new(format!("sigma must be positive and finite, got {sigma}")));
    }

    let margin = opts.pad * range + SUPPORT_SIGMAS * sigma;
    let lo = xmin - margin;
    let hi = xmax + margin;
    if range.is_finite() && !(hi - lo).is_finite() {
        return Err(Error::new(format!(
            "sigma {sigma:e} is too large: the grid, {SUPPORT_SIGMAS} sigma beyond the nodes on each side, is not finite"
        )));
    }
    let h = (hi - lo) / opts.grid_size as f64;
    let mixture = Mixture::new(&xs, &weights, sigma);
    let grid: Vec<f64> = (0..opts.grid_size).map(|i| lo + (i as f64 + 0.5) * h).collect();
    let density = mixture.grid_cell_averages(lo, h, opts.grid_size);

    let trace = dim as f64 * nodes.iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>();
    let all_finite = density.iter().chain(&grid).all(|x| x.is_finite()) && trace.is_finite();
    if !all_finite {
        return Err("density, grid or trace is not finite (overflow in the node values?)".into());
    }

    Ok(Density {
        model: model.to_string(),
        block: block.to_string(),
        dim,
        probes,
        nodes,
        weights,
        node_probe,
        axis: axis_name.to_string(),
        scale,
        log_floor,
        sigma,
        sigma_mode: opts.sigma.name().to_string(),
        grid,
        density,
        lambda_min,
        lambda_max,
        trace,
    })
}

/// Structural checks on a density record read from input; returns the
/// offending field and why. Kept for callers of the old name: the checks
/// live in [`Density::validate`].
pub fn validate_density(d: &Density) -> Result<(), (&'static str, String)> {
    d.validate()
}

/// The smoothed density of a record as an exact mixture on its axis, with
/// each probe's nodes counted `counts(probe)` times (1 for the record as is;
/// a bootstrap resample passes its multiplicities). Weights are renormalized
/// to sum to one.
pub fn record_mixture(d: &Density, counts: impl Fn(u32) -> u32) -> Mixture {
    let floor = d.log_floor.unwrap_or(0.0);
    let xs: Vec<f64> = d.nodes.iter().map(|&l| to_axis(l, &d.axis, d.scale, floor)).collect();
    let mut ws: Vec<f64> = d.weights.iter().zip(&d.node_probe).map(|(w, &p)| w * counts(p) as f64).collect();
    let total: f64 = ws.iter().sum();
    if total > 0.0 {
        ws.iter_mut().for_each(|w| *w /= total);
    }
    Mixture::new(&xs, &ws, d.sigma)
}
