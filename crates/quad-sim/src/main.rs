//! quad-sim: GD, blockwise GD and Adam on the block-diagonal quadratics of
//! the paper's Section 3, as `problem`, `tune` and `iterate` records.

mod args;
mod default_spectra;

use std::io::IsTerminal;

use clap::Parser;
use cli::{Error, Result};
use quadratic::experiment::{Source, SpectraFile};
use quadratic::{Experiment, ExperimentConfig, OptimizerRequest};
use records::{Density, Record, RecordWriter, Run};

use args::{Args, TOOL};

fn main() {
    let args = Args::parse();
    cli::exit(TOOL, run(&args));
}

/// A library error as the command line sees it: a setting names its flag.
fn cli_error(e: quadratic::Error) -> Error {
    match e {
        quadratic::Error::Setting { setting, message } => {
            Error::usage(format!("--{} {message}", setting.replace('_', "-")))
        }
        quadratic::Error::UnknownOptimizer(_) | quadratic::Error::Config(_) => Error::usage(e.to_string()),
        quadratic::Error::Invalid(m) => Error::invalid(m),
        quadratic::Error::Numeric(m) => Error::numeric(m),
    }
}

/// Bytes the dense blocks take at their peak: every block's H_l and Q_l,
/// plus one block's Gaussian matrix, Gram-Schmidt columns and Q^T scratch.
fn dense_bytes(blocks: usize, dim: usize) -> f64 {
    8.0 * (dim as f64).powi(2) * (2.0 * blocks as f64 + 3.0)
}

/// Refuse dimensions whose dense blocks cannot fit in the memory available.
fn check_dimensions(args: &Args, source: &Source, densities: usize) -> Result<()> {
    use quadratic::experiment::{CLUSTER_BLOCKS, CLUSTER_BLOCK_DIM, SPECTRA_BLOCK_DIM};
    let (blocks, dim) = match source {
        Source::Spectra { picks, .. } => {
            let available = if picks.is_empty() { densities } else { picks.len() };
            (args.blocks.unwrap_or(available).min(available), args.block_dim.unwrap_or(SPECTRA_BLOCK_DIM))
        }
        _ => (args.blocks.unwrap_or(CLUSTER_BLOCKS), args.block_dim.unwrap_or(CLUSTER_BLOCK_DIM)),
    };
    let need = dense_bytes(blocks, dim);
    match cli::available_memory() {
        Some(have) if need > have => Err(Error::invalid(format!(
            "--block-dim {dim} with {blocks} blocks needs about {} for the dense {dim} x {dim} blocks, \
             more than the {} available",
            cli::gigabytes(need),
            cli::gigabytes(have)
        ))),
        _ => Ok(()),
    }
}

/// Where the eigenvalues come from: --case and --spectra.
fn source(args: &Args) -> Result<Source> {
    if args.spectra.is_none() && !args.spectra_blocks.is_empty() {
        return Err(Error::usage("--spectra-block needs --spectra FILE"));
    }
    let path = match (args.case, &args.spectra) {
        (Some(3), None) => return Ok(Source::Heterogeneous),
        (Some(4), None) => return Ok(Source::Homogeneous),
        (Some(c @ (3 | 4)), Some(_)) => {
            return Err(Error::usage(format!(
                "case {c} has fixed eigenvalues: drop --spectra (or drop --case to sample from it)"
            )))
        }
        (Some(c), None) => default_spectra::path(c).ok_or_else(|| Error::usage(default_spectra::missing_message(c)))?,
        (_, Some(path)) => path.clone(),
        (None, None) => {
            return Err(Error::usage(
                "give --case 3 or --case 4, or --case 1/2 (or no case) with --spectra FILE of `density` records",
            ))
        }
    };
    let mut file = SpectraFile::new(path.display().to_string());
    for line in records::open_inputs(std::slice::from_ref(&path))? {
        let line = line?;
        if line.kind == "density" {
            file.add(line.parse::<Density>()?).map_err(|(field, why)| line.error(Some(field), why))?;
        }
    }
    Ok(Source::Spectra { case: args.case, file, picks: args.spectra_blocks.clone() })
}

/// --lr-log-grid LO:HI:N as the learning rates it names.
fn log_grid(spec: &str) -> Result<Vec<f64>> {
    let bad = || Error::usage(format!("--lr-log-grid `{spec}`: expected LO:HI:N, e.g. 1e-5:1:4"));
    let parts: Vec<&str> = spec.split(':').collect();
    let [lo, hi, n] = parts[..] else { return Err(bad()) };
    let lo: f64 = lo.parse().map_err(|_| bad())?;
    let hi: f64 = hi.parse().map_err(|_| bad())?;
    let n: u32 = n.parse().map_err(|_| bad())?;
    quadratic::experiment::log_grid(lo, hi, n).map_err(|e| match e {
        quadratic::Error::Setting { message, .. } => Error::usage(format!("--lr-log-grid {message}")),
        other => cli_error(other),
    })
}

fn run(args: &Args) -> Result<()> {
    let source = source(args)?;
    let densities = match &source {
        Source::Spectra { file, .. } => file.len(),
        _ => 0,
    };
    check_dimensions(args, &source, densities)?;
    let config = ExperimentConfig {
        source,
        kappa: args.kappa,
        blocks: args.blocks,
        block_dim: args.block_dim,
        seed: args.seed,
        rotation: args.rotation.into(),
        optimizers: args
            .optimizers
            .iter()
            .map(|s| s.parse::<OptimizerRequest>())
            .collect::<quadratic::Result<_>>()
            .map_err(cli_error)?,
        lr: args.lr,
        lr_grid: match &args.lr_log_grid {
            Some(spec) => Some(log_grid(spec)?),
            None => args.lr_grid.clone(),
        },
        tune_by: args.tune_by.parse().map_err(cli_error)?,
        beta1: args.beta1,
        beta2: args.beta2,
        iters: args.iters,
        every: args.every,
        stop_rel: args.stop_rel,
    };
    let exp = Experiment::new(&config).map_err(cli_error)?;
    let mut out = RecordWriter::stdout();
    out.write(&Record::Run(Run::for_tool(TOOL, Some(args.seed))))?;
    out.write(&Record::Problem(exp.problem.clone()))?;
    if args.emit_spectra {
        for s in exp.spectra() {
            out.write(&Record::Spectrum(s))?;
        }
    }
    let progress = std::io::stderr().is_terminal();
    for plan in &exp.plans {
        let name = plan.optimizer.name();
        let lr = match plan.lr {
            Some(lr) => lr,
            None => {
                let tuning = exp
                    .tune(plan, |lr| {
                        if progress {
                            eprintln!("{TOOL}: tuning {name} lr {lr}");
                        }
                    })
                    .map_err(cli_error)?;
                for t in tuning.records {
                    out.write(&Record::Tune(t))?;
                }
                tuning.lr
            }
        };
        if progress {
            eprintln!("{TOOL}: {name} lr {lr}");
        }
        exp.iterates(plan, lr, |it| out.write(&Record::Iterate(it)))?;
    }
    Ok(())
}
