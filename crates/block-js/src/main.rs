//! block-js: density records in, pairwise distances and one heterogeneity
//! record per model out.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use cli::{Error, Groups, Result};
use records::{Density, Distance, Heterogeneity, InputLine, Record, RecordWriter, Run, Uncertainty};
use rng::SplitMix;
use spectra::bootstrap::{resample, summarize};
use spectra::density::{record_mixture, validate_density};
use spectra::divergence::{distance, Metric};
use spectra::mixture::Mixture;

const TOOL: &str = "block-js";

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    about = "Distances between the spectral densities of a model's blocks, and their mean (JS0)",
    long_about = "Reads `density` records (from slq-density), groups them by model, and for every \
pair of blocks of a model computes a divergence of their smoothed spectra, integrated exactly \
where the mass is (no fixed grid). Writes one `distance` record per pair and one \
`heterogeneity` record per model whose value is the mean over pairs: the paper's JS0 when the \
densities were taken at initialization. Other record types pass through unchanged.",
    after_help = "Examples:
  hvp-dump --model gpt2-small --block wte --block 'h.0.*' | slq-density | block-js
  slq-density testdata/demo-tridiag.jsonl | block-js --base 2
  ... | block-js --bootstrap 200 --seed 1          # standard errors and 90% intervals
  ... | block-js --metric skl-floored              # the scale of the paper's Table 1
  ... | block-js --format matrix > js.dat          # heatmap (paper Figure 4) for gnuplot"
)]
struct Args {
    /// Input files of JSON-lines records; stdin when none (or `-`).
    files: Vec<PathBuf>,

    /// `js`: Jensen-Shannon distance (sqrt of the divergence; bounded).
    /// `skl-floored`: symmetric KL of densities floored at --floor (unbounded,
    /// the scale of the paper's Table 1).
    #[arg(long, value_enum, default_value_t = MetricName::Js)]
    metric: MetricName,

    /// Logarithm base of the JS divergence: `e` (distance <= sqrt(ln 2)) or
    /// `2` (distance in [0, 1]).
    #[arg(long, value_enum, default_value_t = Base::E)]
    base: Base,

    /// Floor applied to both densities by `--metric skl-floored`.
    #[arg(long, default_value_t = 1e-30)]
    floor: f64,

    /// Resample probes N times to give each distance and JS0 a standard error
    /// and a 90% interval (0: off).
    #[arg(long, default_value_t = 0, value_name = "N")]
    bootstrap: usize,

    /// Seed of the bootstrap resampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Output: JSON lines, CSV rows, or a distance matrix per model (gnuplot
    /// `matrix rowheaders columnheaders`).
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MetricName {
    Js,
    SklFloored,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Base {
    E,
    #[value(name = "2")]
    Two,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Format {
    Jsonl,
    Csv,
    Matrix,
}

fn main() {
    let args = Args::parse();
    cli::exit(TOOL, run(&args));
}

/// The blocks of one model, in input order.
struct Model {
    name: String,
    blocks: Vec<Density>,
    first: String,
}

/// A model's distances and their mean.
struct ModelResult {
    distances: Vec<Distance>,
    heterogeneity: Heterogeneity,
}

fn metric(args: &Args) -> Result<Metric> {
    match args.metric {
        MetricName::Js => Ok(Metric::Js { base2: args.base == Base::Two }),
        MetricName::SklFloored => {
            if !(args.floor > 0.0 && args.floor.is_finite()) {
                return Err(Error::usage(format!("--floor must be positive and finite, got {}", args.floor)));
            }
            Ok(Metric::SklFloored { floor: args.floor })
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let metric = metric(args)?;
    let mut out = RecordWriter::stdout();
    let jsonl = args.format == Format::Jsonl;
    if jsonl {
        let seed = (args.bootstrap > 0).then_some(args.seed);
        out.write(&Record::Run(Run::for_tool(TOOL, seed)))?;
    }

    let mut models: Groups<String, Vec<Density>> = Groups::new();
    let pass = if jsonl { Some(&mut out) } else { None };
    cli::read_records(&args.files, &["density"], pass, |line| add_density(line, &mut models))?.require("`density`")?;
    let models: Vec<Model> =
        models.iter().map(|g| Model { name: g.key.clone(), blocks: g.value.clone(), first: g.first.clone() }).collect();
    if let Some(m) = models.iter().find(|m| m.blocks.len() < 2) {
        return Err(Error::invalid(format!(
            "model `{}` (first seen at {}) has {} block; distances need at least two",
            m.name,
            m.first,
            m.blocks.len()
        )));
    }

    let mut csv_header_written = false;
    for m in &models {
        let result = compare_model(m, metric, args)?;
        match args.format {
            Format::Jsonl => {
                for d in result.distances {
                    out.write(&Record::Distance(d))?;
                }
                out.write(&Record::Heterogeneity(result.heterogeneity))?;
            }
            Format::Csv => {
                out.write_text(&csv_rows(&result, !csv_header_written)?)?;
                csv_header_written = true;
            }
            Format::Matrix => out.write_text(&matrix_text(m, &result))?,
        }
    }
    Ok(())
}

/// Add one `density` record to its model, refusing a block seen twice or an
/// axis that differs from the model's other blocks.
fn add_density(line: &InputLine, models: &mut Groups<String, Vec<Density>>) -> Result<()> {
    let d: Density = line.parse()?;
    validate_density(&d).map_err(|(field, msg)| line.error(Some(field), msg))?;
    let blocks = &mut models.entry(d.model.clone(), || line.location(), Vec::new).value;
    if blocks.iter().any(|b| b.block == d.block) {
        let msg = format!("block `{}` of model `{}` appears twice", d.block, d.model);
        return Err(line.error(Some("block"), msg).into());
    }
    if let Some(b0) = blocks.first() {
        if b0.axis != d.axis {
            let msg = format!(
                "`{}` but block `{}` of this model is on `{}`: distances need one axis",
                d.axis, b0.block, b0.axis
            );
            return Err(line.error(Some("axis"), msg).into());
        }
    }
    blocks.push(d);
    Ok(())
}

/// Distances between every pair of a model's blocks, their mean, and (with
/// --bootstrap) the spread of both over probe resamples.
fn compare_model(m: &Model, metric: Metric, args: &Args) -> Result<ModelResult> {
    let n = m.blocks.len();
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect();
    let mixtures: Vec<Mixture> = m.blocks.iter().map(|d| record_mixture(d, |_| 1)).collect();
    let values: Vec<f64> = pairs.iter().map(|&(i, j)| distance(&mixtures[i], &mixtures[j], metric)).collect();
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        let (i, j) = pairs[k];
        return Err(Error::numeric(format!(
            "distance between `{}` and `{}` of model `{}` is not finite",
            m.blocks[i].block, m.blocks[j].block, m.name
        )));
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;

    let mut pair_unc: Vec<Option<Uncertainty>> = vec![None; pairs.len()];
    let mut mean_unc = None;
    if args.bootstrap > 0 {
        let (per_pair, means) = bootstrap(m, &pairs, metric, args)?;
        for (k, reps) in per_pair.iter().enumerate() {
            let (se, ci90) = summarize(reps);
            pair_unc[k] = Some(Uncertainty { bootstrap: args.bootstrap, se, ci90 });
        }
        let (se, ci90) = summarize(&means);
        mean_unc = Some(Uncertainty { bootstrap: args.bootstrap, se, ci90 });
    }

    let distances = pairs
        .iter()
        .zip(&values)
        .zip(pair_unc)
        .map(|((&(i, j), &value), uncertainty)| Distance {
            model: m.name.clone(),
            a: m.blocks[i].block.clone(),
            b: m.blocks[j].block.clone(),
            metric: metric.name().to_string(),
            value,
            uncertainty,
        })
        .collect();
    let heterogeneity = Heterogeneity {
        model: m.name.clone(),
        metric: metric.name().to_string(),
        value: mean,
        blocks: m.blocks.iter().map(|b| b.block.clone()).collect(),
        pairs: pairs.len(),
        uncertainty: mean_unc,
    };
    Ok(ModelResult { distances, heterogeneity })
}

/// Replicates of every pair's distance and of their mean. In each replicate
/// every block's probes are resampled once, and all pairs use that resample,
/// so the mean's spread includes the correlation between pairs.
fn bootstrap(m: &Model, pairs: &[(usize, usize)], metric: Metric, args: &Args) -> Result<(Vec<Vec<f64>>, Vec<f64>)> {
    let show = std::io::stderr().is_terminal();
    let mut rng = SplitMix::new(rng::derive_seed(args.seed, &[m.name.as_bytes()]));
    let probe_ids: Vec<Vec<u32>> = m
        .blocks
        .iter()
        .map(|d| {
            let mut ids = d.node_probe.clone();
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect();
    let mut per_pair = vec![Vec::with_capacity(args.bootstrap); pairs.len()];
    let mut means = Vec::with_capacity(args.bootstrap);
    for r in 0..args.bootstrap {
        let mixtures: Vec<Mixture> = m
            .blocks
            .iter()
            .zip(&probe_ids)
            .map(|(d, ids)| {
                let counts = resample(ids, &mut rng);
                record_mixture(d, |p| counts.get(&p).copied().unwrap_or(0))
            })
            .collect();
        let mut sum = 0.0;
        for (k, &(i, j)) in pairs.iter().enumerate() {
            let v = distance(&mixtures[i], &mixtures[j], metric);
            if !v.is_finite() {
                return Err(Error::numeric(format!(
                    "bootstrap replicate {r} of model `{}` gave a non-finite distance",
                    m.name
                )));
            }
            per_pair[k].push(v);
            sum += v;
        }
        means.push(sum / pairs.len() as f64);
        if show {
            eprint!("\r{TOOL}: model {} bootstrap {}/{}", m.name, r + 1, args.bootstrap);
        }
    }
    if show {
        eprintln!();
    }
    Ok((per_pair, means))
}

fn csv_rows(result: &ModelResult, header: bool) -> Result<String> {
    let names = ["kind", "model", "a", "b", "metric", "value", "se", "ci90_lo", "ci90_hi"];
    let unc = |u: &Option<Uncertainty>| match u {
        Some(u) => [u.se.to_string(), u.ci90[0].to_string(), u.ci90[1].to_string()],
        None => [String::new(), String::new(), String::new()],
    };
    let mut rows: Vec<[String; 9]> = Vec::with_capacity(result.distances.len() + 1);
    for d in &result.distances {
        let [se, lo, hi] = unc(&d.uncertainty);
        rows.push([
            "distance".into(),
            d.model.clone(),
            d.a.clone(),
            d.b.clone(),
            d.metric.clone(),
            d.value.to_string(),
            se,
            lo,
            hi,
        ]);
    }
    let h = &result.heterogeneity;
    let [se, lo, hi] = unc(&h.uncertainty);
    rows.push([
        "heterogeneity".into(),
        h.model.clone(),
        String::new(),
        String::new(),
        h.metric.clone(),
        h.value.to_string(),
        se,
        lo,
        hi,
    ]);
    cli::csv_text(header.then_some(&names[..]), rows)
}

/// A symmetric distance matrix with block names as row and column headers,
/// whitespace-separated; models separated by two blank lines (gnuplot `index`).
fn matrix_text(m: &Model, result: &ModelResult) -> String {
    let n = m.blocks.len();
    // Distances come in pair order (0,1), (0,2), ..., (1,2), ...
    let mut d = vec![vec![0.0; n]; n];
    let pairs = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j)));
    for ((i, j), dist) in pairs.zip(&result.distances) {
        d[i][j] = dist.value;
        d[j][i] = dist.value;
    }
    let mut s =
        format!("# model {} metric {} mean {}\n", m.name, result.heterogeneity.metric, result.heterogeneity.value);
    s.push_str("block");
    for b in &m.blocks {
        s.push(' ');
        s.push_str(&b.block.replace(char::is_whitespace, "_"));
    }
    s.push('\n');
    for (i, b) in m.blocks.iter().enumerate() {
        s.push_str(&b.block.replace(char::is_whitespace, "_"));
        for v in &d[i] {
            s.push(' ');
            s.push_str(&v.to_string());
        }
        s.push('\n');
    }
    s.push_str("\n\n");
    s
}
