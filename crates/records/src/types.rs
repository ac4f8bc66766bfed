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
    Problem(Problem),
    Iterate(Iterate),
    Check(Check),
    Spectrum(Spectrum),
    Distribution(Distribution),
    Tune(Tune),
    Hessian(Hessian),
    Step(Step),
    Summary(TrainSummary),
    Best(Best),
    Classes(Classes),
    Gradient(Gradient),
    Predictor(Predictor),
    Gap(Gap),
    Association(Association),
    Rescue(Rescue),
    Drift(Drift),
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
    /// CPU threads the run used (resolved: never 0), for tools whose output
    /// may depend on it in the last bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u64>,
    /// nn-train's per-parameter learning-rate factors (`--lr-scale`,
    /// `--lr-scale-from`), each parameter's rate being the scheduled one
    /// times its factor; the parameters not listed keep factor 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_scale: Option<Vec<LrScale>>,
    /// With `--lr-scale-from`: the rule that set the factors, `curvature`
    /// (max lambda_max / lambda_max_b) or `gradient` (max RMS gradient over
    /// the block's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_scale_rule: Option<String>,
    /// The exponent S of imbalanced training classes (`--class-zipf`, when
    /// not 0): class k kept in proportion to (k+1)^-S.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_zipf: Option<f64>,
}

/// One parameter's learning-rate factor, and the pattern or block that set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrScale {
    pub parameter: String,
    pub block: String,
    pub factor: f64,
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
            threads: None,
            lr_scale: None,
            lr_scale_rule: None,
            class_zipf: None,
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
    /// `full`, `partial` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorth: Option<String>,
    /// With `reorth` `partial`: the steps whose new Lanczos vector was
    /// reorthogonalized (of steps_done - 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorth_steps: Option<u64>,
    /// The basis kept for reorthogonalization: `f64`, `f32` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// The Lanczos engine that ran: `rust` (host vectors) or `tensor`
    /// (vectors and basis on the network's device). Absent: `rust`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
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

impl Density {
    /// Structural checks (the nodes and weights make a probability measure,
    /// the axis fields are usable); returns the offending field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let n = self.nodes.len();
        if n == 0 {
            return Err(("nodes", "must not be empty".into()));
        }
        if self.weights.len() != n {
            return Err(("weights", format!("has {} entries but nodes has {n}", self.weights.len())));
        }
        if self.node_probe.len() != n {
            return Err(("node_probe", format!("has {} entries but nodes has {n}", self.node_probe.len())));
        }
        if let Some(i) = self.nodes.iter().position(|x| !x.is_finite()) {
            return Err(("nodes", format!("entry {i} is not finite")));
        }
        let mut ids = self.node_probe.clone();
        ids.sort_unstable();
        ids.dedup();
        if self.probes != ids.len() {
            return Err(("probes", format!("is {} but node_probe names {} distinct probe(s)", self.probes, ids.len())));
        }
        if let Some(i) = self.weights.iter().position(|x| !x.is_finite() || *x < 0.0) {
            return Err(("weights", format!("entry {i} is {} (must be finite and >= 0)", self.weights[i])));
        }
        let total: f64 = self.weights.iter().sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(("weights", format!("sum to {total}, not 1")));
        }
        // Each probe is weighted 1/probes: a probe of (nearly) no mass would
        // leave a bootstrap replicate that draws only it without a density.
        let mut per_probe: std::collections::BTreeMap<u32, f64> = std::collections::BTreeMap::new();
        for (w, p) in self.weights.iter().zip(&self.node_probe) {
            *per_probe.entry(*p).or_insert(0.0) += w;
        }
        let share = 1.0 / self.probes as f64;
        if let Some((p, sum)) = per_probe.iter().find(|(_, sum)| (**sum - share).abs() > 1e-6) {
            return Err((
                "weights",
                format!("of probe {p} sum to {sum}, not 1/probes = {share}: each probe's weights must sum to 1/probes"),
            ));
        }
        if !(self.sigma > 0.0 && self.sigma.is_finite()) {
            return Err(("sigma", format!("must be positive and finite, got {}", self.sigma)));
        }
        if !(self.scale > 0.0 && self.scale.is_finite()) {
            return Err(("scale", format!("must be positive and finite, got {}", self.scale)));
        }
        match self.axis.as_str() {
            "linear" => {}
            "log10abs" => match self.log_floor {
                Some(f) if f > 0.0 && f.is_finite() => {}
                _ => return Err(("log_floor", "a log10abs density needs a positive log_floor".into())),
            },
            other => return Err(("axis", format!("unknown axis `{other}` (expected linear or log10abs)"))),
        }
        Ok(())
    }
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

/// A block-diagonal quadratic L(w) = 1/2 w^T H w (h = 0, so L* = 0 and
/// w* = 0) built by `quad-sim` (paper Section 3), with the constants its
/// theory needs, all computed from the eigenvalues and the start point w0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Identifier that `iterate` records refer to, e.g. `case3-seed0`.
    pub problem: String,
    /// `1`..`4` for the paper's cases, `custom` otherwise.
    pub case: String,
    /// Where the eigenvalues came from (paper values, or file and blocks sampled).
    pub source: String,
    pub seed: u64,
    /// Total dimension d = sum of block dims.
    pub dim: usize,
    /// Requested condition number of the whole H (= lambda_max / lambda_min).
    pub kappa: f64,
    pub lambda_min: f64,
    pub lambda_max: f64,
    /// Loss gap and gradient norm at w0.
    pub loss0: f64,
    pub grad0_norm: f64,
    /// Assumption 1 ratio r = max_l (c2_l / c1_l)^2.
    pub r: f64,
    /// Theorem 2's step for Adam with beta2 = 1 (see docs/records.md).
    pub eta_adam: f64,
    /// How each block's eigenvectors were drawn (`haar-qr`).
    pub rotation: String,
    pub blocks: Vec<ProblemBlock>,
}

/// One diagonal block H_l of a `problem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemBlock {
    pub name: String,
    pub dim: usize,
    pub lambda_min: f64,
    pub lambda_max: f64,
    /// kappa_l = lambda_max / lambda_min of this block.
    pub kappa: f64,
    /// Assumption 1 constants: c1 = min_i |g0_i| / lambda_max, c2 = max_i |g0_i| / lambda_max.
    pub c1: f64,
    pub c2: f64,
    /// Condition number of D0_l^{-1} H_l, D0 = diag|grad L(w0)| (Adam with beta2 = 1).
    pub kappa_precond: f64,
}

/// One point of an optimizer's trajectory on a `problem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Iterate {
    pub problem: String,
    /// `gd`, `bgd`, `adam`, `adam-frozen`, `sgd-momentum` or `adam-momentum`.
    pub optimizer: String,
    /// Step size; for `bgd` a multiplier: block l steps lr / lambda_max(H_l).
    pub lr: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta1: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta2: Option<f64>,
    pub t: u64,
    /// L(w_t) - L*.
    pub loss_gap: f64,
    /// ||grad L(w_t)||_2.
    pub grad_norm: f64,
    /// ||w_t - w*||_2.
    pub dist: f64,
    /// On the last record of a trajectory that ended early: `converged`
    /// (loss gap below --stop-rel of loss0) or `diverged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// One learning rate tried by a grid search, and whether it was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tune {
    pub problem: String,
    pub optimizer: String,
    pub lr: f64,
    /// Loss gap at the end of the run, relative to loss0.
    pub final_rel_gap: f64,
    /// |grad| at the end of the run (0 in records written before it existed).
    #[serde(default)]
    pub final_grad_norm: f64,
    /// Steps run (fewer than --iters when the run stopped early).
    pub steps: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    pub chosen: bool,
}

/// The eigenvalues of one block of a `problem` (for histograms, the
/// paper's Figures 6-7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    pub problem: String,
    pub block: String,
    pub source: String,
    /// Ascending.
    pub eigenvalues: Vec<f64>,
}

/// One quantitative claim of the paper checked against what was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Short identifier, e.g. `theorem1`, `table2-gd`, `mc-r`.
    pub claim: String,
    /// The claim in words, with the direction of the comparison.
    pub statement: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<String>,
    /// What the claim predicts (a bound, a count, a probability); null when
    /// the claim makes no numeric prediction for this case.
    pub predicted: Option<f64>,
    /// What was observed; null when it never happened (e.g. a target not reached).
    pub observed: Option<f64>,
    /// true / false, or null when the check does not apply.
    pub holds: Option<bool>,
    /// Steps compared, and how many broke the bound, for per-step checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_checked: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violations: Option<u64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A Monte-Carlo distribution summarised by its quantiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// What was sampled, e.g. `r` or `kappa_ratio.b2`.
    pub name: String,
    pub statement: String,
    pub trials: usize,
    pub mean: f64,
    pub min: f64,
    pub q05: f64,
    pub q25: f64,
    pub median: f64,
    pub q75: f64,
    pub q95: f64,
    pub max: f64,
    /// The value the paper reports for comparison, when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<f64>,
}

/// One row of a dense block Hessian (`hvp-dump --exact`): row `row` of the
/// `dim` x `dim` matrix, column j computed as H e_j (not symmetrized).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hessian {
    pub model: String,
    pub block: String,
    pub dim: u64,
    pub row: u64,
    pub values: Vec<f64>,
}

/// One logged training step of `nn-train`: the loss of the batch the update
/// was computed on, and the held-out evaluation where one was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub model: String,
    pub optimizer: String,
    /// The run's base learning rate (identifies the run within a grid).
    pub lr: f64,
    /// Updates done, counting this one (1 = after the first update).
    pub step: u64,
    /// Passes over the training set so far (step x batch / training examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<f64>,
    /// The scheduled learning rate this update used.
    pub lr_now: f64,
    /// Mean loss of this step's batch, before the update.
    pub train_loss: f64,
    /// Global gradient norm of this step's batch, before clipping.
    pub grad_norm: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout_accuracy: Option<f64>,
    /// With imbalanced classes: held-out accuracy over the frequent half of
    /// the classes (k < K/2) and over the rare half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout_accuracy_frequent_half: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout_accuracy_rare_half: Option<f64>,
    /// With imbalanced classes: held-out loss (mean cross-entropy) over the
    /// same halves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout_loss_frequent_half: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout_loss_rare_half: Option<f64>,
}

/// One training run of `nn-train` (one learning rate), at its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    pub model: String,
    pub optimizer: String,
    pub lr: f64,
    /// Updates done (fewer than asked when the run diverged).
    pub steps: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<f64>,
    pub batch_size: u64,
    pub weight_decay: f64,
    /// Held-out loss and accuracy after the last update (absent if diverged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_heldout_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_heldout_accuracy: Option<f64>,
    /// With imbalanced classes: the final accuracy per half of the classes, as in `Step`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_heldout_accuracy_frequent_half: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_heldout_accuracy_rare_half: Option<f64>,
    /// With imbalanced classes: the final loss per half of the classes, as in `Step`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_heldout_loss_frequent_half: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_heldout_loss_rare_half: Option<f64>,
    /// Mean training loss over the last logged tenth of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_train_loss: Option<f64>,
    /// The step whose loss or gradient was NaN or infinite, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverged_at: Option<u64>,
}

/// The learning rate a grid search of `nn-train` chose, and by which rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Best {
    pub model: String,
    pub optimizer: String,
    pub lr: f64,
    pub rule: String,
    pub final_heldout_loss: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_heldout_accuracy: Option<f64>,
    /// Rates tried, and how many of them diverged.
    pub tried: u64,
    pub diverged: u64,
    /// Where the rate sits among those tried: `interior` (rates below and
    /// above it were tried), `low-edge` or `high-edge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    /// Rates nn-train added beyond --lr-grid (--extend-grid) to bring the
    /// best rate inside the grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added: Option<u64>,
}

/// How often each class is a training target (`nn-train --class-counts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classes {
    pub model: String,
    /// Targets of class k in the training set, k = 0, 1, ...
    pub counts: Vec<u64>,
}

/// A block's gradient at the weights hvp-dump read (`hvp-dump --gradients`),
/// from the Hessian batch cut into `parts` equal parts (the last may be
/// smaller), so that it can be resampled: the gradient is
/// sum_k weights_k g_k and gram holds every <g_i, g_j>.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gradient {
    pub model: String,
    pub block: String,
    pub dim: u64,
    /// Euclidean norm of the block's gradient of the batch's mean loss.
    pub norm: f64,
    /// Each part's share of the batch's examples (they sum to 1).
    pub weights: Vec<f64>,
    /// Row-major parts x parts matrix of inner products of the parts' gradients.
    pub gram: Vec<f64>,
}

/// One candidate predictor of SGD's deficit, for one model, with its
/// bootstrap uncertainty (`gap-study predictors`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictor {
    pub model: String,
    /// Its name (`docs/study.md` defines each).
    pub predictor: String,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci90: Option<[f64; 2]>,
    /// Bootstrap replicates behind se and ci90, and what was resampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicates: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resampled: Option<String>,
}

/// SGD's deficit against AdamW on one configuration (`gap-study gaps`):
/// each optimizer at its own best rate, over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub model: String,
    pub family: String,
    pub batch_size: u64,
    pub steps: u64,
    pub sgd_lr: f64,
    pub adamw_lr: f64,
    /// The seeds (--init-seed and --seed) of the runs compared; the grid's
    /// own run, which chose the rate, is not among them.
    pub seeds: Vec<u64>,
    /// Final held-out losses, one per seed of `seeds`.
    pub sgd_losses: Vec<f64>,
    pub adamw_losses: Vec<f64>,
    /// Mean over seeds of SGD's final held-out loss minus AdamW's, and a
    /// 90% interval (Student t over the paired seed differences).
    pub gap: f64,
    pub ci90: [f64; 2],
    /// Mean over seeds of ln(SGD's final loss / AdamW's), the gap without
    /// the task's loss scale, and its 90% t interval.
    #[serde(default)]
    pub log_ratio: Option<f64>,
    #[serde(default)]
    pub log_ratio_ci90: Option<[f64; 2]>,
    /// Steps SGD needs to reach AdamW's mean held-out loss at T/2, over the
    /// steps AdamW needs (medians over seeds; None: SGD never reached it).
    #[serde(default)]
    pub steps_ratio: Option<f64>,
    /// Whether SGD reached that loss at all within the budget (when not,
    /// `steps_ratio` is null and the ratio is infinite, not unknown).
    pub sgd_reached: bool,
    /// Whether AdamW's held-out loss had flattened: its mean at T within
    /// the tolerance of its mean at T/2.
    pub flattened: bool,
    pub flatten_change: f64,
    /// Both best rates strictly inside their grids.
    pub interior: bool,
}

/// How well one predictor ranks the configurations by their gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Association {
    pub predictor: String,
    /// Configurations with both a value and a gap.
    pub n: u64,
    /// None where undefined (every value of one side tied).
    pub spearman: Option<f64>,
    pub spearman_ci90: Option<[f64; 2]>,
    pub kendall: Option<f64>,
    pub kendall_ci90: Option<[f64; 2]>,
    /// Leave one family out: the sign learnt from the other families, the
    /// share of the held-out family's pairs ordered as their gaps are.
    pub lofo_concordance: Option<f64>,
    pub lofo_pairs: u64,
    /// Bootstrap replicates on which both correlations were defined.
    pub replicates: u64,
    /// Configurations whose target is infinite (`steps-ratio`: SGD never
    /// reached AdamW's loss at T/2), ranked above every finite one.
    #[serde(default)]
    pub never: u64,
}

/// How much of SGD's deficit against AdamW per-block learning rates close
/// on one configuration (`gap-study rescue`): plain SGD, SGD with a rule's
/// block factors and AdamW, each at its own best rate, over paired seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rescue {
    pub model: String,
    pub family: String,
    /// The rule of the factors (`curvature` or `gradient`, nn-train's `--lr-scale-rule`).
    pub rule: String,
    pub batch_size: u64,
    pub steps: u64,
    pub sgd_lr: f64,
    /// The base rate of SGD with the rule's factors (each block's rate is it times its factor).
    pub rule_lr: f64,
    pub adamw_lr: f64,
    pub seeds: Vec<u64>,
    /// Final held-out losses, one per seed of `seeds`; the rule's is None
    /// (null) on a seed where its run diverged.
    pub sgd_losses: Vec<f64>,
    pub rule_losses: Vec<Option<f64>>,
    pub adamw_losses: Vec<f64>,
    /// The seeds on which SGD with the rule's factors diverged, and the
    /// update where it did (absent when none). The rule's gap, the loss
    /// closed and the share are then None: a share over the seeds that
    /// survived would flatter the rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_diverged: Vec<DivergedRun>,
    /// Means over seeds of L_sgd - L_adamw and of L_rule - L_adamw, with
    /// 90% t intervals over the paired differences.
    pub gap_plain: f64,
    pub gap_plain_ci90: [f64; 2],
    pub gap_rule: Option<f64>,
    pub gap_rule_ci90: Option<[f64; 2]>,
    /// Mean of L_sgd - L_rule (= gap_plain - gap_rule) with its 90% t interval.
    pub closed: Option<f64>,
    pub closed_ci90: Option<[f64; 2]>,
    /// closed / gap_plain, and Fieller's 90% interval for that ratio of
    /// paired means (None: unbounded, plain SGD's gap not distinguishable
    /// from 0, or a seed of the rule diverged).
    pub fraction: Option<f64>,
    #[serde(default)]
    pub fraction_ci90: Option<[f64; 2]>,
    /// All three best rates strictly inside their grids.
    pub interior: bool,
}

/// A seed whose run diverged, and the update where it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DivergedRun {
    pub seed: u64,
    pub at: u64,
}

/// How far the per-block learning-rate factors of one rule moved between
/// initialization and a checkpoint of training (`gap-study drift`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub model: String,
    /// `curvature` or `gradient` (as nn-train's `--lr-scale-rule`).
    pub rule: String,
    /// The checkpoint's share of training, as given.
    pub fraction: f64,
    /// The blocks, in the order of the initial file, and each one's factor
    /// at initialization and at the checkpoint.
    pub blocks: Vec<String>,
    pub initial: Vec<f64>,
    pub later: Vec<f64>,
    /// Spearman's rho between the two factor vectors (None: undefined).
    #[serde(default)]
    pub spearman: Option<f64>,
    /// max and median over blocks of |log10(later / initial)|, and the
    /// block of the max.
    pub max_abs_log10: f64,
    pub max_block: String,
    pub median_abs_log10: f64,
}
