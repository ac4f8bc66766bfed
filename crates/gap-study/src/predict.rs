//! `gap-study predictors`: every candidate predictor of one configuration,
//! each with a bootstrap interval over what varies with the seed of its
//! measurement (probes for spectra, parts of the batch for gradients,
//! examples for class counts).

use std::path::PathBuf;

use cli::{Error, Result};
use predictors::{classes, gradient, spectral};
use records::{Classes, Density, Gradient, Heterogeneity, InputLine, Predictor, Record, RecordWriter, Run};
use rng::{derive_seed, SplitMix};
use spectra::bootstrap::summarize;

#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Files of `density` (slq-density, Hessian units: any smoothing),
    /// `gradient` (hvp-dump --gradients) and `classes` (nn-train
    /// --class-counts) records of this configuration; stdin when none.
    files: Vec<PathBuf>,

    /// The configuration: every record read must carry it as its `model`.
    #[arg(long)]
    label: String,

    /// JS0 under a named convention: the `heterogeneity` record of block-js
    /// (with --bootstrap) in FILE, written as predictor `js0-NAME`. Repeatable.
    #[arg(long, value_name = "NAME=FILE")]
    js0: Vec<String>,

    /// Rank k of the eigenvalue that stands for the bottom of each block's
    /// useful spectrum (the one-rate price's condition numbers).
    #[arg(long, default_value_t = 10)]
    rank: usize,

    /// Bootstrap replicates of each interval.
    #[arg(long, default_value_t = 200, value_name = "N")]
    bootstrap: usize,

    /// Seed of the resampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn checked<T>(line: &InputLine, label: &str, model: &str, record: T) -> Result<T> {
    if model != label {
        return Err(Error::invalid(format!("{}: a record of `{model}`, not of --label `{label}`", line.location())));
    }
    Ok(record)
}

pub fn run(args: &Args) -> Result<()> {
    if args.bootstrap < 2 {
        return Err(Error::usage("--bootstrap must be at least 2"));
    }
    if args.rank == 0 {
        return Err(Error::usage("--rank must be at least 1"));
    }
    let (mut blocks, mut grads, mut counts) = (Vec::new(), Vec::new(), None::<Classes>);
    let summary = cli::read_records(&args.files, &["density", "gradient", "classes"], None, |line| {
        match line.kind.as_str() {
            "density" => {
                let d: Density = line.parse()?;
                if blocks.iter().any(|b: &spectral::BlockRitz| b.block == d.block) {
                    return Err(Error::invalid(format!(
                        "{}: a second density of block `{}`",
                        line.location(),
                        d.block
                    )));
                }
                blocks.push(checked(line, &args.label, &d.model, spectral::BlockRitz::from_density(&d))?);
            }
            "gradient" => {
                let g: Gradient = line.parse()?;
                if grads.iter().any(|h: &Gradient| h.block == g.block) {
                    return Err(Error::invalid(format!(
                        "{}: a second gradient of block `{}`",
                        line.location(),
                        g.block
                    )));
                }
                grads.push(checked(line, &args.label, &g.model.clone(), g)?);
            }
            _ => {
                let c: Classes = line.parse()?;
                if counts.is_some() {
                    return Err(Error::invalid(format!("{}: a second `classes` record", line.location())));
                }
                counts = Some(checked(line, &args.label, &c.model.clone(), c)?);
            }
        }
        Ok(())
    })?;
    summary.require("`density`, `gradient` or `classes`")?;

    let mut out = RecordWriter::stdout();
    out.write(&Record::Run(Run::for_tool(crate::TOOL, Some(args.seed))))?;
    let seed = |what: &str| SplitMix::new(derive_seed(args.seed, &[what.as_bytes()]));
    let undefined = |e: predictors::Error| Error::invalid(format!("configuration `{}`: {e}", args.label));

    for spec in &args.js0 {
        let (name, file) =
            spec.split_once('=').ok_or_else(|| Error::usage(format!("--js0 {spec}: expected NAME=FILE")))?;
        let h = js0_record(&PathBuf::from(file), &args.label)?;
        let u = h.uncertainty.as_ref().ok_or_else(|| {
            Error::invalid(format!(
                "--js0 {name}={file}: the heterogeneity record has no interval (block-js --bootstrap N)"
            ))
        })?;
        out.write(&Record::Predictor(Predictor {
            model: args.label.clone(),
            predictor: format!("js0-{name}"),
            value: h.value,
            se: Some(u.se),
            ci90: Some(u.ci90),
            replicates: Some(u.bootstrap as u64),
            resampled: Some("probes".into()),
        }))?;
    }

    let mut write = |name: &str, value: f64, replicates: Vec<f64>, what: &str| -> Result<()> {
        let (se, ci90) = summarize(&replicates);
        out.write(&Record::Predictor(Predictor {
            model: args.label.clone(),
            predictor: name.to_string(),
            value,
            se: Some(se),
            ci90: Some(ci90),
            replicates: Some(replicates.len() as u64),
            resampled: Some(what.to_string()),
        }))?;
        Ok(())
    };
    if !blocks.is_empty() {
        let scales = |takes: &[Vec<usize>]| -> predictors::Result<(Vec<f64>, Vec<f64>)> {
            let mut top = Vec::new();
            let mut kth = Vec::new();
            for (b, take) in blocks.iter().zip(takes) {
                top.push(b.lambda_max(take)?);
                kth.push(b.kth_largest(args.rank, take)?);
            }
            Ok((top, kth))
        };
        let all: Vec<Vec<usize>> = blocks.iter().map(|b| b.all()).collect();
        let (top, kth) = scales(&all).map_err(undefined)?;
        let (range, sd) = spectral::curvature_spread(&top).map_err(undefined)?;
        let price = spectral::one_rate_price(&top, &kth).map_err(undefined)?;
        let mut rng = seed("spectra");
        let (mut r_range, mut r_sd, mut r_price) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.bootstrap {
            let takes: Vec<Vec<usize>> = blocks.iter().map(|b| b.resample(&mut rng)).collect();
            let (t, k) = scales(&takes).map_err(undefined)?;
            let (a, b) = spectral::curvature_spread(&t).map_err(undefined)?;
            r_range.push(a);
            r_sd.push(b);
            r_price.push(spectral::one_rate_price(&t, &k).map_err(undefined)?);
        }
        write("curvature-range", range, r_range, "probes")?;
        write("curvature-sd", sd, r_sd, "probes")?;
        write("one-rate-price", price, r_price, "probes")?;
    }

    if !grads.is_empty() {
        let norms = |counts: &[Vec<u32>]| -> predictors::Result<Vec<f64>> {
            grads.iter().zip(counts).map(|(g, c)| gradient::resampled_norm(&g.weights, &g.gram, c)).collect()
        };
        let ones: Vec<Vec<u32>> = grads.iter().map(|g| vec![1; g.weights.len()]).collect();
        let value = gradient::spread(&norms(&ones).map_err(undefined)?).map_err(undefined)?;
        // One resample of the batch's parts, shared by every block (the same examples).
        let parts = grads[0].weights.len();
        if grads.iter().any(|g| g.weights.len() != parts) {
            return Err(Error::invalid("`gradient` records with different numbers of parts"));
        }
        let mut rng = seed("gradients");
        let mut reps = Vec::new();
        for _ in 0..args.bootstrap {
            let c = gradient::resample_parts(parts, &mut rng);
            let counts: Vec<Vec<u32>> = grads.iter().map(|_| c.clone()).collect();
            reps.push(gradient::spread(&norms(&counts).map_err(undefined)?).map_err(undefined)?);
        }
        write("gradient-spread", value, reps, "batch parts")?;
    }

    if let Some(c) = &counts {
        let value = classes::rarest_half_share(&c.counts).map_err(undefined)?;
        let mut rng = seed("classes");
        let reps: Vec<f64> = (0..args.bootstrap)
            .map(|_| classes::rarest_half_share(&classes::resample_counts(&c.counts, &mut rng)))
            .collect::<predictors::Result<_>>()
            .map_err(undefined)?;
        write("class-tail", value, reps, "examples")?;
    }
    Ok(())
}

/// The one `heterogeneity` record of `label` in `file`.
fn js0_record(file: &PathBuf, label: &str) -> Result<Heterogeneity> {
    let mut found: Option<Heterogeneity> = None;
    cli::read_records(std::slice::from_ref(file), &["heterogeneity"], None, |line| {
        let h: Heterogeneity = line.parse()?;
        if h.model == label {
            if found.is_some() {
                return Err(Error::invalid(format!("{}: a second heterogeneity record of `{label}`", line.location())));
            }
            found = Some(h);
        }
        Ok(())
    })?;
    found.ok_or_else(|| Error::invalid(format!("{}: no heterogeneity record of `{label}`", file.display())))
}
