//! `gap-study rescue`: how much of SGD's deficit against AdamW one
//! per-block learning-rate rule closes on one configuration. Plain SGD,
//! SGD with the rule's factors and AdamW are each measured as `gap` does
//! (rate from the grid's seed-0 run, losses from the other seeds); the
//! share closed is mean(L_sgd - L_rule) / mean(L_sgd - L_adamw) over the
//! paired seeds, with Fieller's 90% interval (`predictors::rates`).

use std::path::PathBuf;

use cli::{Error, Result};
use predictors::rates::closed;
use records::{Record, RecordWriter, Rescue, Run};

use crate::gap::{optimizer, Measured};

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
/// must be at the last update).
fn finals(m: &Measured, who: &str) -> Result<Vec<f64>> {
    let steps = m.summary.steps;
    m.curves
        .iter()
        .zip(&m.seeds)
        .map(|(c, s)| match c.last() {
            Some((t, l)) if t == steps && l.is_finite() => Ok(l),
            _ => Err(Error::invalid(format!("{who}, seed {s}: no finite held-out loss at update {steps}"))),
        })
        .collect()
}

pub fn run(args: &Args) -> Result<()> {
    if !["curvature", "gradient"].contains(&args.rule.as_str()) {
        return Err(Error::usage(format!("--rule must be curvature or gradient, got `{}`", args.rule)));
    }
    let sgd = optimizer("sgd", "sgd", None, &args.sgd, &args.sgd_seed)?;
    let rescued = optimizer("sgd", "rescued", Some(&args.rule), &args.rescued, &args.rescued_seed)?;
    let adamw = optimizer("adamw", "adamw", None, &args.adamw, &args.adamw_seed)?;
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
    let (ls, lr, la) = (finals(&sgd, "plain SGD")?, finals(&rescued, "rescued SGD")?, finals(&adamw, "AdamW")?);
    let c = closed(&ls, &lr, &la).map_err(|e| Error::invalid(format!("configuration `{label}`: {e}")))?;
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
        gap_plain: c.gap_plain,
        gap_plain_ci90: c.gap_plain_ci90,
        gap_rule: c.gap_rule,
        gap_rule_ci90: c.gap_rule_ci90,
        closed: c.closed,
        closed_ci90: c.closed_ci90,
        fraction: c.fraction,
        fraction_ci90: c.fraction_ci90,
        interior: sgd.interior && rescued.interior && adamw.interior,
    }))?;
    Ok(())
}
