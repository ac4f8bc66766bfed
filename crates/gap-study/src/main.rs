//! gap-study: the three steps of the study of docs/study.md that are not
//! training or Hessians: each configuration's predictors at initialization,
//! its SGD-AdamW gap over seeds, and each predictor's association with the
//! gaps across configurations. Thin: flags -> `predictors` -> records.

mod associate;
mod gap;
mod predict;

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
  cat pred-*.jsonl gap-*.jsonl | gap-study associate --bootstrap 1000 --seed 1"
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
}

fn main() {
    let args = Args::parse();
    let result = match &args.command {
        Command::Predictors(a) => predict::run(a),
        Command::Gap(a) => gap::run(a),
        Command::Associate(a) => associate::run(a),
    };
    cli::exit(TOOL, result);
}
