//! nn-train: train a zoo network with libtorch's optimizers, one run per
//! learning rate, as JSON-lines records. Thin: arguments -> `nets::train`
//! -> records and checkpoints.

mod args;
mod lr_scale;
mod messages;
mod trainee;

use std::path::PathBuf;

use clap::Parser;
use cli::{Error, Result};
use nets::data::{Shape, TrainData};
use nets::train::{self, grid, Event, HeldOut, OptimizerSpec, Schedule, TrainConfig};
use nets::zoo::{self, ModelOptions};
use records::{Best, Classes, Record, RecordWriter, Run, Step, TrainSummary};

use args::{Args, TOOL};
use messages::from_nets;
use trainee::{Script, Trainee};

/// What can stop a training run: the library, or writing its records.
enum Stop {
    Nets(nets::Error),
    Tool(Error),
}

impl From<nets::Error> for Stop {
    fn from(e: nets::Error) -> Self {
        Stop::Nets(e)
    }
}

impl From<Stop> for Error {
    fn from(s: Stop) -> Self {
        match s {
            Stop::Nets(e) => from_nets(e),
            Stop::Tool(e) => e,
        }
    }
}

/// Held-out examples evaluated per forward pass.
const EVAL_BATCH: usize = 500;

fn main() {
    let args = Args::parse();
    cli::exit(TOOL, run(&args));
}

/// Every flag that can be checked alone, before any data is read.
fn check_flags(args: &Args, rates: &[f64]) -> Result<()> {
    if rates.is_empty() {
        return Err(Error::usage("--lr-grid needs at least one rate"));
    }
    if let Some(r) = rates.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        return Err(Error::usage(format!("learning rates must be positive and finite, got {r}")));
    }
    if args.steps == Some(0) {
        return Err(Error::usage("--steps must be at least 1"));
    }
    if args.epochs.is_some_and(|e| !(e.is_finite() && e > 0.0)) {
        return Err(Error::usage("--epochs must be positive"));
    }
    if args.batch_size == 0 {
        return Err(Error::usage("--batch-size must be at least 1"));
    }
    if args.eval_every == Some(0) || args.log_every == 0 {
        return Err(Error::usage("--eval-every and --log-every must be at least 1"));
    }
    if args.clip.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
        return Err(Error::usage("--clip must be positive"));
    }
    if !(0.0..1.0).contains(&args.momentum) {
        return Err(Error::usage(format!("--momentum must be in [0, 1), got {}", args.momentum)));
    }
    if args.weight_decay.is_some_and(|w| !(w.is_finite() && w >= 0.0)) {
        return Err(Error::usage("--weight-decay must be at least 0"));
    }
    if let Some(f) = args.save_at.iter().find(|f| !(0.0..=1.0).contains(*f)) {
        return Err(Error::usage(format!("--save-at fractions must be in [0, 1], got {f}")));
    }
    if args.synthetic_examples < 1 {
        return Err(Error::usage("--synthetic-examples must be at least 1"));
    }
    lr_scale::check_rules(&args.lr_scale)?;
    // A run is named by its rate (records, checkpoints): one run per rate.
    if let Some((i, r)) = rates.iter().enumerate().find(|(i, r)| rates[..*i].contains(*r)) {
        return Err(Error::usage(format!(
            "--lr-grid has the rate {r} twice (positions {} and {}): each rate is one run, named by it",
            rates.iter().position(|x| x == r).map_or(0, |p| p + 1),
            i + 1
        )));
    }
    Ok(())
}

/// Updates per run, from --steps or --epochs.
fn total_steps(args: &Args, data: &TrainData) -> Result<u64> {
    let n = data.train.len();
    if let Some(n) = n.filter(|n| args.batch_size > *n) {
        return Err(Error::usage(format!(
            "--batch-size {} exceeds the {n} examples of the training set",
            args.batch_size
        )));
    }
    match (args.steps, args.epochs, n) {
        (Some(s), _, _) => Ok(s),
        (None, Some(e), Some(n)) => Ok(((e * (n / args.batch_size) as f64).round() as u64).max(1)),
        (None, Some(_), None) => {
            Err(Error::usage("--epochs does not apply to BERT (batches are drawn afresh): use --steps"))
        }
        (None, None, _) => Err(Error::usage("give --steps or --epochs")),
    }
}

fn run(args: &Args) -> Result<()> {
    let rates: Vec<f64> = args.lr_grid.clone().or(args.lr.map(|r| vec![r])).unwrap_or_default();
    check_flags(args, &rates)?;
    nets_cli::set_threads(TOOL, args.threads)?;
    let kind = nets::parse_dtype(&args.dtype).map_err(from_nets)?;
    let device = nets::parse_device(&args.device).map_err(from_nets)?;
    let opts = args.model_flags.options(args.bn);
    let (data, source, name) = match (&args.torchscript, &args.model) {
        (Some(path), _) => {
            let script = trainee::script(args, path, kind, device)?;
            let stem = path.file_stem().map_or_else(|| "torchscript".into(), |s| s.to_string_lossy().into_owned());
            (script.data(args)?, Source::Script(script), stem)
        }
        (None, Some(model)) => {
            let (data, arch) = zoo_data(args, model, &opts, kind)?;
            (data, Source::Zoo(arch), model.clone())
        }
        (None, None) => return Err(Error::usage("give --model or --torchscript")),
    };
    let steps = total_steps(args, &data)?;
    let save_at = train::steps_at(&args.save_at, steps).map_err(from_nets)?;
    let mut optimizer = OptimizerSpec::defaults(args.optimizer);
    optimizer.momentum = args.momentum;
    optimizer.weight_decay = args.weight_decay.unwrap_or(optimizer.weight_decay);
    if let Source::Zoo(arch) = &source {
        // Weights, their gradients and the optimizer's state, before any is built.
        let params = arch.param_count();
        let copies = 2 + optimizer.state_tensors();
        let what = format!("training a model of {params} parameters (weights, gradients, optimizer state)");
        nets_cli::fits((copies * kind.elt_size_in_bytes()) as f64 * params as f64, &what)?;
    }
    let mut cfg = TrainConfig {
        optimizer,
        lr: rates[0],
        schedule: Schedule { kind: args.schedule, warmup: args.warmup },
        batch_size: args.batch_size,
        steps,
        clip: args.clip,
        eval_every: args.eval_every.unwrap_or((steps / 10).max(1)),
        log_every: args.log_every,
        save_at,
        seed: args.seed,
        lr_scale: Vec::new(),
    };
    train::check(&cfg, &data).map_err(from_nets)?;
    if let Some(dir) = &args.save_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::invalid(format!("cannot create --save-dir {}: {e}", dir.display())))?;
    }
    let mut heldout =
        HeldOut::new(&data.heldout, args.eval_examples, EVAL_BATCH, args.seed, device).map_err(from_nets)?;
    if let (true, Shape::Classes { classes, .. }) = (args.data_flags.class_zipf != 0.0, data.shape) {
        heldout = heldout.by_halves(classes);
    }
    // Every run starts from the same weights: the first one's network also
    // resolves the learning-rate factors before the `run` record is written.
    let fresh = || -> Result<Trainee> {
        let model = match &source {
            Source::Zoo(arch) => Trainee::Zoo(
                nets::models::try_build(arch, kind, device, args.model_flags.init_seed).map_err(from_nets)?,
            ),
            Source::Script(script) => Trainee::Script(script.load()?.0),
        };
        if let Some(p) = &args.checkpoint {
            model.load(p)?;
        }
        Ok(model)
    };
    let first_model = fresh()?;
    cfg.lr_scale = lr_scale::factors(args, &first_model.params())?;
    let mut first_model = Some(first_model);

    let label = args.label.clone().unwrap_or(name);
    let opt_name = args.optimizer.name();
    let mut out = RecordWriter::stdout();
    let mut run = Run::for_tool(TOOL, Some(args.seed));
    run.model = Some(label.clone());
    run.device = Some(nets::device_name(device));
    run.dtype = Some(nets::dtype_name(kind).to_string());
    run.lr_scale = lr_scale::record(&cfg.lr_scale);
    run.lr_scale_rule = lr_scale::rule_name(args);
    run.class_zipf = Some(args.data_flags.class_zipf).filter(|s| *s != 0.0);
    // libtorch's reductions, and so the bytes, depend on the count.
    run.threads = Some(tch::get_num_threads().max(1) as u64);
    out.write(&Record::Run(run))?;
    if args.class_counts {
        out.write(&Record::Classes(Classes { model: label.clone(), counts: data.train.class_counts() }))?;
    }

    let bar = nets_cli::progress_bar(steps * rates.len() as u64, "updates");
    let mut finals = Vec::new();
    let mut summaries = Vec::new();
    let mut rates = rates;
    let mut added = 0;
    let mut next = 0;
    while next < rates.len() {
        let lr = rates[next];
        next += 1;
        cfg.lr = lr;
        bar.set_message(format!("{opt_name} lr {lr}"));
        let model = match first_model.take() {
            Some(model) => model,
            None => fresh()?,
        };
        // A module's --inputs are checked whole (every target against its
        // classes); a data set's labels were checked where they were read.
        let checked = match (&source, &data.train, &args.inputs) {
            (Source::Script(_), nets::data::Examples::Held(batch), Some(file)) => model
                .net()
                .check(&batch.to(device))
                .map_err(|e| from_nets(e).with_hint(&format!("--inputs {}", file.display()))),
            _ => {
                let first = data.train.batch(&[0], 0).map_err(from_nets)?.to(device);
                model.net().check(&first).map_err(from_nets)?;
                // Later batches may hold labels the first does not.
                match (&model, &data.shape) {
                    (Trainee::Script(module), Shape::Classes { classes, .. }) => {
                        module.check_classes(&first, *classes).map_err(from_nets)
                    }
                    _ => Ok(()),
                }
            }
        };
        checked?;
        let params = model.params();
        let outcome = train::train(model.net(), &params, &data, &heldout, &cfg, device, |event| match event {
            Event::Step(s) => {
                bar.inc(cfg.log_every.min(s.step));
                out.write(&Record::Step(Step {
                    model: label.clone(),
                    optimizer: opt_name.to_string(),
                    lr,
                    step: s.step,
                    epoch: s.epoch,
                    lr_now: s.lr_now,
                    train_loss: s.train_loss,
                    grad_norm: s.grad_norm,
                    // A non-finite held-out loss (the run diverged there) is left out: no record holds NaN.
                    heldout_loss: s.heldout.map(|h| h.loss).filter(|l| l.is_finite()),
                    heldout_accuracy: s.heldout.filter(|h| h.loss.is_finite()).and_then(|h| h.accuracy),
                    heldout_accuracy_frequent_half: s
                        .heldout
                        .filter(|h| h.loss.is_finite())
                        .and_then(|h| h.frequent_accuracy),
                    heldout_accuracy_rare_half: s.heldout.filter(|h| h.loss.is_finite()).and_then(|h| h.rare_accuracy),
                    heldout_loss_frequent_half: s.heldout.filter(|h| h.loss.is_finite()).and_then(|h| h.frequent_loss),
                    heldout_loss_rare_half: s.heldout.filter(|h| h.loss.is_finite()).and_then(|h| h.rare_loss),
                }))
                .map_err(|e| Stop::Tool(e.into()))
            }
            Event::Checkpoint { step } => {
                let dir = args.save_dir.clone().unwrap_or_else(|| PathBuf::from("."));
                let path = dir.join(format!("{label}-{opt_name}-lr{lr}-step{step}.safetensors"));
                model.save(&path).map_err(Stop::Nets)
            }
        })
        .map_err(Error::from)?;
        let summary = TrainSummary {
            model: label.clone(),
            optimizer: opt_name.to_string(),
            lr,
            steps: outcome.steps,
            epochs: outcome.epochs,
            batch_size: args.batch_size as u64,
            weight_decay: cfg.optimizer.weight_decay,
            final_heldout_loss: outcome.heldout.filter(|_| outcome.diverged_at.is_none()).map(|h| h.loss),
            final_heldout_accuracy: outcome.heldout.filter(|_| outcome.diverged_at.is_none()).and_then(|h| h.accuracy),
            final_heldout_accuracy_frequent_half: outcome
                .heldout
                .filter(|_| outcome.diverged_at.is_none())
                .and_then(|h| h.frequent_accuracy),
            final_heldout_accuracy_rare_half: outcome
                .heldout
                .filter(|_| outcome.diverged_at.is_none())
                .and_then(|h| h.rare_accuracy),
            final_heldout_loss_frequent_half: outcome
                .heldout
                .filter(|_| outcome.diverged_at.is_none())
                .and_then(|h| h.frequent_loss),
            final_heldout_loss_rare_half: outcome
                .heldout
                .filter(|_| outcome.diverged_at.is_none())
                .and_then(|h| h.rare_loss),
            final_train_loss: outcome.final_train_loss,
            diverged_at: outcome.diverged_at,
        };
        out.write(&Record::Summary(summary.clone()))?;
        finals.push((lr, summary.final_heldout_loss));
        summaries.push(summary);
        // --extend-grid: once the grid so far is done, one more rate past the edge the best sits on.
        if next == rates.len() && added < args.extend_grid.unwrap_or(0) {
            if let Some(lr) = grid::extension(&finals) {
                rates.push(lr);
                added += 1;
                bar.inc_length(steps);
            }
        }
    }
    bar.finish_and_clear();

    let diverged = summaries.iter().filter(|s| s.diverged_at.is_some()).count();
    if args.lr_grid.is_none() {
        return match summaries[0].diverged_at {
            Some(_) if args.allow_divergence => Ok(()),
            Some(step) => Err(Error::numeric(format!(
                "the loss or gradient is NaN or infinite at update {step} (--lr {})",
                rates[0]
            ))),
            None => Ok(()),
        };
    }
    let Some(win) = grid::best(&finals) else {
        return Err(Error::numeric(format!("every rate of --lr-grid diverged ({diverged} of {})", rates.len())));
    };
    let w = &summaries[win];
    out.write(&Record::Best(Best {
        model: label,
        optimizer: opt_name.to_string(),
        lr: w.lr,
        rule: grid::RULE.to_string(),
        final_heldout_loss: w.final_heldout_loss.unwrap_or(f64::NAN),
        final_heldout_accuracy: w.final_heldout_accuracy,
        tried: rates.len() as u64,
        diverged: diverged as u64,
        placement: Some(grid::placement(&finals).name().to_string()),
        added: args.extend_grid.map(|_| added as u64),
    }))?;
    Ok(())
}

/// How each run's network is made.
enum Source {
    Zoo(nets::models::Arch),
    Script(Script),
}

/// A zoo model's training data (read first: the vocabulary sizes the
/// model) and its architecture.
fn zoo_data(args: &Args, model: &str, opts: &ModelOptions, kind: tch::Kind) -> Result<(TrainData, nets::models::Arch)> {
    let entry = zoo::zoo_entry(model).map_err(from_nets)?;
    let shape_arch = zoo::arch(model, opts, 784, 2).map_err(from_nets)?;
    let context = shape_arch.block_size();
    let flags = &args.data_flags;
    let seq_len = nets_cli::zoo_seq_len(context, flags.seq_len)?;
    let data_kind = flags.data.unwrap_or(entry.default_data);
    let spec = flags.spec(data_kind, args.synthetic_examples, seq_len, args.data_seed, shape_arch.input());
    if data_kind == nets::data::DataKind::Synthetic {
        // Drawn as f64 values, for the training and the held-out set.
        let need = 2.0 * nets_cli::batch_bytes(&spec.input, spec.batch_size, seq_len, 8.0);
        let what = format!("--synthetic-examples {} (the training and held-out sets)", spec.batch_size);
        nets_cli::fits(need, &what)?;
    }
    let data = nets::data::load_split(&spec, kind).map_err(from_nets)?;
    let (input, classes) = match data.shape {
        Shape::Classes { features, classes } => (features, classes),
        Shape::Tokens { vocab } => (0, vocab),
    };
    let arch = zoo::arch(model, opts, input, classes).map_err(from_nets)?;
    Ok((data, arch))
}
