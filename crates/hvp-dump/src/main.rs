//! hvp-dump: Lanczos tridiagonals (or exact Hessians) of parameter blocks of
//! a network, as JSON-lines records. Thin: arguments -> a job -> `nets` ->
//! records.

mod args;
mod batch;
mod dump;
mod guards;
mod job;
mod list;
mod messages;
mod output;

use clap::Parser;
use cli::{Error, Result};
use nets::blocks::{select, units_of, Block};
use nets::data::Shape;
use nets::hvp::HessianBatch;
use nets_cli::Data;
use records::RecordWriter;

use args::{Args, TOOL};
use job::{BlockChoice, HvpJob};
use messages::from_nets;

fn main() {
    let args = Args::parse();
    cli::exit(TOOL, run(&args));
}

fn run(args: &Args) -> Result<()> {
    if args.list_models {
        return list::list_models(&args.data_flags.dir());
    }
    let job = HvpJob::from_args(args)?;
    nets_cli::set_threads(TOOL, job.threads)?;
    hessian(&job)
}

/// The model and its Hessian batch, then the runs over the chosen blocks.
fn hessian(job: &HvpJob) -> Result<()> {
    let data = &job.batching;
    let resolved = nets_cli::resolve(&job.model, job.dtype, job.device, &job.data, from_nets, |spec, kind| {
        let stream = batch::draw(job, spec, kind)?;
        let shape = stream.shape;
        Ok((stream, shape))
    })?;
    let mut recipe = resolved.recipe;
    let kind = recipe.kind();
    let value_bytes = kind.elt_size_in_bytes() as f64;
    let graph_of = |n: usize| data.micro_batch.map_or(n, |m| (m as usize).min(n));
    if let Data::Drawn { data: stream, spec } = &resolved.data {
        let (positions, classes) = match stream.shape {
            Shape::Classes { classes, .. } => (1, classes),
            Shape::Tokens { vocab } => (spec.seq_len, vocab),
        };
        let graph = graph_of(stream.len()) as i64;
        let what = format!("a graph of {graph} examples (--batch-size, or --micro-batch) for its logits");
        nets_cli::fits(guards::logits_bytes(graph, positions, classes, value_bytes), &what)?;
    }
    if let Some(params) = recipe.param_count() {
        nets_cli::fits(params as f64 * value_bytes, &format!("a model of {params} parameters (its weights)"))?;
    }
    let model = recipe.build().map_err(from_nets)?;
    match &resolved.data {
        Data::Drawn { data: stream, .. } => {
            let first = stream.examples(0, graph_of(stream.len())).map_err(from_nets)?.to(job.device);
            let classes = match stream.shape {
                Shape::Classes { classes, .. } => Some(classes),
                Shape::Tokens { .. } => None,
            };
            model.check_data(&first, classes).map_err(checked)?;
        }
        Data::Given { batch, file } => {
            model.check_data(batch, None).map_err(|e| checked(e).with_hint(&format!("--inputs {file}")))?
        }
        Data::Skipped => {}
    }
    let files = &job.files;
    if let Some(p) = &files.checkpoint {
        nets_cli::load_checkpoint(model.as_ref(), p, from_nets)?;
    }
    if let Some(p) = &files.save_weights {
        model.save(p).map_err(from_nets)?;
    }
    if let (Some(p), Data::Drawn { data: stream, .. }) = (&files.save_batch, &resolved.data) {
        nets::data::saved::save(&stream.whole().map_err(from_nets)?, p).map_err(from_nets)?;
    }
    let Some(blocks) = choose_blocks(&job.blocks, &units_of(model.named_parameters(), job.blocks.split_qkv))? else {
        return Ok(());
    };
    let label = files.label.clone().unwrap_or_else(|| recipe.name());
    let runs = |batch: HessianBatch| dump::dump(job, model.as_ref(), &blocks, batch, &label, kind);
    match &resolved.data {
        Data::Drawn { data: stream, .. } => batch::with_batch(job, stream, runs),
        Data::Given { batch, .. } => runs(HessianBatch::Held { batch, micro: data.micro_batch }),
        Data::Skipped => Ok(()),
    }
}

/// A model's first-batch check, with what to try when its output does not
/// fit the loss.
fn checked(e: nets::Error) -> Error {
    match e {
        nets::Error::Mismatch(_) => {
            from_nets(e).with_hint("--loss picks what the output is: cross-entropy, mse or module")
        }
        _ => from_nets(e),
    }
}

/// The blocks the --block patterns select from `candidates`; with
/// --list-blocks, prints them and returns None.
fn choose_blocks(choice: &BlockChoice, candidates: &[Block]) -> Result<Option<Vec<Block>>> {
    // The library lists at most 40 candidates; the flag that lists them all is ours to name.
    let blocks = select(candidates, &choice.patterns, choice.grouping)
        .map_err(|e| from_nets(e).with_hint("--list-blocks prints every block"))?;
    if choice.list {
        let mut text = String::new();
        for b in &blocks {
            let shape: Vec<String> = b.shape().iter().map(|d| d.to_string()).collect();
            text.push_str(&format!("{}\t[{}]\t{}\n", b.name, shape.join(", "), b.dim()));
        }
        RecordWriter::stdout().write_text(&text)?;
        return Ok(None);
    }
    Ok(Some(blocks))
}
