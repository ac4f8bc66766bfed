//! `gap-study gap`: one configuration's SGD-AdamW gap from its nn-train
//! runs: each optimizer's grid (its `best` record and the run at that
//! rate, seed 0) and its runs at the best rate with further seeds.

use std::path::{Path, PathBuf};

use cli::{Error, Result};
use predictors::gap::{estimate, Curve};
use records::{Best, Gap, Record, RecordWriter, Run, Step, TrainSummary};

#[derive(clap::Args, Debug)]
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

    /// SGD at its best rate with another seed (nn-train --lr output), in seed order. Repeatable.
    #[arg(long, value_name = "FILE")]
    sgd_seed: Vec<PathBuf>,

    /// AdamW's grid, as --sgd.
    #[arg(long, value_name = "FILE")]
    adamw: PathBuf,

    /// AdamW at its best rate with another seed, as --sgd-seed.
    #[arg(long, value_name = "FILE")]
    adamw_seed: Vec<PathBuf>,

    /// AdamW has flattened when its held-out loss at T is within this
    /// fraction of its loss at T/2 (means over seeds).
    #[arg(long, default_value_t = 0.02)]
    tolerance: f64,
}

/// What one nn-train output holds.
#[derive(Default)]
struct Runs {
    steps: Vec<Step>,
    summaries: Vec<TrainSummary>,
    best: Option<Best>,
}

fn read(file: &PathBuf) -> Result<Runs> {
    let mut r = Runs::default();
    cli::read_records(std::slice::from_ref(file), &["step", "summary", "best"], None, |line| {
        match line.kind.as_str() {
            "step" => r.steps.push(line.parse()?),
            "summary" => r.summaries.push(line.parse()?),
            _ => r.best = Some(line.parse()?),
        }
        Ok(())
    })?;
    Ok(r)
}

/// The held-out curve and summary of the run at rate `lr` in `runs`.
fn run_at(runs: &Runs, lr: f64, file: &Path) -> Result<(Curve, TrainSummary)> {
    let summary = runs
        .summaries
        .iter()
        .find(|s| s.lr == lr)
        .cloned()
        .ok_or_else(|| Error::invalid(format!("{}: no `summary` record of the run at lr {lr}", file.display())))?;
    let evals = runs.steps.iter().filter(|s| s.lr == lr).filter_map(|s| s.heldout_loss.map(|l| (s.step, l))).collect();
    Ok((Curve { evals }, summary))
}

/// One optimizer's best rate, whether it is interior, and its runs per seed.
fn optimizer(grid: &PathBuf, seeds: &[PathBuf]) -> Result<(f64, bool, Vec<Curve>, TrainSummary)> {
    let runs = read(grid)?;
    let best = runs.best.clone().ok_or_else(|| {
        Error::invalid(format!("{}: no `best` record (an nn-train --lr-grid output is expected)", grid.display()))
    })?;
    let interior = best.placement.as_deref() == Some("interior");
    let (curve, summary) = run_at(&runs, best.lr, grid)?;
    let mut curves = vec![curve];
    for f in seeds {
        let (c, s) = run_at(&read(f)?, best.lr, f)?;
        if (s.steps, s.batch_size) != (summary.steps, summary.batch_size) {
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
    }
    Ok((best.lr, interior, curves, summary))
}

pub fn run(args: &Args) -> Result<()> {
    if !(args.tolerance.is_finite() && args.tolerance > 0.0) {
        return Err(Error::usage(format!("--tolerance must be positive, got {}", args.tolerance)));
    }
    let (sgd_lr, sgd_inside, sgd, s) = optimizer(&args.sgd, &args.sgd_seed)?;
    let (adamw_lr, adamw_inside, adamw, a) = optimizer(&args.adamw, &args.adamw_seed)?;
    if (s.steps, s.batch_size) != (a.steps, a.batch_size) {
        return Err(Error::invalid(format!(
            "SGD ran {} updates at batch {}, AdamW {} at batch {}: not one configuration",
            s.steps, s.batch_size, a.steps, a.batch_size
        )));
    }
    let label = args.label.clone().unwrap_or_else(|| s.model.clone());
    let g = estimate(&sgd, &adamw, s.steps, args.tolerance)
        .map_err(|e| Error::invalid(format!("configuration `{label}`: {e}")))?;
    let mut out = RecordWriter::stdout();
    out.write(&Record::Run(Run::for_tool(crate::TOOL, None)))?;
    out.write(&Record::Gap(Gap {
        model: label,
        family: args.family.clone(),
        batch_size: s.batch_size,
        steps: s.steps,
        sgd_lr,
        adamw_lr,
        sgd_losses: g.sgd_losses,
        adamw_losses: g.adamw_losses,
        gap: g.gap,
        ci90: g.ci90,
        steps_ratio: g.steps_ratio,
        flattened: g.flattened,
        flatten_change: g.flatten_change,
        interior: sgd_inside && adamw_inside,
    }))?;
    Ok(())
}
