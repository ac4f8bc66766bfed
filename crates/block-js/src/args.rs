//! block-js's flags, and the metric and thread pool they resolve to.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use cli::{Error, Result};
use spectra::divergence::Metric;

pub const TOOL: &str = "block-js";

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
pub struct Args {
    /// Input files of JSON-lines records; stdin when none (or `-`).
    pub files: Vec<PathBuf>,

    /// `js`: Jensen-Shannon distance (sqrt of the divergence; bounded).
    /// `skl-floored`: symmetric KL of densities floored at --floor (unbounded,
    /// the scale of the paper's Table 1).
    #[arg(long, value_enum, default_value_t = MetricName::Js)]
    pub metric: MetricName,

    /// Logarithm base of the JS divergence (`--metric js` only): `e`
    /// (distance <= sqrt(ln 2), the default) or `2` (distance in [0, 1]).
    #[arg(long, value_enum)]
    pub base: Option<Base>,

    /// Floor applied to both densities by `--metric skl-floored` (only):
    /// positive and finite [default: 1e-30].
    #[arg(long)]
    pub floor: Option<f64>,

    /// Resample probes N times to give each distance and JS0 a standard error
    /// and a 90% interval (0: off; otherwise at least 2).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub bootstrap: usize,

    /// Seed of the bootstrap resampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Output: JSON lines, CSV rows, or a distance matrix per model (gnuplot
    /// `matrix rowheaders columnheaders`).
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,

    /// Worker threads for the distances (0: one per core). The output is
    /// byte-identical for every thread count.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MetricName {
    Js,
    SklFloored,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum Base {
    E,
    #[value(name = "2")]
    Two,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum Format {
    Jsonl,
    Csv,
    Matrix,
}

/// Default of --floor.
const DEFAULT_FLOOR: f64 = 1e-30;

/// The metric the flags ask for; a setting of the other metric is refused
/// rather than ignored (the run record would claim it was applied).
pub fn metric(args: &Args) -> Result<Metric> {
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

/// The worker threads --threads asks for.
pub fn thread_pool(args: &Args) -> Result<rayon::ThreadPool> {
    if args.threads > MAX_THREADS {
        return Err(Error::usage(format!("--threads {} is more than {MAX_THREADS}", args.threads)));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .map_err(|e| Error::invalid(format!("cannot start {} worker threads: {e}", args.threads)))
}
