//! The record types. Field names are the interface: change them only
//! together with `docs/records.md`.

use serde::{Deserialize, Serialize};

/// Every record a tool of this workspace writes, tagged by its `type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    Run(Run),
    Tridiag(Tridiag),
    Density(Density),
    Distance(Distance),
    Heterogeneity(Heterogeneity),
}

/// First record of every tool's output: enough to repeat the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub tool: String,
    pub version: String,
    /// The command-line arguments after the program name.
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
}

impl Run {
    /// A run record for `tool` with the process's own arguments.
    pub fn for_tool(tool: &str, seed: Option<u64>) -> Self {
        Run {
            tool: tool.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            args: std::env::args().skip(1).collect(),
            seed,
            model: None,
            device: None,
            dtype: None,
        }
    }
}

/// One Lanczos run on one block with one probe vector.
///
/// `alpha` are the m diagonal entries of the tridiagonal, `beta` the m-1
/// off-diagonal ones. The start vector was normalized, so the quadrature
/// weights of this tridiagonal sum to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tridiag {
    pub model: String,
    pub block: String,
    /// Number of parameters in the block (the Hessian block is dim x dim).
    pub dim: u64,
    pub probe: u32,
    pub seed: u64,
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
    /// Lanczos steps actually taken (= alpha.len()).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_done: Option<usize>,
    /// True when the run stopped early because beta fell below tolerance
    /// (the Krylov space is invariant: the quadrature is then exact).
    #[serde(default)]
    pub breakdown: bool,
    /// `full` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorth: Option<String>,
}

impl Tridiag {
    /// Structural checks; returns the offending field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.alpha.is_empty() {
            return Err(("alpha", "must hold at least one entry".into()));
        }
        if self.beta.len() + 1 != self.alpha.len() {
            return Err((
                "beta",
                format!(
                    "has {} entries but alpha has {}: a tridiagonal needs exactly one fewer off-diagonal",
                    self.beta.len(),
                    self.alpha.len()
                ),
            ));
        }
        if self.dim < self.alpha.len() as u64 {
            return Err(("dim", format!("{} is smaller than the {} Lanczos steps", self.dim, self.alpha.len())));
        }
        if let Some(i) = self.alpha.iter().position(|x| !x.is_finite()) {
            return Err(("alpha", format!("entry {i} is not finite")));
        }
        if let Some(i) = self.beta.iter().position(|x| !x.is_finite() || *x < 0.0) {
            return Err(("beta", format!("entry {i} is {} (must be finite and >= 0)", self.beta[i])));
        }
        if let Some(n) = self.steps_done {
            if n != self.alpha.len() {
                return Err(("steps_done", format!("is {n} but alpha has {} entries", self.alpha.len())));
            }
        }
        Ok(())
    }
}

/// The spectral density of one block, estimated by stochastic Lanczos
/// quadrature and pooled over probes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Density {
    pub model: String,
    pub block: String,
    pub dim: u64,
    pub probes: usize,
    /// Gauss quadrature nodes: Ritz values in the Hessian's own units,
    /// ascending within each probe.
    pub nodes: Vec<f64>,
    /// Quadrature weights, each probe weighted 1/probes: they sum to 1.
    pub weights: Vec<f64>,
    /// The probe each node came from.
    pub node_probe: Vec<u32>,
    /// The axis the density lives on: `linear` (x = lambda / scale) or
    /// `log10abs` (x = log10(|lambda| / scale)).
    pub axis: String,
    /// Divisor applied to the nodes before the axis transform (1 = none).
    pub scale: f64,
    /// Floor on |lambda| / scale for the `log10abs` axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_floor: Option<f64>,
    /// Standard deviation of each Gaussian, in axis units.
    pub sigma: f64,
    /// How sigma was chosen: `absolute`, `range` or `relative`.
    pub sigma_mode: String,
    /// Grid points (cell centres, uniform spacing) in axis units.
    pub grid: Vec<f64>,
    /// Cell averages of the density on `grid`: sum(density) * spacing = 1.
    pub density: Vec<f64>,
    /// Smallest and largest node (extreme Ritz values), Hessian units.
    pub lambda_min: f64,
    pub lambda_max: f64,
    /// Hutchinson estimate of the block's trace: dim * sum(weights * nodes).
    pub trace: f64,
}

/// A divergence between the densities of two blocks of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distance {
    pub model: String,
    pub a: String,
    pub b: String,
    /// `js` or `skl-floored`.
    pub metric: String,
    pub value: f64,
    #[serde(flatten)]
    pub uncertainty: Option<Uncertainty>,
}

/// The mean distance over all distinct pairs of blocks of one model: the
/// paper's JS0 when computed at initialization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heterogeneity {
    pub model: String,
    pub metric: String,
    pub value: f64,
    pub blocks: Vec<String>,
    pub pairs: usize,
    #[serde(flatten)]
    pub uncertainty: Option<Uncertainty>,
}

/// Bootstrap over probes: standard error and 90% percentile interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uncertainty {
    pub bootstrap: usize,
    pub se: f64,
    pub ci90: [f64; 2],
}
