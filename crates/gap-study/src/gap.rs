//! `gap-study gap`: one configuration's SGD-AdamW gap from its nn-train
//! runs: each optimizer's grid (its `best` record: the rate) and its runs
//! at that rate with further seeds (the measurement). The grid's own run is
//! left out of the gap: it is the minimum over the grid, so it is biased
//! towards the optimizer whose grid was larger or noisier.

use std::path::{Path, PathBuf};

use cli::{Error, Result};
use predictors::gap::{estimate, Curve};
use records::{Best, Gap, LrScale, Record, RecordWriter, Run, Step, TrainSummary};

#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// The configuration's name in the `gap` record (default: the runs' `model`).
    #[arg(long)]
    label: Option<String>,

    /// The model family it belongs to (leave-one-family-out holds families out).
    #[arg(long)]
    family: String,

    /// SGD's grid: nn-train --lr-grid output with a `best` record.
    #[arg(long, value_name = "FILE")]
    sgd: PathBuf,

    /// SGD at its best rate with another seed (nn-train --lr output, an
    /// --init-seed other than the grid's), in seed order. At least two.
    #[arg(long, value_name = "FILE", required = true)]
    sgd_seed: Vec<PathBuf>,

    /// AdamW's grid, as --sgd.
    #[arg(long, value_name = "FILE")]
    adamw: PathBuf,

    /// AdamW at its best rate with another seed, as --sgd-seed (the same seeds).
    #[arg(long, value_name = "FILE", required = true)]
    adamw_seed: Vec<PathBuf>,

    /// AdamW has flattened when its held-out loss at T is within this
    /// fraction of its loss at T/2 (means over seeds).
    #[arg(long, default_value_t = 0.02)]
    tolerance: f64,
}

/// What one nn-train output holds.
#[derive(Default)]
pub(crate) struct Runs {
    steps: Vec<Step>,
    summaries: Vec<TrainSummary>,
    best: Option<Best>,
    /// The --init-seed of its `run` record (0 when not given).
    init_seed: u64,
    /// Its per-block learning-rate factors and their rule (`run` record).
    lr_scale: Option<Vec<LrScale>>,
    lr_scale_rule: Option<String>,
}

fn read(file: &PathBuf) -> Result<Runs> {
    let mut r = Runs::default();
    cli::read_records(std::slice::from_ref(file), &["run", "step", "summary", "best"], None, |line| {
        match line.kind.as_str() {
            "run" => {
                let run: Run = line.parse()?;
                r.lr_scale = run.lr_scale.clone();
                r.lr_scale_rule = run.lr_scale_rule.clone();
                let at = run.args.iter().position(|a| a == "--init-seed");
                if let Some(v) = at.and_then(|i| run.args.get(i + 1)) {
                    r.init_seed = v
                        .parse()
                        .map_err(|_| Error::invalid(format!("{}: --init-seed {v} is not a seed", line.location())))?;
                }
            }
            "step" => r.steps.push(line.parse()?),
            "summary" => r.summaries.push(line.parse()?),
            _ => r.best = Some(line.parse()?),
        }
        Ok(())
    })?;
    Ok(r)
}

/// The held-out curve and summary of `optimizer`'s run at rate `lr` in
/// `runs`; a diverged run is an error unless `diverged` allows it.
fn run_at(runs: &Runs, optimizer: &str, lr: f64, file: &Path, diverged: Diverged) -> Result<(Curve, TrainSummary)> {
    let summary = runs.summaries.iter().find(|s| s.lr == lr && s.optimizer == optimizer).cloned().ok_or_else(|| {
        Error::invalid(format!("{}: no `summary` record of a {optimizer} run at lr {lr}", file.display()))
    })?;
    if let (Some(step), Diverged::Refused) = (summary.diverged_at, diverged) {
        return Err(Error::invalid(format!(
            "{}: {optimizer} diverged at update {step} at its best rate {lr}: no final loss to compare",
            file.display()
        )));
    }
    let evals = runs.steps.iter().filter(|s| s.lr == lr).filter_map(|s| s.heldout_loss.map(|l| (s.step, l))).collect();
    Ok((Curve { evals }, summary))
}

/// Whether a seed run that diverged is refused or measured as diverged.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Diverged {
    Refused,
    Counted,
}

/// One optimizer on one configuration.
pub(crate) struct Measured {
    /// Its best rate, and whether the grid bracketed it.
    pub lr: f64,
    pub interior: bool,
    /// The runs at that rate, one per seed (the grid's own run left out), and their seeds.
    pub curves: Vec<Curve>,
    pub seeds: Vec<u64>,
    /// Per seed, the update where its run diverged (its curve then ends
    /// before the last update); all None unless `Diverged::Counted`.
    pub diverged_at: Vec<Option<u64>>,
    /// The grid's summary at the best rate (steps, batch, model).
    pub summary: TrainSummary,
}

/// Whether `runs` (from `file`) has per-block rates by `rule` (None: none
/// at all), so that plain and rescued runs cannot be swapped.
fn check_rule(runs: &Runs, rule: Option<&str>, file: &Path) -> Result<()> {
    let has = runs.lr_scale.as_ref().map(|_| runs.lr_scale_rule.as_deref().unwrap_or("--lr-scale"));
    if has == rule {
        return Ok(());
    }
    let say = |r: Option<&str>| r.map_or("one learning rate".to_string(), |r| format!("per-block rates by `{r}`"));
    Err(Error::invalid(format!("{}: a run with {}, expected {}", file.display(), say(has), say(rule))))
}

/// Optimizer `name`'s measurement from its grid and its seed files (`flag`
/// names them in messages), all with per-block rates by `rule` or, for
/// None, with one rate. The grid's run at its best rate never diverged
/// (nn-train's rule); a seed run that did is handled as `diverged` says.
pub(crate) fn optimizer(
    name: &str,
    flag: &str,
    rule: Option<&str>,
    grid: &PathBuf,
    seeds: &[PathBuf],
    diverged: Diverged,
) -> Result<Measured> {
    if seeds.len() < 2 {
        return Err(Error::usage(format!(
            "--{flag}-seed: give at least two runs at the best rate (the grid's own run is not part of the gap)"
        )));
    }
    let runs = read(grid)?;
    check_rule(&runs, rule, grid)?;
    let best = runs.best.clone().ok_or_else(|| {
        Error::invalid(format!("{}: no `best` record (an nn-train --lr-grid output is expected)", grid.display()))
    })?;
    if best.optimizer != name {
        return Err(Error::invalid(format!("{}: a grid of {}, not of {name}", grid.display(), best.optimizer)));
    }
    let interior = best.placement.as_deref() == Some("interior");
    let (_, summary) = run_at(&runs, name, best.lr, grid, Diverged::Refused)?;
    let mut curves = Vec::new();
    let mut diverged_at = Vec::new();
    let mut used = vec![runs.init_seed];
    for f in seeds {
        let r = read(f)?;
        check_rule(&r, rule, f)?;
        if r.lr_scale != runs.lr_scale {
            return Err(Error::invalid(format!(
                "{}: its learning-rate factors differ from those of the grid {}",
                f.display(),
                grid.display()
            )));
        }
        if used.contains(&r.init_seed) {
            return Err(Error::invalid(format!(
                "{}: --init-seed {} is already used by the grid or another seed file",
                f.display(),
                r.init_seed
            )));
        }
        used.push(r.init_seed);
        let (c, s) = run_at(&r, name, best.lr, f, diverged)?;
        if s.model != summary.model {
            return Err(Error::invalid(format!(
                "{}: a run of `{}`, the grid's is `{}`",
                f.display(),
                s.model,
                summary.model
            )));
        }
        // A diverged run's summary counts the updates it completed.
        let planned = if s.diverged_at.is_some_and(|at| at <= summary.steps) { summary.steps } else { s.steps };
        if (planned, s.batch_size) != (summary.steps, summary.batch_size) {
            return Err(Error::invalid(format!(
                "{}: {} updates at batch {}, but the grid ran {} at batch {}",
                f.display(),
                s.steps,
                s.batch_size,
                summary.steps,
                summary.batch_size
            )));
        }
        curves.push(c);
        diverged_at.push(s.diverged_at);
    }
    Ok(Measured { lr: best.lr, interior, curves, seeds: used.split_off(1), diverged_at, summary })
}

pub fn run(args: &Args) -> Result<()> {
    if !(args.tolerance.is_finite() && args.tolerance > 0.0) {
        return Err(Error::usage(format!("--tolerance must be positive, got {}", args.tolerance)));
    }
    let sgd = optimizer("sgd", "sgd", None, &args.sgd, &args.sgd_seed, Diverged::Refused)?;
    let adamw = optimizer("adamw", "adamw", None, &args.adamw, &args.adamw_seed, Diverged::Refused)?;
    if sgd.seeds != adamw.seeds {
        return Err(Error::invalid(format!(
            "SGD's runs have seeds {:?}, AdamW's {:?}: the gap pairs them, seed by seed",
            sgd.seeds, adamw.seeds
        )));
    }
    let (s, a) = (&sgd.summary, &adamw.summary);
    if (s.steps, s.batch_size) != (a.steps, a.batch_size) {
        return Err(Error::invalid(format!(
            "SGD ran {} updates at batch {}, AdamW {} at batch {}: not one configuration",
            s.steps, s.batch_size, a.steps, a.batch_size
        )));
    }
    let label = args.label.clone().unwrap_or_else(|| s.model.clone());
    let g = estimate(&sgd.curves, &adamw.curves, s.steps, args.tolerance)
        .map_err(|e| Error::invalid(format!("configuration `{label}`: {e}")))?;
    let mut out = RecordWriter::stdout();
    out.write(&Record::Run(Run::for_tool(crate::TOOL, None)))?;
    out.write(&Record::Gap(Gap {
        model: label,
        family: args.family.clone(),
        batch_size: s.batch_size,
        steps: s.steps,
        sgd_lr: sgd.lr,
        adamw_lr: adamw.lr,
        seeds: sgd.seeds.clone(),
        sgd_losses: g.sgd_losses,
        adamw_losses: g.adamw_losses,
        gap: g.gap,
        ci90: g.ci90,
        log_ratio: Some(g.log_ratio),
        log_ratio_ci90: Some(g.log_ratio_ci90),
        steps_ratio: g.steps_ratio,
        sgd_reached: g.sgd_reached,
        flattened: g.flattened,
        flatten_change: g.flatten_change,
        interior: sgd.interior && adamw.interior,
    }))?;
    Ok(())
}
