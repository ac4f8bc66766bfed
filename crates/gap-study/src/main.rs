//! gap-study: the steps of the study of docs/study.md that are not
//! training or Hessians: each configuration's predictors at initialization,
//! its SGD-AdamW gap over seeds, and each predictor's association with the
//! gaps across configurations; and two of docs/mechanism.md: the share of
//! the gap per-block learning rates close (`rescue`), and how far their
//! factors move during training (`drift`). Thin: flags -> `predictors` -> records.

mod associate;
mod drift;
mod gap;
mod predict;
mod rescue;

use clap::{Parser, Subcommand};

const TOOL: &str = "gap-study";

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    about = "Predictors of SGD's deficit at initialization, the deficit itself, and how well each predicts it",
    after_help = "Examples (make study runs them for every configuration; docs/study.md):
  gap-study predictors init.density.jsonl init.gradient.jsonl classes.jsonl --js0 absolute=js0.jsonl > pred.jsonl
  gap-study gap --family gpt --sgd tune-sgd.jsonl --sgd-seed s1.jsonl --adamw tune-adamw.jsonl --adamw-seed a1.jsonl
  cat pred-*.jsonl gap-*.jsonl | gap-study associate --bootstrap 1000 --seed 1
  gap-study rescue --family gpt --rule curvature --sgd tune-sgd.jsonl --sgd-seed s1.jsonl --sgd-seed s2.jsonl \\
    --rescued tune-r.jsonl --rescued-seed r1.jsonl --rescued-seed r2.jsonl \\
    --adamw tune-adamw.jsonl --adamw-seed a1.jsonl --adamw-seed a2.jsonl
  gap-study drift --initial init.density.jsonl --at 0.25=q1.density.jsonl --at 0.5=q2.density.jsonl"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Predictors(predict::Args),
    Gap(gap::Args),
    Associate(associate::Args),
    /// The share of SGD's gap to AdamW that per-block rates close, with Fieller's interval.
    Rescue(rescue::Args),
    /// How far per-block rate factors move from initialization to checkpoints.
    Drift(drift::Args),
}

fn main() {
    let args = Args::parse();
    let result = match &args.command {
        Command::Predictors(a) => predict::run(a),
        Command::Gap(a) => gap::run(a),
        Command::Associate(a) => associate::run(a),
        Command::Rescue(a) => rescue::run(a),
        Command::Drift(a) => drift::run(a),
    };
    cli::exit(TOOL, result);
}
