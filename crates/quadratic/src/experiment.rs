//! The Section 3 experiment: block eigenvalues from a case or from spectral
//! densities, the problem and start point a seed fixes, the optimizers with
//! their steps (tuned over a grid where no step is given), and the
//! `problem`, `spectrum`, `tune` and `iterate` records of a run.

use records::{Density, Iterate, Problem, ProblemBlock, Spectrum, Tune};
use rng::{derive_seed, SplitMix};

use crate::error::{positive, Error, Result};
use crate::optim::{self, Method, OptSpec, RunOptions, Step, Stop, Summary};
use crate::optimizer::{Optimizer, OptimizerRequest, StepRequest};
use crate::problem::{Quadratic, Rotation};
use crate::{cases, theory};

/// Block dimension of the cluster cases (3 and 4) unless configured.
pub const CLUSTER_BLOCK_DIM: usize = 3;
/// Number of blocks of the cluster cases unless configured.
pub const CLUSTER_BLOCKS: usize = 3;
/// Eigenvalues sampled per block from a density unless configured.
pub const SPECTRA_BLOCK_DIM: usize = 100;

/// The `density` records of one spectra file, checked as they are added.
#[derive(Debug, Clone)]
pub struct SpectraFile {
    /// Where the records came from (a path), for messages and the `source` field.
    pub label: String,
    /// (model/block, density) in file order.
    blocks: Vec<(String, Density)>,
}

impl SpectraFile {
    pub fn new(label: impl Into<String>) -> SpectraFile {
        SpectraFile { label: label.into(), blocks: Vec::new() }
    }

    /// Add one record; Err names the offending field and why (the record is
    /// malformed, or its model/block is already in the file).
    pub fn add(&mut self, d: Density) -> std::result::Result<(), (&'static str, String)> {
        d.validate()?;
        let name = format!("{}/{}", d.model, d.block);
        if self.blocks.iter().any(|(n, _)| *n == name) {
            return Err(("block", format!("block `{name}` appears twice in {}", self.label)));
        }
        self.blocks.push((name, d));
        Ok(())
    }

    /// How many blocks the file holds.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The blocks named in `picks` (`block` or `model/block`), in that
    /// order; all blocks when `picks` is empty.
    fn pick(&self, picks: &[String]) -> Result<Vec<&(String, Density)>> {
        if self.blocks.is_empty() {
            return Err(Error::Invalid(format!("{}: no `density` records", self.label)));
        }
        if picks.is_empty() {
            return Ok(self.blocks.iter().collect());
        }
        picks
            .iter()
            .map(|want| {
                self.blocks.iter().find(|(n, d)| n == want || d.block == *want).ok_or_else(|| {
                    let have: Vec<&str> = self.blocks.iter().map(|(n, _)| n.as_str()).collect();
                    Error::setting(
                        "spectra_block",
                        format!("`{want}` is not in {} (it has: {})", self.label, have.join(", ")),
                    )
                })
            })
            .collect()
    }
}

/// Where the blocks' eigenvalues come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Case 3: block l gets cluster l of [`cases::clustered_set`].
    Heterogeneous,
    /// Case 4: the clusters dealt round-robin.
    Homogeneous,
    /// Sampled from the pooled quadrature measure of densities (cases 1 and
    /// 2, or a custom problem when `case` is None), then rescaled together into
    /// [1, kappa]. `picks` chooses blocks (all when empty).
    Spectra { case: Option<u8>, file: SpectraFile, picks: Vec<String> },
}

/// What a grid search minimises when it picks a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TuneBy {
    /// Fewest steps to the stopping gap, else the smallest final loss gap.
    #[default]
    LossGap,
    /// The smallest final gradient norm (ties: fewer steps), as the paper's
    /// Figure 8 plots |grad| against the iteration.
    GradNorm,
}

impl TuneBy {
    pub const ALL: [TuneBy; 2] = [TuneBy::LossGap, TuneBy::GradNorm];

    pub fn name(self) -> &'static str {
        match self {
            TuneBy::LossGap => "loss-gap",
            TuneBy::GradNorm => "grad-norm",
        }
    }
}

impl std::str::FromStr for TuneBy {
    type Err = Error;

    fn from_str(s: &str) -> Result<TuneBy> {
        TuneBy::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| Error::setting("tune_by", format!("`{s}` is not one of loss-gap, grad-norm")))
    }
}

/// `per_decade` log-spaced values from `lo` to `hi` (both included when `hi`
/// is a whole number of steps from `lo`): lo * 10^(k / per_decade).
pub fn log_grid(lo: f64, hi: f64, per_decade: u32) -> Result<Vec<f64>> {
    positive("lr_grid", lo)?;
    positive("lr_grid", hi)?;
    if !(hi >= lo) || per_decade == 0 {
        return Err(Error::setting(
            "lr_grid",
            format!("a log grid needs 0 < lo <= hi and at least 1 point per decade, got {lo}:{hi}:{per_decade}"),
        ));
    }
    let steps = ((hi / lo).log10() * per_decade as f64 + 1e-9).floor() as u32;
    if steps > 10_000 {
        return Err(Error::setting("lr_grid", format!("{lo}:{hi}:{per_decade} has more than 10000 points")));
    }
    Ok((0..=steps).map(|k| lo * 10f64.powf(k as f64 / per_decade as f64)).collect())
}

/// Everything an experiment needs.
#[derive(Debug, Clone)]
pub struct ExperimentConfig {
    pub source: Source,
    /// Condition number of the whole H.
    pub kappa: f64,
    /// Number of blocks (None: 3 for the cluster cases, every density block otherwise).
    pub blocks: Option<usize>,
    /// Dimension of each block (None: 3 for the cluster cases, 100 otherwise).
    pub block_dim: Option<usize>,
    pub seed: u64,
    /// Each block's eigenvectors: Haar-random (the paper) or the axes.
    pub rotation: Rotation,
    /// Empty: [`Optimizer::DEFAULT`] with their default steps.
    pub optimizers: Vec<OptimizerRequest>,
    /// Step of the optimizers without a theory step (None: tune them).
    pub lr: Option<f64>,
    /// Learning rates to tune over (None: [`default_grid`]); an optimizer
    /// with a theory step is always tried at it too.
    pub lr_grid: Option<Vec<f64>>,
    /// What the grid search minimises.
    pub tune_by: TuneBy,
    pub beta1: f64,
    pub beta2: f64,
    pub iters: u64,
    /// Keep every `every`-th iterate (and always the first and last).
    pub every: u64,
    /// Stop once the loss gap falls below this fraction of the initial one.
    pub stop_rel: f64,
}

impl ExperimentConfig {
    fn validate(&self) -> Result<()> {
        if self.every == 0 {
            return Err(Error::setting("every", "must be at least 1"));
        }
        if !(self.stop_rel >= 0.0 && self.stop_rel < 1.0) {
            return Err(Error::setting("stop_rel", format!("must be in [0, 1), got {}", self.stop_rel)));
        }
        if let Some(grid) = &self.lr_grid {
            if grid.is_empty() {
                return Err(Error::setting("lr_grid", "is empty"));
            }
            for x in grid {
                positive("lr_grid", *x)?;
            }
        }
        cases::check_kappa(self.kappa)?;
        if self.blocks == Some(0) {
            return Err(Error::setting("blocks", "must be at least 1"));
        }
        if self.block_dim == Some(0) {
            return Err(Error::setting("block_dim", "must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.beta1) {
            return Err(Error::setting("beta1", format!("must be in [0, 1), got {}", self.beta1)));
        }
        if !(self.beta2 > 0.0 && self.beta2 <= 1.0) {
            return Err(Error::setting("beta2", format!("must be in (0, 1], got {}", self.beta2)));
        }
        if let Some(lr) = self.lr {
            positive("lr", lr)?;
        }
        Ok(())
    }
}

/// The requested eigenvalues of every block, their names, and where they came from.
struct Eigen {
    case: String,
    source: String,
    names: Vec<String>,
    values: Vec<Vec<f64>>,
}

fn eigenvalues(config: &ExperimentConfig) -> Result<Eigen> {
    let kappa = config.kappa;
    match &config.source {
        Source::Heterogeneous | Source::Homogeneous => {
            let homogeneous = matches!(config.source, Source::Homogeneous);
            let blocks = config.blocks.unwrap_or(CLUSTER_BLOCKS);
            let dim = config.block_dim.unwrap_or(CLUSTER_BLOCK_DIM);
            let clusters = cases::clustered_set(blocks, dim, kappa)?;
            let paper = blocks == 3 && dim == 3;
            Ok(Eigen {
                case: if homogeneous { "4" } else { "3" }.to_string(),
                source: format!(
                    "{} ({}), kappa {kappa}",
                    if homogeneous { "homogeneous round-robin of the clusters" } else { "heterogeneous clusters" },
                    if paper { "the paper's values" } else { "generalised: unit-spaced clusters at geometric levels" },
                ),
                names: cases::block_names(blocks),
                values: if homogeneous { cases::homogeneous(&clusters) } else { cases::heterogeneous(&clusters) },
            })
        }
        Source::Spectra { case, file, picks } => {
            let mut chosen = file.pick(picks)?;
            if let Some(n) = config.blocks {
                if n > chosen.len() {
                    return Err(Error::setting(
                        "blocks",
                        format!("{n} but only {} density blocks are available from {}", chosen.len(), file.label),
                    ));
                }
                chosen.truncate(n);
            }
            let dim = config.block_dim.unwrap_or(SPECTRA_BLOCK_DIM);
            let mut rng = SplitMix::new(derive_seed(config.seed, &[b"spectra"]));
            let mut values = Vec::new();
            for (name, d) in &chosen {
                values.push(
                    cases::sample_discrete(&d.nodes, &d.weights, dim, &mut rng)
                        .map_err(|e| Error::Invalid(format!("{}: block `{name}`: {e}", file.label)))?,
                );
            }
            cases::rescale_to_kappa(&mut values, kappa).map_err(|e| Error::Invalid(format!("{}: {e}", file.label)))?;
            let names: Vec<String> = chosen.iter().map(|(n, _)| n.clone()).collect();
            Ok(Eigen {
                case: case.map_or("custom".to_string(), |c| c.to_string()),
                source: format!(
                    "{dim} eigenvalues per block sampled from the pooled quadrature measure of {} ({}), \
                     then shifted and scaled together into [1, {kappa}]",
                    file.label,
                    names.join(", "),
                ),
                names,
                values,
            })
        }
    }
}

/// The `problem` record of `p` and start point `w0`: eigenvalue extremes,
/// condition numbers, Assumption 1's constants and Theorem 2's step.
pub fn problem_record(
    id: &str,
    case: &str,
    source: &str,
    seed: u64,
    rotation: Rotation,
    p: &Quadratic,
    w0: &[f64],
) -> Result<Problem> {
    let mut g0 = vec![0.0; p.dim()];
    p.grad(w0, &mut g0);
    let a1 = theory::assumption1(p, &g0)?;
    let mut blocks = Vec::new();
    for (l, b) in p.blocks.iter().enumerate() {
        let d0: Vec<f64> = g0[p.range(l)].iter().map(|x| x.abs()).collect();
        blocks.push(ProblemBlock {
            name: b.name.clone(),
            dim: b.dim(),
            lambda_min: b.lambda_min(),
            lambda_max: b.lambda_max(),
            kappa: b.kappa(),
            c1: a1.c1[l],
            c2: a1.c2[l],
            kappa_precond: theory::kappa_precond(b, &d0)?,
        });
    }
    Ok(Problem {
        problem: id.to_string(),
        case: case.to_string(),
        source: source.to_string(),
        seed,
        dim: p.dim(),
        kappa: p.kappa(),
        lambda_min: p.lambda_min(),
        lambda_max: p.lambda_max(),
        loss0: Quadratic::loss_from_grad(w0, &g0),
        grad0_norm: g0.iter().map(|x| x * x).sum::<f64>().sqrt(),
        r: a1.r,
        eta_adam: a1.eta,
        rotation: rotation.record_name().to_string(),
        blocks,
    })
}

/// The `iterate` record of one reported point of `spec`'s trajectory.
pub fn iterate_record(problem: &str, spec: &OptSpec, step: &Step) -> Iterate {
    let (beta1, beta2) = spec.betas();
    Iterate {
        problem: problem.to_string(),
        optimizer: spec.name.clone(),
        lr: spec.lr,
        beta1,
        beta2,
        t: step.t,
        loss_gap: step.loss_gap,
        grad_norm: step.grad_norm,
        dist: step.dist,
        stopped: step.stopped.map(|x| x.name().to_string()),
    }
}

/// The default learning-rate grid: 1e-4, 10^-3.5, ..., 1 for the Adam
/// variants, the same times 100 / lambda_max for the others.
pub fn default_grid(optimizer: Optimizer, lambda_max: f64) -> Vec<f64> {
    let base: Vec<f64> = (0..=8).map(|k| 10f64.powf(-4.0 + 0.5 * k as f64)).collect();
    if optimizer.is_adam() {
        base
    } else {
        base.iter().map(|x| x * 100.0 / lambda_max).collect()
    }
}

/// One optimizer of an experiment with its update rule and step (None: tune it).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub optimizer: Optimizer,
    pub method: Method,
    pub lr: Option<f64>,
}

impl Plan {
    pub fn spec(&self, lr: f64) -> OptSpec {
        OptSpec { name: self.optimizer.name().to_string(), method: self.method, lr }
    }
}

/// The result of tuning: the chosen step and one record per step tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    pub lr: f64,
    pub records: Vec<Tune>,
}

/// A built experiment: the problem, its start point and record, and the plans.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub quadratic: Quadratic,
    pub w0: Vec<f64>,
    pub problem: Problem,
    pub plans: Vec<Plan>,
    lr_grid: Option<Vec<f64>>,
    tune_by: TuneBy,
    run: RunOptions,
    every: u64,
}

impl Experiment {
    pub fn new(config: &ExperimentConfig) -> Result<Experiment> {
        config.validate()?;
        let eig = eigenvalues(config)?;
        let (p, w0) = cases::build(&eig.names, &eig.values, config.rotation, config.seed)?;
        // The paper's rotated problem keeps its plain id; an axis-aligned one
        // gets its own, so that both can be read together (theory-check).
        let id = match config.rotation {
            Rotation::Haar => format!("case{}-seed{}", eig.case, config.seed),
            Rotation::AxisAligned => format!("case{}-seed{}-rotation-none", eig.case, config.seed),
        };
        let problem = problem_record(&id, &eig.case, &eig.source, config.seed, config.rotation, &p, &w0)?;
        let requests: Vec<OptimizerRequest> = if config.optimizers.is_empty() {
            Optimizer::DEFAULT
                .iter()
                .map(|&optimizer| OptimizerRequest { optimizer, step: StepRequest::Default })
                .collect()
        } else {
            config.optimizers.clone()
        };
        let plans = requests
            .iter()
            .map(|r| Plan {
                optimizer: r.optimizer,
                method: r.optimizer.method(config.beta1, config.beta2),
                lr: match r.step {
                    StepRequest::Grid => None,
                    StepRequest::Fixed(lr) => Some(lr),
                    StepRequest::Default => r.optimizer.theory_step(&p, problem.eta_adam).or(config.lr),
                },
            })
            .collect::<Vec<Plan>>();
        // A grid that tunes nothing would be ignored without a word.
        if config.lr_grid.is_some() && plans.iter().all(|plan| plan.lr.is_some()) {
            return Err(Error::setting(
                "lr_grid",
                "tunes no optimizer: each has a fixed step (lr, NAME=LR or its theory step); \
                 drop the grid, or ask for NAME=grid",
            ));
        }
        Ok(Experiment {
            quadratic: p,
            w0,
            problem,
            plans,
            lr_grid: config.lr_grid.clone(),
            tune_by: config.tune_by,
            run: RunOptions { iters: config.iters, stop_rel: config.stop_rel },
            every: config.every,
        })
    }

    /// Every block's eigenvalues as `spectrum` records.
    pub fn spectra(&self) -> Vec<Spectrum> {
        let p = &self.problem;
        let blocks = &self.quadratic.blocks;
        blocks
            .iter()
            .map(|b| Spectrum {
                problem: p.problem.clone(),
                block: b.name.clone(),
                source: p.source.clone(),
                eigenvalues: b.eigenvalues.clone(),
            })
            .collect()
    }

    /// The learning rates `plan` is tuned over, ascending: the grid, plus the
    /// optimizer's theory step (GD's 2/(mu+L), Theorem 2's step) so that a
    /// search is never worse than the step the theory prescribes.
    pub fn grid(&self, plan: &Plan) -> Vec<f64> {
        let mut grid =
            self.lr_grid.clone().unwrap_or_else(|| default_grid(plan.optimizer, self.quadratic.lambda_max()));
        if let Some(lr) = plan.optimizer.theory_step(&self.quadratic, self.problem.eta_adam) {
            grid.push(lr);
        }
        grid.sort_by(f64::total_cmp);
        grid.dedup();
        grid
    }

    /// Run every step of the grid (calling `progress` before each) and pick
    /// the best by the configured [`TuneBy`]; diverged runs rank last.
    /// Errors when every step diverged.
    pub fn tune(&self, plan: &Plan, mut progress: impl FnMut(f64)) -> Result<Tuning> {
        let results: Vec<(f64, Summary)> = self
            .grid(plan)
            .into_iter()
            .map(|lr| {
                progress(lr);
                let s = optim::run::<std::convert::Infallible>(
                    &self.quadratic,
                    &self.w0,
                    &plan.spec(lr),
                    &self.run,
                    |_| Ok(()),
                )
                .unwrap_or_else(|e| match e {});
                (lr, s)
            })
            .collect();
        let name = plan.optimizer.name();
        let best = best_run(&results, self.tune_by).ok_or_else(|| Error::setting("lr_grid", "is empty"))?;
        if results[best].1.stopped == Some(Stop::Diverged) {
            return Err(Error::Invalid(format!("{name}: every learning rate of the grid diverged")));
        }
        let records = results
            .iter()
            .enumerate()
            .map(|(i, (lr, s))| Tune {
                problem: self.problem.problem.clone(),
                optimizer: name.to_string(),
                lr: *lr,
                final_rel_gap: s.final_rel_gap(),
                final_grad_norm: s.final_grad_norm,
                steps: s.steps,
                stopped: s.stopped.map(|x| x.name().to_string()),
                chosen: i == best,
            })
            .collect();
        Ok(Tuning { lr: results[best].0, records })
    }

    /// Run `plan` at `lr` and pass every `every`-th iterate (and the last) to `emit`.
    pub fn iterates<E>(
        &self,
        plan: &Plan,
        lr: f64,
        mut emit: impl FnMut(Iterate) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let spec = plan.spec(lr);
        let every = self.every.max(1);
        optim::run(&self.quadratic, &self.w0, &spec, &self.run, |s| {
            if s.t % every == 0 || s.last {
                emit(iterate_record(&self.problem.problem, &spec, s))?;
            }
            Ok(())
        })
        .map(|_| ())
    }
}

/// The index of the best run: not diverged first; then, by loss gap, runs
/// that converged (fewest steps first) and the rest by final relative loss
/// gap; by gradient norm, the smallest final norm (ties: fewest steps).
fn best_run(results: &[(f64, Summary)], by: TuneBy) -> Option<usize> {
    let rank = |s: &Summary| {
        let converged = s.stopped == Some(Stop::Converged);
        match by {
            TuneBy::LossGap => {
                (s.stopped == Some(Stop::Diverged), !converged, if converged { s.steps } else { 0 }, s.final_rel_gap())
            }
            TuneBy::GradNorm => (s.stopped == Some(Stop::Diverged), false, 0, s.final_grad_norm),
        }
    };
    results
        .iter()
        .enumerate()
        .min_by(|a, b| {
            let (ka, kb) = (rank(&a.1 .1), rank(&b.1 .1));
            ka.0.cmp(&kb.0)
                .then(ka.1.cmp(&kb.1))
                .then(ka.2.cmp(&kb.2))
                .then(ka.3.total_cmp(&kb.3))
                .then(a.1 .1.steps.cmp(&b.1 .1.steps))
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(source: Source) -> ExperimentConfig {
        ExperimentConfig {
            source,
            kappa: 2000.0,
            blocks: None,
            block_dim: None,
            seed: 0,
            rotation: Rotation::Haar,
            optimizers: Vec::new(),
            lr: None,
            lr_grid: None,
            tune_by: TuneBy::LossGap,
            beta1: 0.9,
            beta2: 0.999,
            iters: 200,
            every: 10,
            stop_rel: 1e-30,
        }
    }

    fn density(block: &str, nodes: &[f64], weights: &[f64]) -> Density {
        Density {
            model: "m".into(),
            block: block.into(),
            dim: nodes.len() as u64,
            probes: 1,
            nodes: nodes.to_vec(),
            weights: weights.to_vec(),
            node_probe: vec![0; nodes.len()],
            axis: "linear".into(),
            scale: 1.0,
            log_floor: None,
            sigma: 0.1,
            sigma_mode: "absolute".into(),
            grid: vec![0.0, 1.0],
            density: vec![0.5, 0.5],
            lambda_min: nodes[0],
            lambda_max: nodes[nodes.len() - 1],
            trace: 1.0,
        }
    }

    #[test]
    fn case3_problem_has_the_papers_constants() {
        let e = Experiment::new(&config(Source::Heterogeneous)).unwrap();
        let p = &e.problem;
        assert_eq!((p.problem.as_str(), p.case.as_str(), p.dim), ("case3-seed0", "3", 9));
        assert_eq!((p.lambda_min, p.lambda_max, p.kappa), (1.0, 2000.0, 2000.0));
        let kappas: Vec<f64> = p.blocks.iter().map(|b| b.kappa).collect();
        assert_eq!(kappas, [3.0, 101.0 / 99.0, 2000.0 / 1998.0]);
        // Theorem 2's step is min_l c1_l and r = max_l (c2_l / c1_l)^2 by definition.
        let c1 = p.blocks.iter().map(|b| b.c1).fold(f64::INFINITY, f64::min);
        assert_eq!(p.eta_adam, c1);
        let r = p.blocks.iter().map(|b| (b.c2 / b.c1).powi(2)).fold(0.0, f64::max);
        assert_eq!(p.r, r);
        assert_eq!(e.spectra()[2].eigenvalues, [1998.0, 1999.0, 2000.0]);
    }

    #[test]
    fn default_plans_use_the_theory_steps_and_tune_the_rest() {
        let e = Experiment::new(&config(Source::Homogeneous)).unwrap();
        let plans: Vec<(Optimizer, Option<f64>)> = e.plans.iter().map(|p| (p.optimizer, p.lr)).collect();
        assert_eq!(
            plans,
            [
                (Optimizer::Gd, Some(2.0 / 2001.0)),
                (Optimizer::Bgd, Some(1.0)),
                (Optimizer::AdamFrozen, Some(e.problem.eta_adam)),
                (Optimizer::Adam, None),
            ]
        );
        let t = e.tune(&e.plans[3], |_| {}).unwrap();
        assert_eq!(t.records.len(), 9);
        assert_eq!(t.records.iter().filter(|r| r.chosen).count(), 1);
        assert!(t.records.iter().any(|r| r.chosen && r.lr == t.lr));
    }

    #[test]
    fn iterates_are_thinned_but_keep_the_last() {
        let mut c = config(Source::Heterogeneous);
        c.optimizers = vec!["gd=0.0001".parse().unwrap()];
        let e = Experiment::new(&c).unwrap();
        let mut ts = Vec::new();
        e.iterates(&e.plans[0], 0.0001, |it| {
            ts.push(it.t);
            Ok::<(), ()>(())
        })
        .unwrap();
        let expected: Vec<u64> = (0..=200).step_by(10).collect();
        assert_eq!(ts, expected);
    }

    #[test]
    fn a_grid_that_only_diverges_is_an_error() {
        let mut c = config(Source::Heterogeneous);
        // sgd-momentum has no theory step that the grid would gain.
        c.optimizers = vec!["sgd-momentum=grid".parse().unwrap()];
        c.lr_grid = Some(vec![1.0, 10.0]);
        let e = Experiment::new(&c).unwrap();
        assert!(matches!(e.tune(&e.plans[0], |_| {}), Err(Error::Invalid(m)) if m.contains("diverged")));
    }

    #[test]
    fn spectra_are_sampled_and_scaled_into_one_to_kappa() {
        let mut file = SpectraFile::new("test.jsonl");
        file.add(density("a", &[0.1, 1.0, 10.0], &[0.5, 0.25, 0.25])).unwrap();
        file.add(density("b", &[2.0, 3.0], &[0.5, 0.5])).unwrap();
        assert_eq!(file.add(density("b", &[2.0], &[1.0])).unwrap_err().0, "block", "duplicates are refused");
        assert_eq!(file.add(density("c", &[2.0, 3.0], &[0.5, 0.6])).unwrap_err().0, "weights");
        let mut c = config(Source::Spectra { case: None, file: file.clone(), picks: vec!["b".into(), "m/a".into()] });
        c.block_dim = Some(20);
        let e = Experiment::new(&c).unwrap();
        assert_eq!(e.problem.case, "custom");
        assert_eq!((e.problem.lambda_min, e.problem.lambda_max), (1.0, 2000.0));
        let names: Vec<&str> = e.quadratic.blocks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["m/b", "m/a"]);
        c.source = Source::Spectra { case: Some(1), file, picks: vec!["nope".into()] };
        let err = Experiment::new(&c).unwrap_err();
        assert!(
            matches!(&err, Error::Setting { setting: "spectra_block", message } if message.contains("m/a, m/b")),
            "{err:?}"
        );
    }

    /// GD's gradient norm after t steps in closed form: in each block's
    /// eigenbasis, g_t = Lambda (1 - eta Lambda)^t Q^T w0.
    fn gd_grad_norm(e: &Experiment, lr: f64, t: u64) -> f64 {
        let mut sum = 0.0;
        for (l, b) in e.quadratic.blocks.iter().enumerate() {
            let w = &e.w0[e.quadratic.range(l)];
            let d = b.dim();
            for (k, lambda) in b.eigenvalues.iter().enumerate() {
                let coord: f64 = (0..d).map(|i| b.q[i * d + k] * w[i]).sum();
                sum += (lambda * (1.0 - lr * lambda).powi(t as i32) * coord).powi(2);
            }
        }
        sum.sqrt()
    }

    #[test]
    fn gd_grid_search_by_grad_norm_picks_the_closed_form_minimum() {
        let mut c = config(Source::Homogeneous);
        c.optimizers = vec!["gd=grid".parse().unwrap()];
        c.lr_grid = Some(log_grid(1e-5, 1e-3, 4).unwrap());
        c.tune_by = TuneBy::GradNorm;
        c.stop_rel = 0.0;
        let e = Experiment::new(&c).unwrap();
        let grid = e.grid(&e.plans[0]);
        assert!(grid.contains(&(2.0 / 2001.0)), "GD's theory step is always tried: {grid:?}");
        let t = e.tune(&e.plans[0], |_| {}).unwrap();
        assert_eq!(t.records.len(), grid.len());
        let mut best = (f64::INFINITY, 0.0);
        for r in &t.records {
            if r.stopped.as_deref() == Some("diverged") {
                assert!(r.lr * 2000.0 > 2.0, "only steps above 2/L diverge: {}", r.lr);
                continue;
            }
            let exact = gd_grad_norm(&e, r.lr, r.steps);
            assert!((r.final_grad_norm - exact).abs() <= 1e-9 * exact, "lr {}: {} vs {exact}", r.lr, r.final_grad_norm);
            if exact < best.0 {
                best = (exact, r.lr);
            }
        }
        assert_eq!(t.lr, best.1);
        assert!(t.lr != 2.0 / 2001.0, "the worst-case-optimal step is not the best after 200 steps");
    }

    #[test]
    fn ranking_by_grad_norm_puts_diverged_runs_last() {
        let s = |final_grad_norm: f64, stopped: Option<Stop>| Summary {
            steps: 10,
            loss0: 1.0,
            final_loss: final_grad_norm,
            final_grad_norm,
            stopped,
        };
        let runs = [(1.0, s(1e-3, Some(Stop::Diverged))), (2.0, s(0.5, None)), (3.0, s(0.1, None))];
        assert_eq!(best_run(&runs, TuneBy::GradNorm), Some(2));
        let runs = [(1.0, s(0.1, Some(Stop::Diverged))), (2.0, s(0.2, Some(Stop::Converged))), (3.0, s(0.0, None))];
        assert_eq!(best_run(&runs, TuneBy::LossGap), Some(1), "loss gap: converged runs first");
        assert_eq!(best_run(&runs, TuneBy::GradNorm), Some(2));
        assert_eq!("grad-norm".parse::<TuneBy>().unwrap(), TuneBy::GradNorm);
        assert!(matches!("norm".parse::<TuneBy>(), Err(Error::Setting { setting: "tune_by", .. })));
    }

    #[test]
    fn log_grids_are_exact_decades() {
        let g = log_grid(1e-2, 1.0, 2).unwrap();
        assert_eq!(g.len(), 5);
        for (x, want) in g.iter().zip([1e-2, 10f64.powf(-1.5), 1e-1, 10f64.powf(-0.5), 1.0]) {
            assert!((x - want).abs() <= 1e-15 * want, "{x} vs {want}");
        }
        assert_eq!(log_grid(0.5, 0.5, 3).unwrap(), [0.5]);
        for bad in [log_grid(1.0, 0.1, 2), log_grid(0.0, 1.0, 2), log_grid(0.1, 1.0, 0), log_grid(1e-300, 1e300, 100)] {
            assert!(matches!(bad, Err(Error::Setting { setting: "lr_grid", .. })), "{bad:?}");
        }
    }

    #[test]
    fn bad_settings_name_the_setting() {
        for (c, setting) in [
            (ExperimentConfig { every: 0, ..config(Source::Heterogeneous) }, "every"),
            (ExperimentConfig { kappa: 0.5, ..config(Source::Heterogeneous) }, "kappa"),
            (ExperimentConfig { beta2: 0.0, ..config(Source::Heterogeneous) }, "beta2"),
            (ExperimentConfig { lr_grid: Some(vec![]), ..config(Source::Heterogeneous) }, "lr_grid"),
        ] {
            let e = Experiment::new(&c).unwrap_err();
            assert!(matches!(e, Error::Setting { setting: s, .. } if s == setting), "{setting}: {e:?}");
        }
        let small = ExperimentConfig { kappa: 50.0, ..config(Source::Heterogeneous) };
        assert!(matches!(Experiment::new(&small), Err(Error::Config(m)) if m.contains("too small")));
    }
}
