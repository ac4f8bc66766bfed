//! block-js: density records in, pairwise distances and one heterogeneity
//! record per model out.

mod ordered;

use std::collections::BTreeMap;
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
    allow_negative_numbers = true,
    about = "Distances between the spectral densities of a model's blocks, and their mean (JS0)",
    long_about = "Reads `density` records (from slq-density), groups them by model, and for every \
pair of blocks of a model computes a divergence of their smoothed spectra, integrated exactly \
where the mass is (no fixed grid). Writes one `distance` record per pair and one \
`heterogeneity` record per model whose value is the mean over pairs: the paper's JS0 when the \
densities were taken at initialization. Other record types pass through unchanged. \
Pairs (and bootstrap replicates) run in parallel; each `distance` record is written as soon as \
it and all before it are final. Every output (distances, means, standard errors, intervals) is \
byte-identical for any --threads: each value is computed by one thread alone and sums run in \
pair order.",
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

    /// Logarithm base of the JS divergence (`--metric js` only): `e`
    /// (distance <= sqrt(ln 2), the default) or `2` (distance in [0, 1]).
    #[arg(long, value_enum)]
    base: Option<Base>,

    /// Floor applied to both densities by `--metric skl-floored` (only):
    /// positive and finite [default: 1e-30].
    #[arg(long)]
    floor: Option<f64>,

    /// Resample probes N times to give each distance and JS0 a standard error
    /// and a 90% interval (0: off; otherwise at least 2).
    #[arg(long, default_value_t = 0, value_name = "N")]
    bootstrap: usize,

    /// Seed of the bootstrap resampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Output: JSON lines, CSV rows, or a distance matrix per model (gnuplot
    /// `matrix rowheaders columnheaders`).
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,

    /// Worker threads for the distances (0: one per core). The output is
    /// byte-identical for every thread count.
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
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

/// Default of --floor.
const DEFAULT_FLOOR: f64 = 1e-30;

/// The metric the flags ask for; a setting of the other metric is refused
/// rather than ignored (the run record would claim it was applied).
fn metric(args: &Args) -> Result<Metric> {
    match args.metric {
        MetricName::Js => {
            if let Some(f) = args.floor {
                return Err(Error::usage(format!(
                    "--floor {f} applies to --metric skl-floored only (the JS distance takes no floor)"
                )));
            }
            Ok(Metric::Js { base2: args.base == Some(Base::Two) })
        }
        MetricName::SklFloored => {
            if args.base.is_some() {
                return Err(Error::usage(
                    "--base applies to --metric js only (skl-floored is in natural units)".to_string(),
                ));
            }
            let floor = args.floor.unwrap_or(DEFAULT_FLOOR);
            if !(floor > 0.0 && floor.is_finite()) {
                return Err(Error::usage(format!("--floor must be positive and finite, got {floor}")));
            }
            Ok(Metric::SklFloored { floor })
        }
    }
}

/// Most threads --threads accepts.
const MAX_THREADS: usize = 1024;
/// Most pairs of blocks of one model (about 4500 blocks).
const MAX_PAIRS: u128 = 10_000_000;
/// Most bootstrap resample counts (replicates x blocks x probes) held at once.
const MAX_RESAMPLE_ENTRIES: u128 = 200_000_000;

fn thread_pool(args: &Args) -> Result<rayon::ThreadPool> {
    if args.threads > MAX_THREADS {
        return Err(Error::usage(format!("--threads {} is more than {MAX_THREADS}", args.threads)));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .map_err(|e| Error::invalid(format!("cannot start {} worker threads: {e}", args.threads)))
}

fn run(args: &Args) -> Result<()> {
    let metric = metric(args)?;
    if args.bootstrap == 1 {
        return Err(Error::usage(
            "--bootstrap 1 gives no spread (a standard error needs at least 2 replicates; 0 turns it off)",
        ));
    }
    let pool = thread_pool(args)?;
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
        models.into_groups().map(|g| Model { name: g.key, blocks: g.value, first: g.first }).collect();
    if let Some(m) = models.iter().find(|m| m.blocks.len() < 2) {
        return Err(Error::invalid(format!(
            "model `{}` (first seen at {}) has {} block; distances need at least two",
            m.name,
            m.first,
            m.blocks.len()
        )));
    }

    for m in &models {
        check_pair_count(m)?;
        check_bootstrap_size(m, args.bootstrap)?;
    }

    let mut csv_header_written = false;
    for m in &models {
        let result = if jsonl {
            // Each distance is written as soon as it and all before it are final.
            compare_model(m, metric, args, &pool, |d| Ok(out.write(&Record::Distance(d))?))?
        } else {
            let mut distances = Vec::new();
            let mut result = compare_model(m, metric, args, &pool, |d| {
                distances.push(d);
                Ok(())
            })?;
            result.distances = distances;
            result
        };
        match args.format {
            Format::Jsonl => out.write(&Record::Heterogeneity(result.heterogeneity))?,
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
    if d.block.trim().is_empty() {
        // An empty name would also leave the matrix format a column short.
        return Err(line.error(Some("block"), "is empty: distances name their blocks").into());
    }
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

/// Refuses a model with more pairs than are compared in reasonable time and
/// memory (the pair list, and the matrix format's n x n table), before work.
fn check_pair_count(m: &Model) -> Result<()> {
    let n = m.blocks.len() as u128;
    let pairs = n * (n - 1) / 2;
    if pairs > MAX_PAIRS {
        return Err(Error::invalid(format!(
            "model `{}` (first seen at {}) has {n} blocks, {pairs} pairs: more than the {MAX_PAIRS} pairs \
             block-js compares; split the model's blocks",
            m.name, m.first
        )));
    }
    Ok(())
}

/// Refuses a --bootstrap whose resample table would not fit in memory.
fn check_bootstrap_size(m: &Model, replicates: usize) -> Result<()> {
    let probes: u128 = m.blocks.iter().map(|d| d.probes as u128).sum();
    let entries = replicates as u128 * probes.max(m.blocks.len() as u128);
    if entries > MAX_RESAMPLE_ENTRIES {
        return Err(Error::usage(format!(
            "--bootstrap {replicates} over the {} blocks ({probes} probes) of model `{}` needs {entries} resample \
             counts in memory (limit {MAX_RESAMPLE_ENTRIES}); ask for fewer replicates",
            m.blocks.len(),
            m.name
        )));
    }
    Ok(())
}

/// Distances between every pair of a model's blocks, their mean, and (with
/// --bootstrap) the spread of both over probe resamples. Each pair's record
/// goes to `emit` in pair order as soon as it is final; the returned result
/// holds the mean only (its `distances` is empty).
///
/// The work items are (pair, replicate) with replicate 0 the distance itself;
/// each is computed sequentially by one thread, so the output does not depend
/// on the thread count.
fn compare_model(
    m: &Model,
    metric: Metric,
    args: &Args,
    pool: &rayon::ThreadPool,
    mut emit: impl FnMut(Distance) -> Result<()>,
) -> Result<ModelResult> {
    let n = m.blocks.len();
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect();
    let mixtures: Vec<Mixture> = m.blocks.iter().map(|d| record_mixture(d, |_| 1)).collect();
    let replicates = args.bootstrap;
    let counts = resample_counts(m, replicates, args.seed);
    let per_pair = replicates + 1;

    let show = std::io::stderr().is_terminal();
    let progress = indicatif::ProgressBar::with_draw_target(
        Some((pairs.len() * per_pair) as u64),
        if show { indicatif::ProgressDrawTarget::stderr() } else { indicatif::ProgressDrawTarget::hidden() },
    );
    progress.set_message(format!("model {}", m.name));

    let work = |item: usize| {
        let (i, j) = pairs[item / per_pair];
        let r = item % per_pair;
        let v = if r == 0 {
            distance(&mixtures[i], &mixtures[j], metric)
        } else {
            let c = &counts[r - 1];
            let resampled = |b: usize| record_mixture(&m.blocks[b], |p| c[b].get(&p).copied().unwrap_or(0));
            distance(&resampled(i), &resampled(j), metric)
        };
        progress.inc(1);
        v
    };

    let mut sum = 0.0;
    let mut replicate_sums = vec![0.0; replicates];
    let mut pair_values = Vec::with_capacity(per_pair);
    ordered::for_each_ordered(pool, pairs.len() * per_pair, work, |item, v| {
        let k = item / per_pair;
        let r = item % per_pair;
        if !v.is_finite() {
            let (i, j) = pairs[k];
            return Err(if r == 0 {
                Error::numeric(format!(
                    "distance between `{}` and `{}` of model `{}` is not finite",
                    m.blocks[i].block, m.blocks[j].block, m.name
                ))
            } else {
                Error::numeric(format!(
                    "bootstrap replicate {} of model `{}` gave a non-finite distance",
                    r - 1,
                    m.name
                ))
            });
        }
        pair_values.push(v);
        if pair_values.len() < per_pair {
            return Ok(());
        }
        // Sums run in pair order, as a sequential loop would add them.
        sum += pair_values[0];
        for (total, v) in replicate_sums.iter_mut().zip(&pair_values[1..]) {
            *total += v;
        }
        let uncertainty = (replicates > 0).then(|| {
            let (se, ci90) = summarize(&pair_values[1..]);
            Uncertainty { bootstrap: replicates, se, ci90 }
        });
        let (i, j) = pairs[k];
        let value = pair_values[0];
        pair_values.clear();
        emit(Distance {
            model: m.name.clone(),
            a: m.blocks[i].block.clone(),
            b: m.blocks[j].block.clone(),
            metric: metric.name().to_string(),
            value,
            uncertainty,
        })
    })?;
    progress.finish_and_clear();

    let mean = sum / pairs.len() as f64;
    let mean_unc = (replicates > 0).then(|| {
        let means: Vec<f64> = replicate_sums.iter().map(|s| s / pairs.len() as f64).collect();
        let (se, ci90) = summarize(&means);
        Uncertainty { bootstrap: replicates, se, ci90 }
    });
    let heterogeneity = Heterogeneity {
        model: m.name.clone(),
        metric: metric.name().to_string(),
        value: mean,
        blocks: m.blocks.iter().map(|b| b.block.clone()).collect(),
        pairs: pairs.len(),
        uncertainty: mean_unc,
    };
    Ok(ModelResult { distances: Vec::new(), heterogeneity })
}

/// The probe multiplicities of every bootstrap replicate and block, drawn in
/// the order a sequential loop draws them (replicate by replicate, blocks in
/// input order) from the model's seed. In each replicate every block's probes
/// are resampled once and all pairs use that resample, so the mean's spread
/// includes the correlation between pairs.
fn resample_counts(m: &Model, replicates: usize, seed: u64) -> Vec<Vec<BTreeMap<u32, u32>>> {
    let mut rng = SplitMix::new(rng::derive_seed(seed, &[m.name.as_bytes()]));
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
    (0..replicates).map(|_| probe_ids.iter().map(|ids| resample(ids, &mut rng)).collect()).collect()
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
