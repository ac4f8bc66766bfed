//! `gap-study rescue`: how much of SGD's deficit against AdamW one
//! per-block learning-rate rule closes on one configuration. Plain SGD,
//! SGD with the rule's factors and AdamW are each measured as `gap` does
//! (rate from the grid's seed-0 run, losses from the other seeds); the
//! share closed is mean(L_sgd - L_rule) / mean(L_sgd - L_adamw) over the
//! paired seeds, with Fieller's 90% interval (`predictors::rates`). A
//! seed on which the rule's run diverged is recorded as such, and then no
//! share is given: the rule failed there, and a share over the seeds that
//! survived would flatter it.

use std::path::PathBuf;

use cli::{Error, Result};
use predictors::gap::mean_interval;
use predictors::rates::closed;
use records::{DivergedRun, Record, RecordWriter, Rescue, Run};

use crate::gap::{optimizer, Diverged, Measured};

#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// The configuration's name in the record (default: the runs' `model`).
    #[arg(long)]
    label: Option<String>,

    /// The model family it belongs to.
    #[arg(long)]
    family: String,

    /// The rule of the rescued runs' factors, as their `run` record names it
    /// (nn-train --lr-scale-rule): curvature or gradient.
    #[arg(long)]
    rule: String,

    /// Plain SGD's grid (nn-train --lr-grid output with a `best` record).
    #[arg(long, value_name = "FILE")]
    sgd: PathBuf,

    /// Plain SGD at its best rate with another seed, in seed order; at least two.
    #[arg(long, value_name = "FILE", required = true)]
    sgd_seed: Vec<PathBuf>,

    /// SGD with the rule's factors: its grid over the base rate.
    #[arg(long, value_name = "FILE")]
    rescued: PathBuf,

    /// SGD with the rule's factors at its best base rate with another seed (the same seeds).
    #[arg(long, value_name = "FILE", required = true)]
    rescued_seed: Vec<PathBuf>,

    /// AdamW's grid.
    #[arg(long, value_name = "FILE")]
    adamw: PathBuf,

    /// AdamW at its best rate with another seed (the same seeds).
    #[arg(long, value_name = "FILE", required = true)]
    adamw_seed: Vec<PathBuf>,
}

/// The final held-out loss of each seed's run (its last evaluation, which
/// must be at the last update), None where the run diverged.
fn finals(m: &Measured, who: &str) -> Result<Vec<Option<f64>>> {
    let steps = m.summary.steps;
    m.curves
        .iter()
        .zip(&m.seeds)
        .zip(&m.diverged_at)
        .map(|((c, s), diverged)| match (c.last(), diverged) {
            (_, Some(_)) => Ok(None),
            (Some((t, l)), None) if t == steps && l.is_finite() => Ok(Some(l)),
            _ => Err(Error::invalid(format!("{who}, seed {s}: no finite held-out loss at update {steps}"))),
        })
        .collect()
}

/// Losses of an optimizer whose seed runs were refused if they diverged.
fn all_finite(losses: Vec<Option<f64>>) -> Vec<f64> {
    losses.into_iter().map(|l| l.expect("divergence was refused when reading the runs")).collect()
}

pub fn run(args: &Args) -> Result<()> {
    if !["curvature", "gradient"].contains(&args.rule.as_str()) {
        return Err(Error::usage(format!("--rule must be curvature or gradient, got `{}`", args.rule)));
    }
    let sgd = optimizer("sgd", "sgd", None, &args.sgd, &args.sgd_seed, Diverged::Refused)?;
    let rescued = optimizer("sgd", "rescued", Some(&args.rule), &args.rescued, &args.rescued_seed, Diverged::Counted)?;
    let adamw = optimizer("adamw", "adamw", None, &args.adamw, &args.adamw_seed, Diverged::Refused)?;
    for (who, m) in [("SGD with the rule's factors", &rescued), ("AdamW", &adamw)] {
        if m.seeds != sgd.seeds {
            return Err(Error::invalid(format!(
                "plain SGD's runs have seeds {:?}, {who}'s {:?}: the comparison pairs them, seed by seed",
                sgd.seeds, m.seeds
            )));
        }
        let (s, o) = (&sgd.summary, &m.summary);
        if (s.model.as_str(), s.steps, s.batch_size) != (o.model.as_str(), o.steps, o.batch_size) {
            return Err(Error::invalid(format!(
                "plain SGD ran `{}` for {} updates at batch {}, {who} `{}` for {} at batch {}: not one configuration",
                s.model, s.steps, s.batch_size, o.model, o.steps, o.batch_size
            )));
        }
    }
    let label = args.label.clone().unwrap_or_else(|| sgd.summary.model.clone());
    let ls = all_finite(finals(&sgd, "plain SGD")?);
    let la = all_finite(finals(&adamw, "AdamW")?);
    let lr = finals(&rescued, "rescued SGD")?;
    let rule_diverged: Vec<DivergedRun> = rescued
        .seeds
        .iter()
        .zip(&rescued.diverged_at)
        .filter_map(|(&seed, at)| at.map(|at| DivergedRun { seed, at }))
        .collect();
    let c = match lr.iter().copied().collect::<Option<Vec<f64>>>() {
        Some(finite) => {
            Some(closed(&ls, &finite, &la).map_err(|e| Error::invalid(format!("configuration `{label}`: {e}")))?)
        }
        None => None,
    };
    // Plain SGD's gap stands on its own when the rule has nothing to pair.
    let gap: Vec<f64> = ls.iter().zip(&la).map(|(s, a)| s - a).collect();
    let (gap_plain, gap_plain_ci90) =
        c.as_ref().map_or_else(|| mean_interval(&gap), |c| (c.gap_plain, c.gap_plain_ci90));
    let mut out = RecordWriter::stdout();
    out.write(&Record::Run(Run::for_tool(crate::TOOL, None)))?;
    out.write(&Record::Rescue(Rescue {
        model: label,
        family: args.family.clone(),
        rule: args.rule.clone(),
        batch_size: sgd.summary.batch_size,
        steps: sgd.summary.steps,
        sgd_lr: sgd.lr,
        rule_lr: rescued.lr,
        adamw_lr: adamw.lr,
        seeds: sgd.seeds.clone(),
        sgd_losses: ls,
        rule_losses: lr,
        adamw_losses: la,
        rule_diverged,
        gap_plain,
        gap_plain_ci90,
        gap_rule: c.as_ref().map(|c| c.gap_rule),
        gap_rule_ci90: c.as_ref().map(|c| c.gap_rule_ci90),
        closed: c.as_ref().map(|c| c.closed),
        closed_ci90: c.as_ref().map(|c| c.closed_ci90),
        fraction: c.as_ref().map(|c| c.fraction),
        fraction_ci90: c.and_then(|c| c.fraction_ci90),
        interior: sgd.interior && rescued.interior && adamw.interior,
    }))?;
    Ok(())
}
