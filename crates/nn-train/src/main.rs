//! nn-train: train a zoo network or a TorchScript module with libtorch's
//! optimizers, one run per learning rate, as JSON-lines records. Thin:
//! arguments -> a job -> `nets::train` -> records and checkpoints.

mod args;
mod job;
mod lr_scale;
mod messages;
mod sweep;

use clap::Parser;
use cli::{Error, Result};
use nets::data::{Batch, DataKind, Examples, Shape, TrainData};
use nets::train::{self, HeldOut, TrainConfig};
use nets_cli::Data;
use records::{Classes, Record, RecordWriter, Run};

use args::{Args, TOOL};
use job::TrainJob;
use messages::from_nets;

/// Held-out examples evaluated per forward pass.
const EVAL_BATCH: usize = 500;

fn main() {
    let args = Args::parse();
    cli::exit(TOOL, run(&args));
}

fn run(args: &Args) -> Result<()> {
    let job = TrainJob::from_args(args)?;
    nets_cli::set_threads(TOOL, job.threads)?;
    train_all(&job)
}

/// The model and its data, then one run per rate.
fn train_all(job: &TrainJob) -> Result<()> {
    let d = &job.data;
    let resolved = nets_cli::resolve(&job.model, Some(job.kind), job.device, d, from_nets, |spec, kind| {
        if spec.kind == DataKind::Synthetic {
            // Drawn as f64 values, for the training and the held-out set.
            let need = 2.0 * nets_cli::batch_bytes(&spec.input, spec.batch_size, spec.seq_len, 8.0);
            let what = format!("--synthetic-examples {} (the training and held-out sets)", spec.batch_size);
            nets_cli::fits(need, &what)?;
        }
        let data = nets::data::load_split(spec, kind).map_err(from_nets)?;
        let shape = data.shape;
        Ok((data, shape))
    })?;
    let mut recipe = resolved.recipe;
    let (data, given) = match resolved.data {
        Data::Drawn { data, .. } => (data, None),
        Data::Given { batch, file } => (given_data(batch), Some(file)),
        Data::Skipped => return Err(Error::usage("no training data")),
    };
    let steps = job.total_steps(data.train.len())?;
    let save_at = train::steps_at(&job.save_at, steps).map_err(from_nets)?;
    if let Some(params) = recipe.param_count() {
        // Weights, their gradients and the optimizer's state, before any is built.
        let copies = 2 + job.optimizer.state_tensors();
        let what = format!("training a model of {params} parameters (weights, gradients, optimizer state)");
        nets_cli::fits((copies * job.kind.elt_size_in_bytes()) as f64 * params as f64, &what)?;
    }
    let mut cfg = TrainConfig {
        optimizer: job.optimizer,
        lr: job.rates[0],
        schedule: job.schedule,
        batch_size: job.batch_size,
        steps,
        clip: job.clip,
        eval_every: job.eval_every.unwrap_or((steps / 10).max(1)),
        log_every: job.log_every,
        save_at,
        seed: job.seed,
        lr_scale: Vec::new(),
    };
    train::check(&cfg, &data).map_err(from_nets)?;
    if let Some(dir) = &job.save_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::invalid(format!("cannot create --save-dir {}: {e}", dir.display())))?;
    }
    let mut heldout =
        HeldOut::new(&data.heldout, job.eval_examples, EVAL_BATCH, job.seed, job.device).map_err(from_nets)?;
    if let (true, Shape::Classes { classes, .. }) = (d.flags.class_zipf != 0.0, data.shape) {
        heldout = heldout.by_halves(classes);
    }
    // Every run starts from the same weights: the first one's network also
    // resolves the learning-rate factors before the `run` record is written.
    let first = sweep::fresh(job, &mut recipe)?;
    cfg.lr_scale = lr_scale::factors(job.lr_scale_from.as_ref(), &job.lr_scale, &first.named_parameters())?;

    let label = job.label.clone().unwrap_or_else(|| recipe.name());
    let mut out = RecordWriter::stdout();
    let mut run = Run::for_tool(TOOL, Some(job.seed));
    run.model = Some(label.clone());
    run.device = Some(nets::device_name(job.device));
    run.dtype = Some(nets::dtype_name(job.kind).to_string());
    run.lr_scale = lr_scale::record(&cfg.lr_scale);
    run.lr_scale_rule = lr_scale::rule_name(job.lr_scale_from.as_ref());
    run.class_zipf = Some(d.flags.class_zipf).filter(|s| *s != 0.0);
    // libtorch's reductions, and so the bytes, depend on the count.
    run.threads = Some(tch::get_num_threads().max(1) as u64);
    out.write(&Record::Run(run))?;
    if job.class_counts {
        out.write(&Record::Classes(Classes { model: label.clone(), counts: data.train.class_counts() }))?;
    }
    let sweep = sweep::Sweep { job, data: &data, heldout: &heldout, given: given.as_deref(), label: &label };
    sweep.run(&mut recipe, first, cfg, &mut out)
}

/// A user's batch as training data, also held out.
fn given_data(batch: Batch) -> TrainData {
    let batch = batch.to(tch::Device::Cpu);
    let copy = Batch { x: batch.x.shallow_clone(), y: batch.y.shallow_clone() };
    TrainData {
        train: Examples::Held(batch),
        heldout: Examples::Held(copy),
        shape: Shape::Classes { features: 0, classes: 0 },
        heldout_rule: "the --inputs examples themselves",
    }
}
