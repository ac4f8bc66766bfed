//! `gap-study associate`: each predictor against the gaps across
//! configurations: Spearman and Kendall with bootstrap intervals over
//! configurations, and leave-one-family-out ordering.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::ValueEnum;
use cli::{Error, Result};
use predictors::score::{associations, leave_one_family_out};
use records::{Association, Gap, Predictor, Record, RecordWriter, Run};
use rng::SplitMix;

#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Files of `predictor` and `gap` records; stdin when none.
    files: Vec<PathBuf>,

    /// What is predicted: the gap in held-out loss; the mean log ratio of
    /// SGD's final loss to AdamW's over paired seeds (the gap without each
    /// task's loss scale); or the ratio of updates SGD needs over AdamW's to
    /// reach AdamW's loss at T/2 (never reaching it ranks as infinite).
    #[arg(long, value_enum, default_value_t = Target::Gap)]
    target: Target,

    /// Bootstrap replicates over configurations.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    bootstrap: usize,

    /// Seed of the resampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Also write every (configuration, predictor) point as CSV rows to FILE,
    /// for the scatter plots: model, family, predictor, value, its 90%
    /// interval, the target and its 90% interval.
    #[arg(long, value_name = "FILE")]
    points: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Target {
    Gap,
    LogRatio,
    StepsRatio,
}

pub fn run(args: &Args) -> Result<()> {
    if args.bootstrap < 2 {
        return Err(Error::usage("--bootstrap must be at least 2"));
    }
    let mut gaps: BTreeMap<String, Gap> = BTreeMap::new();
    let mut preds: Vec<Predictor> = Vec::new();
    let summary = cli::read_records(&args.files, &["predictor", "gap"], None, |line| {
        if line.kind == "gap" {
            let g: Gap = line.parse()?;
            if gaps.contains_key(&g.model) {
                return Err(Error::invalid(format!("{}: a second `gap` record of `{}`", line.location(), g.model)));
            }
            gaps.insert(g.model.clone(), g);
        } else {
            let p: Predictor = line.parse()?;
            if preds.iter().any(|q| q.model == p.model && q.predictor == p.predictor) {
                return Err(Error::invalid(format!(
                    "{}: a second `{}` predictor of `{}`",
                    line.location(),
                    p.predictor,
                    p.model
                )));
            }
            preds.push(p);
        }
        Ok(())
    })?;
    summary.require("`predictor` and `gap`")?;
    // SGD never reaching AdamW's T/2 loss is the largest deficit of all,
    // not a missing value: it ranks as an infinite ratio.
    let mut log_ratios: BTreeMap<&str, (f64, [f64; 2])> = BTreeMap::new();
    if args.target == Target::LogRatio {
        for g in gaps.values() {
            let r = predictors::gap::log_ratio(&g.sgd_losses, &g.adamw_losses)
                .map_err(|e| Error::invalid(format!("`gap` record of `{}`: {e}", g.model)))?;
            log_ratios.insert(&g.model, r);
        }
    }
    let target = |g: &Gap| -> Option<(f64, [f64; 2])> {
        match (args.target, g.steps_ratio) {
            (Target::Gap, _) => Some((g.gap, g.ci90)),
            (Target::LogRatio, _) => log_ratios.get(g.model.as_str()).copied(),
            (Target::StepsRatio, Some(r)) => Some((r, [r, r])),
            (Target::StepsRatio, None) if !g.sgd_reached => Some((f64::INFINITY, [f64::INFINITY; 2])),
            (Target::StepsRatio, None) => None,
        }
    };
    let without_gap: Vec<&str> = {
        let mut m: Vec<&str> =
            preds.iter().filter(|p| !gaps.contains_key(&p.model)).map(|p| p.model.as_str()).collect();
        m.dedup();
        m
    };
    if !without_gap.is_empty() {
        eprintln!("{}: note: no `gap` record for {}: left out", crate::TOOL, without_gap.join(", "));
    }
    // Predictors in the order they first appear.
    let mut names: Vec<String> = Vec::new();
    for p in &preds {
        if !names.contains(&p.predictor) {
            names.push(p.predictor.clone());
        }
    }
    let mut out = RecordWriter::stdout();
    out.write(&Record::Run(Run::for_tool(crate::TOOL, Some(args.seed))))?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for name in &names {
        let (mut x, mut y, mut fam) = (Vec::new(), Vec::new(), Vec::new());
        for p in preds.iter().filter(|p| &p.predictor == name) {
            let Some(g) = gaps.get(&p.model) else { continue };
            let Some((t, t_ci)) = target(g) else { continue };
            x.push(p.value);
            y.push(t);
            fam.push(g.family.as_str());
            let ci = p.ci90.unwrap_or([p.value, p.value]);
            rows.push(
                [&p.model, &g.family, name]
                    .iter()
                    .map(|s| s.to_string())
                    .chain([p.value, ci[0], ci[1], t, t_ci[0], t_ci[1]].iter().map(|v| v.to_string()))
                    .collect(),
            );
        }
        if x.len() < 3 {
            return Err(Error::invalid(format!(
                "predictor `{name}`: {} configurations with a gap, need at least 3",
                x.len()
            )));
        }
        let mut rng = SplitMix::new(rng::derive_seed(args.seed, &[name.as_bytes()]));
        let (rho, tau, used) = associations(&x, &y, args.bootstrap, &mut rng);
        let (lofo, lofo_pairs) = leave_one_family_out(&x, &y, &fam);
        let defined = |v: f64| v.is_finite().then_some(v);
        let interval = |c: [f64; 2]| (c[0].is_finite() && c[1].is_finite()).then_some(c);
        out.write(&Record::Association(Association {
            predictor: name.clone(),
            n: x.len() as u64,
            spearman: defined(rho.value),
            spearman_ci90: interval(rho.ci90),
            kendall: defined(tau.value),
            kendall_ci90: interval(tau.ci90),
            lofo_concordance: lofo,
            lofo_pairs,
            replicates: used as u64,
            never: y.iter().filter(|v| v.is_infinite()).count() as u64,
        }))?;
    }
    if let Some(path) = &args.points {
        let header =
            ["model", "family", "predictor", "value", "value_lo", "value_hi", "target", "target_lo", "target_hi"];
        let text = cli::csv_text(Some(&header), &rows)?;
        std::fs::write(path, text).map_err(|e| Error::invalid(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}
