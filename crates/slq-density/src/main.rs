//! slq-density: tridiag records in, one density record per block out.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use cli::{Error, Groups, Result};
use records::{Density, InputLine, RecordWriter, Run, Tridiag};
use spectra::density::{pool_density, Axis, DensityOptions, Normalize, ProbeRule, SigmaRule};

const TOOL: &str = "slq-density";

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    allow_negative_numbers = true,
    about = "Pool Lanczos tridiagonals into one spectral density per (model, block)",
    long_about = "Reads `tridiag` records (from hvp-dump or any Lanczos code), turns each into \
its Gauss quadrature rule (nodes = eigenvalues of T, weights = squared first eigenvector \
components), pools a block's probes with weight 1/probes each, and writes one `density` \
record per (model, block): nodes, weights, the probe of each node, a Gaussian-smoothed \
density on a grid, the extreme Ritz values and a trace estimate. Other record types pass \
through unchanged.",
    after_help = "Examples:
  hvp-dump --model gpt2-small --block wte | slq-density | block-js
  slq-density testdata/demo-tridiag.jsonl --sigma-mode range
  slq-density runs.jsonl --log --format csv > densities.csv    # for gnuplot
  slq-density runs.jsonl --normalize kth --rank 10 --sigma-mode relative --sigma-rel 0.01"
)]
struct Args {
    /// Input files of JSON-lines records; stdin when none (or `-`).
    files: Vec<PathBuf>,

    /// How the Gaussian width is chosen: `absolute` (--sigma, the authors'
    /// convention), `range` (variance = --sigma-var-factor * max(1, range),
    /// PyHessian's), or `relative` (--sigma-rel times the --rank-th largest
    /// eigenvalue).
    #[arg(long, value_enum, default_value_t = SigmaMode::Absolute)]
    sigma_mode: SigmaMode,

    /// Standard deviation for `--sigma-mode absolute`, in axis units.
    #[arg(long, default_value_t = 1e-5f64.sqrt())]
    sigma: f64,

    /// Variance factor for `--sigma-mode range`.
    #[arg(long, default_value_t = 1e-5)]
    sigma_var_factor: f64,

    /// Fraction of the k-th largest eigenvalue for `--sigma-mode relative`.
    #[arg(long, default_value_t = 0.01)]
    sigma_rel: f64,

    /// k for `--normalize kth` and `--sigma-mode relative`: which largest
    /// eigenvalue sets the scale (median over probes of the k-th Ritz value).
    #[arg(long, default_value_t = 10)]
    rank: usize,

    /// Divide eigenvalues by the k-th largest before smoothing (`kth`), as the
    /// paper's figures do, or leave them in Hessian units (`none`).
    #[arg(long, value_enum, default_value_t = NormalizeMode::None)]
    normalize: NormalizeMode,

    /// Draw the density on log10|lambda| instead of lambda.
    #[arg(long)]
    log: bool,

    /// Floor on |lambda| for --log (after normalization); default 1e-10 of the largest |lambda|.
    #[arg(long)]
    log_floor: Option<f64>,

    /// Number of grid cells of the density.
    #[arg(long, default_value_t = 1000)]
    grid_size: usize,

    /// Grid padding on each side, as a fraction of the node range (the grid
    /// always extends 9 sigma beyond the extreme nodes as well).
    #[arg(long, default_value_t = 0.05)]
    pad: f64,

    /// Output: JSON lines, or CSV rows (model,block,x,density) for gnuplot.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SigmaMode {
    Absolute,
    Range,
    Relative,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum NormalizeMode {
    None,
    Kth,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Format {
    Jsonl,
    Csv,
}

fn main() {
    let args = Args::parse();
    cli::exit(TOOL, run(&args));
}

fn options(args: &Args) -> Result<DensityOptions> {
    let positive = |name: &str, v: f64| {
        if v > 0.0 && v.is_finite() {
            Ok(v)
        } else {
            Err(Error::usage(format!("--{name} must be positive and finite, got {v}")))
        }
    };
    if args.rank == 0 {
        return Err(Error::usage("--rank must be at least 1"));
    }
    if args.grid_size < 2 {
        return Err(Error::usage("--grid-size must be at least 2"));
    }
    // The grid and its density, two f64 per cell, held while a block is written.
    let grid_bytes = args.grid_size as f64 * 16.0;
    if let Some(have) = cli::available_memory().filter(|have| grid_bytes > *have) {
        return Err(Error::invalid(format!(
            "--grid-size {} needs at least {} for each block's grid, more than the {} of memory available",
            args.grid_size,
            cli::gigabytes(grid_bytes),
            cli::gigabytes(have)
        )));
    }
    if !(args.pad >= 0.0 && args.pad.is_finite()) {
        return Err(Error::usage(format!("--pad must be >= 0, got {}", args.pad)));
    }
    let sigma = match args.sigma_mode {
        SigmaMode::Absolute => {
            let sigma = positive("sigma", args.sigma)?;
            // The grid reaches 9 sigma past the extreme nodes on each side.
            if !(2.0 * spectra::mixture::SUPPORT_SIGMAS * sigma).is_finite() {
                return Err(Error::usage(format!(
                    "--sigma {sigma:e} is too large: the grid spans {} sigma on each side of the nodes, beyond f64's range",
                    spectra::mixture::SUPPORT_SIGMAS
                )));
            }
            SigmaRule::Absolute(sigma)
        }
        SigmaMode::Range => SigmaRule::Range { variance_factor: positive("sigma-var-factor", args.sigma_var_factor)? },
        SigmaMode::Relative => {
            if args.log {
                return Err(Error::usage("--sigma-mode relative is defined on the linear axis only (drop --log)"));
            }
            SigmaRule::Relative { fraction: positive("sigma-rel", args.sigma_rel)?, rank: args.rank }
        }
    };
    let log_floor = args.log_floor.map(|f| positive("log-floor", f)).transpose()?;
    Ok(DensityOptions {
        axis: if args.log { Axis::Log10Abs { floor: log_floor } } else { Axis::Linear },
        normalize: match args.normalize {
            NormalizeMode::None => Normalize::None,
            NormalizeMode::Kth => Normalize::KthLargest(args.rank),
        },
        sigma,
        grid_size: args.grid_size,
        pad: args.pad,
    })
}

/// The probes of one (model, block).
struct BlockProbes {
    dim: u64,
    rules: Vec<ProbeRule>,
}

type Blocks = Groups<(String, String), BlockProbes>;

fn run(args: &Args) -> Result<()> {
    let opts = options(args)?;
    let mut out = RecordWriter::stdout();
    let jsonl = args.format == Format::Jsonl;
    if jsonl {
        out.write(&records::Record::Run(Run::for_tool(TOOL, None)))?;
    }

    // Blocks keep the order in which they first appear.
    let mut blocks: Blocks = Groups::new();
    let pass = if jsonl { Some(&mut out) } else { None };
    cli::read_records(&args.files, &["tridiag"], pass, |line| add_tridiag(line, &mut blocks))?.require("`tridiag`")?;

    for (k, b) in blocks.iter().enumerate() {
        let (model, block) = &b.key;
        let d = pool_density(model, block, b.value.dim, &b.value.rules, &opts).map_err(|m| {
            let e = Error::invalid(format!("model `{model}` block `{block}` (first seen at {}): {m}", b.first));
            let sigma_flag = match args.sigma_mode {
                SigmaMode::Absolute => "--sigma",
                SigmaMode::Range => "--sigma-var-factor",
                SigmaMode::Relative => "--sigma-rel",
            };
            if m.message().contains("Ritz values") {
                e.with_hint("lower --rank, or run more Lanczos steps")
            } else if m.message().starts_with("sigma ") {
                e.with_hint(&format!("lower {sigma_flag}"))
            } else {
                e
            }
        })?;
        if jsonl {
            out.write(&records::Record::Density(d))?;
        } else {
            out.write_text(&csv_rows(&d, k == 0)?)?;
        }
    }
    Ok(())
}

fn add_tridiag(line: &InputLine, blocks: &mut Blocks) -> Result<()> {
    let t: Tridiag = line.parse()?;
    t.validate().map_err(|(field, msg)| line.error(Some(field), msg))?;
    let rule = ProbeRule::from_tridiag(&t).map_err(|m| line.error(None, m))?;
    let entry = blocks.entry(
        (t.model.clone(), t.block.clone()),
        || line.location(),
        || BlockProbes { dim: t.dim, rules: Vec::new() },
    );
    if entry.value.dim != t.dim {
        return Err(line
            .error(
                Some("dim"),
                format!("{} differs from {} given for this block at {}", t.dim, entry.value.dim, entry.first),
            )
            .into());
    }
    if entry.value.rules.iter().any(|r| r.probe == t.probe) {
        return Err(line
            .error(
                Some("probe"),
                format!("probe {} of block `{}` appears twice (concatenated the same shard twice?)", t.probe, t.block),
            )
            .into());
    }
    entry.value.rules.push(rule);
    Ok(())
}

/// One block's grid as CSV rows (model,block,x,density), written as one chunk.
fn csv_rows(d: &Density, header: bool) -> Result<String> {
    let rows =
        d.grid.iter().zip(&d.density).map(|(x, y)| [d.model.clone(), d.block.clone(), x.to_string(), y.to_string()]);
    cli::csv_text(header.then_some(&["model", "block", "x", "density"][..]), rows)
}
