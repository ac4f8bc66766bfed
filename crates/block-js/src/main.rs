//! block-js: density records in, pairwise distances and one heterogeneity
//! record per model out.

mod args;
mod compare;
mod ordered;
mod output;

use clap::Parser;
use cli::{Error, Groups, Result};
use records::{Density, InputLine, Record, RecordWriter, Run};
use spectra::density::validate_density;

use args::{Args, Format, TOOL};
use compare::{check_bootstrap_size, check_pair_count, compare_model, Model};
use output::{csv_rows, matrix_text};

fn main() {
    let args = Args::parse();
    cli::exit(TOOL, run(&args));
}

fn run(args: &Args) -> Result<()> {
    let metric = args::metric(args)?;
    if args.bootstrap == 1 {
        return Err(Error::usage(
            "--bootstrap 1 gives no spread (a standard error needs at least 2 replicates; 0 turns it off)",
        ));
    }
    let pool = args::thread_pool(args)?;
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
            compare_model(m, metric, args.bootstrap, args.seed, &pool, |d| Ok(out.write(&Record::Distance(d))?))?
        } else {
            let mut distances = Vec::new();
            let mut result = compare_model(m, metric, args.bootstrap, args.seed, &pool, |d| {
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
