//! theory-check: every quantitative claim of the paper's Section 3 against
//! what quad-sim trajectories (and its own Monte-Carlo draws) show.

mod table;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use cli::{Error, Result};
use quadratic::claims::{self, monte_carlo::monte_carlo, proposition2::proposition2, theorem2, Inputs};
use records::{Record, RecordWriter, Run};

const TOOL: &str = "theory-check";

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    allow_negative_numbers = true,
    about = "Check Propositions 1-2, Theorems 1-2 and Table 2 of the paper's Section 3 against quad-sim output",
    long_about = "Reads `problem` and `iterate` records (from quad-sim) and writes one `check` record per \
claim and trajectory: claim, statement, predicted, observed, holds (true / false / null when the claim does \
not apply). Per-step bounds (GD's (1-2/(kappa+1))^2, Theorem 1's max_l (1-1/kappa_l), Theorem 2's \
max_l (1-1/(r kappa_l))) are checked between every pair of consecutive iterates written (with \
quad-sim --every K, over K steps against the bound to the power K). Table 2 rows compare the iterations \
each bound predicts for a relative loss gap of --eps with the iterations observed.

Theorem 2 is false as stated when the blocks' c1_l differ (docs/theorem2.md). Wherever it is checked, the \
bounds that do hold at the same step are checked on the same steps: theorem2-corrected, max_l \
(1-1/(R kappa_l)) with R = (max_l c2_l / min_l c1_l)^2, and theorem2-tight, max_l (1 - eta/(c2_l kappa_l))^2 \
(attained by 1x1 blocks). Every run also reports theorem2-counterexample, whatever the input: two 1x1 \
blocks H = diag(1, 1), w0 = (1, 2), where the theorem promises E_1 = 0 and Adam observes E_1/E_0 = 1/5, then \
1/4 per step (holds = false), followed by the corrected bounds on that trajectory.

It then builds problems itself: --trials random draws of Case 3 (the distribution of Assumption 1's r \
and of kappa(D0_l^{-1} H_l)/kappa_l, against the paper's statements, with Theorem 2 and the corrected \
bounds checked on every draw), the worst case of Proposition 1 over a range of step sizes, and Proposition 2's limit cycle of \
Adam (beta2 < 1, constant step) on L(w) = w^2/2, written as a trajectory. Other record types pass \
through unchanged.

No per-step bound assumes the blocks are rotated. The Adam-vs-GD comparison (the paper's Figure 8, made \
for Haar-rotated blocks) is judged only on problems with rotation haar-qr; on quad-sim --rotation none \
problems it reports the speed-up with holds = null.",
    after_help = "Examples:
  quad-sim --case 3 | theory-check
  quad-sim --case 4 --every 10 | theory-check --format table
  theory-check --no-input --trials 10000 --format table      # Monte-Carlo and Proposition 2 only
  quad-sim --case 3 | theory-check --trials 0 | jq -c 'select(.type==\"check\") | [.claim,.holds]'"
)]
struct Args {
    /// Input files of JSON-lines records; stdin when none (or `-`). Stdin is
    /// not read when it is a terminal. Input read but holding no `problem`
    /// or `iterate` record is an error (--no-input skips reading).
    files: Vec<PathBuf>,

    /// Do not read any input: only the checks this tool builds itself.
    #[arg(long)]
    no_input: bool,

    /// Random draws of Case 3 for the Monte-Carlo statements (0 = skip).
    #[arg(long, default_value_t = 1000)]
    trials: usize,

    /// Condition number of the Monte-Carlo Case 3 problems.
    #[arg(long, default_value_t = 2000.0)]
    mc_kappa: f64,

    /// Steps of Adam (beta2 = 1) run on each draw to check Theorem 2 (and the corrected bounds) per step.
    #[arg(long, default_value_t = 300)]
    mc_iters: u64,

    /// Relative loss gap of Table 2's iteration counts.
    #[arg(long, default_value_t = 1e-6)]
    eps: f64,

    /// Relative slack allowed on per-step bounds (rounding).
    #[arg(long, default_value_t = 1e-9)]
    tol: f64,

    /// Step of Adam in the Proposition 2 demo on w^2/2 (w0 = 1).
    #[arg(long, default_value_t = 0.01)]
    prop2_lr: f64,

    /// beta2 of the Proposition 2 demo (with 0.999 and w0 = 1 the transient
    /// underflows f64 before the limit cycle forms).
    #[arg(long, default_value_t = 0.99)]
    prop2_beta2: f64,

    /// Steps of the Proposition 2 demo (0 = skip).
    #[arg(long, default_value_t = 20000)]
    prop2_steps: u64,

    /// Write every K-th iterate of the Proposition 2 demo.
    #[arg(long, default_value_t = 100)]
    prop2_every: u64,

    /// Base seed of the Monte-Carlo draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// `jsonl` records, or a plain-text `table` of the checks and distributions.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Format {
    Jsonl,
    Table,
}

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

/// Where the output goes: straight to stdout as records, or collected for a table.
struct Sink {
    out: RecordWriter<std::io::Stdout>,
    format: Format,
    rows: Vec<Record>,
}

impl Sink {
    fn emit(&mut self, r: Record) -> Result<()> {
        match self.format {
            Format::Jsonl => Ok(self.out.write(&r)?),
            Format::Table => {
                if matches!(r, Record::Check(_) | Record::Distribution(_)) {
                    self.rows.push(r);
                }
                Ok(())
            }
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let config = claims::Config {
        eps: args.eps,
        tol: args.tol,
        trials: args.trials,
        mc_kappa: args.mc_kappa,
        mc_iters: args.mc_iters,
        seed: args.seed,
        prop2_lr: args.prop2_lr,
        prop2_beta2: args.prop2_beta2,
        prop2_steps: args.prop2_steps,
        prop2_every: args.prop2_every,
    };
    config.validate().map_err(cli_error)?;
    let mut sink = Sink { out: RecordWriter::stdout(), format: args.format, rows: Vec::new() };
    sink.emit(Record::Run(Run::for_tool(TOOL, Some(args.seed))))?;

    let mut inputs = Inputs::default();
    if !args.no_input && (!args.files.is_empty() || !std::io::stdin().is_terminal()) {
        let pass = if args.format == Format::Jsonl { Some(&mut sink.out) } else { None };
        cli::read_records(&args.files, &["problem", "iterate"], pass, |line| {
            match line.kind.as_str() {
                "problem" => inputs
                    .add_problem(line.parse()?, || line.location())
                    .map_err(|(field, why)| line.error(Some(&field), why))?,
                _ => inputs
                    .add_iterate(line.parse()?, || line.location())
                    .map_err(|(field, why)| line.error(Some(field), why))?,
            }
            Ok(())
        })?
        .require("`problem` and `iterate`")
        .map_err(|e| e.with_hint("--no-input runs only the checks built here"))?;
    }
    for c in claims::input_checks(&inputs, &config) {
        sink.emit(Record::Check(c))?;
    }
    for c in theorem2::counterexample(&config).map_err(cli_error)? {
        sink.emit(Record::Check(c))?;
    }
    let progress = std::io::stderr().is_terminal();
    if args.trials > 0 {
        let draws = monte_carlo(&config, |i| {
            if progress && i % 100 == 0 {
                eprintln!("{TOOL}: Monte-Carlo draw {i}/{}", args.trials);
            }
        });
        for r in draws.map_err(cli_error)? {
            sink.emit(r)?;
        }
    }
    if args.prop2_steps > 0 {
        for r in proposition2(&config).map_err(cli_error)? {
            sink.emit(r)?;
        }
    }
    if args.format == Format::Table {
        sink.out.write_text(&table::table(&sink.rows))?;
    }
    Ok(())
}
