//! `gap-study drift`: whether initialization's per-block learning-rate
//! factors stay a good guide during training. The factors of each rule
//! (`predictors::rates`: curvature from `density` records, gradient from
//! `gradient` records) at initialization against those from hvp-dump on
//! checkpoints: Spearman's rho between the factor vectors and the largest
//! and median |log10| of their ratios.

use std::path::{Path, PathBuf};

use cli::{Error, Result};
use predictors::rates::{drift, equalizing_factors, rms, Rule};
use records::{Density, Drift, Gradient, Record, RecordWriter, Run};

#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// The configuration's name in the records (default: the blocks' `model`).
    #[arg(long)]
    label: Option<String>,

    /// hvp-dump --gradients | slq-density at initialization.
    #[arg(long, value_name = "FILE")]
    initial: PathBuf,

    /// The same on a checkpoint after this share of training, e.g.
    /// 0.25=at25.density.jsonl; repeatable.
    #[arg(long, value_name = "FRACTION=FILE", required = true, value_parser = parse_at)]
    at: Vec<(f64, PathBuf)>,
}

fn parse_at(text: &str) -> std::result::Result<(f64, PathBuf), String> {
    let (f, file) =
        text.split_once('=').ok_or_else(|| format!("`{text}`: expected FRACTION=FILE, e.g. 0.25=a.jsonl"))?;
    let f: f64 = f.trim().parse().map_err(|_| format!("`{text}`: `{f}` is not a number"))?;
    if !(0.0..=1.0).contains(&f) {
        return Err(format!("`{text}`: the fraction must be in [0, 1]"));
    }
    if file.is_empty() {
        return Err(format!("`{text}`: no file after `=`"));
    }
    Ok((f, PathBuf::from(file)))
}

/// One file's blocks: (name, lambda_max) and (name, RMS gradient), in file
/// order, and the model they belong to.
#[derive(Default)]
struct Blocks {
    model: Option<String>,
    curvature: Vec<(String, f64)>,
    gradient: Vec<(String, f64)>,
}

fn read(file: &PathBuf) -> Result<Blocks> {
    let mut b = Blocks::default();
    cli::read_records(std::slice::from_ref(file), &["density", "gradient"], None, |line| {
        let (model, block, value, into) = match line.kind.as_str() {
            "density" => {
                let d: Density = line.parse()?;
                (d.model, d.block, d.lambda_max, &mut b.curvature)
            }
            _ => {
                let g: Gradient = line.parse()?;
                (g.model, g.block, rms(g.norm, g.dim), &mut b.gradient)
            }
        };
        if into.iter().any(|(n, _)| *n == block) {
            return Err(Error::invalid(format!(
                "{}: a second `{}` record of block `{block}`",
                line.location(),
                line.kind
            )));
        }
        into.push((block, value));
        match &b.model {
            Some(m) if *m != model => {
                Err(Error::invalid(format!("{}: model `{model}`, earlier records are of `{m}`", line.location())))
            }
            Some(_) => Ok(()),
            None => {
                b.model = Some(model);
                Ok(())
            }
        }
    })?;
    Ok(b)
}

/// The rule's factors of `blocks` (from `file`), in the order of `names`.
fn factors(rule: Rule, blocks: &[(String, f64)], names: &[String], file: &Path) -> Result<Vec<f64>> {
    let within = |e: predictors::Error| Error::invalid(format!("{}: {e}", file.display()));
    if blocks.len() != names.len() {
        return Err(Error::invalid(format!(
            "{}: {} blocks with `{}` records, the initial file has {}: give spectra of the same blocks",
            file.display(),
            blocks.len(),
            rule.record(),
            names.len()
        )));
    }
    let values = names
        .iter()
        .map(|n| {
            blocks.iter().find(|(b, _)| b == n).map(|(_, v)| *v).ok_or_else(|| {
                Error::invalid(format!(
                    "{}: no `{}` record of block `{n}` (the initial file has one)",
                    file.display(),
                    rule.record()
                ))
            })
        })
        .collect::<Result<Vec<f64>>>()?;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    equalizing_factors(&refs, &values).map_err(within)
}

pub fn run(args: &Args) -> Result<()> {
    let initial = read(&args.initial)?;
    let later: Vec<(f64, &PathBuf, Blocks)> =
        args.at.iter().map(|(f, p)| read(p).map(|b| (*f, p, b))).collect::<Result<_>>()?;
    let Some(model) = initial.model.clone() else {
        return Err(Error::invalid(format!(
            "{}: no `density` or `gradient` records (expected hvp-dump --gradients | slq-density)",
            args.initial.display()
        )));
    };
    for (_, p, b) in &later {
        if b.model.as_deref() != Some(model.as_str()) {
            return Err(Error::invalid(format!(
                "{}: blocks of `{}`, the initial file's are of `{model}`",
                p.display(),
                b.model.as_deref().unwrap_or("nothing")
            )));
        }
    }
    let label = args.label.clone().unwrap_or(model);
    let mut out = RecordWriter::stdout();
    let mut records = vec![Record::Run(Run::for_tool(crate::TOOL, None))];
    for rule in [Rule::Curvature, Rule::Gradient] {
        let pick = |b: &Blocks| match rule {
            Rule::Curvature => b.curvature.clone(),
            Rule::Gradient => b.gradient.clone(),
        };
        let first = pick(&initial);
        if first.is_empty() {
            continue;
        }
        let names: Vec<String> = first.iter().map(|(n, _)| n.clone()).collect();
        let f0 = factors(rule, &first, &names, &args.initial)?;
        for (fraction, path, blocks) in &later {
            let f1 = factors(rule, &pick(blocks), &names, path)?;
            let d = drift(&f0, &f1).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
            records.push(Record::Drift(Drift {
                model: label.clone(),
                rule: rule.name().to_string(),
                fraction: *fraction,
                blocks: names.clone(),
                initial: f0.clone(),
                later: f1,
                spearman: d.spearman,
                max_abs_log10: d.max_abs_log10,
                max_block: names[d.max_block].clone(),
                median_abs_log10: d.median_abs_log10,
            }));
        }
    }
    // Whole or nothing: every record is computed before the first is written.
    for r in &records {
        out.write(r)?;
    }
    Ok(())
}
