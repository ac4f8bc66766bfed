//! hvp-dump: Lanczos tridiagonals (or exact Hessians) of parameter blocks of
//! a network, as JSON-lines records. Thin: arguments -> `nets` -> records.

mod args;
mod guards;
mod list;
mod messages;
mod output;
mod torchscript;

use clap::Parser;
use cli::{Error, Result};
use lanczos::Options;
use nets::blocks::{select, units, Block, Grouping};
use nets::data::{Shape, Stream};
use nets::hvp::{BlockHessian, HessianBatch};
use nets::net::Net;
use nets::slq::{self, Engine, Output, Progress, Runs, Shard, Task};
use nets::zoo;
use records::{Gradient, Hessian, Record, RecordWriter, Run, Tridiag};

use args::{Args, DEFAULT_MEMORY_GIB, TOOL};
use messages::from_nets;

fn main() {
    let args = Args::parse();
    cli::exit(TOOL, run(&args));
}

fn run(args: &Args) -> Result<()> {
    if args.list_models {
        return list::list_models(&args.data_flags.dir());
    }
    let dtype = args.dtype.as_deref().map(nets::parse_dtype).transpose().map_err(from_nets)?;
    let device = nets::parse_device(&args.device).map_err(from_nets)?;
    if args.probes == 0 {
        return Err(Error::usage("--probes must be at least 1"));
    }
    if args.steps == 0 {
        return Err(Error::usage("--steps must be at least 1"));
    }
    if args.gradients && args.gradient_parts > 1 && args.bn == Some(nets::layers::BnMode::Batch) {
        return Err(Error::usage(
            "--gradients with --bn batch: each of the --gradient-parts would be normalized by its own \
             statistics, not the batch's; give --gradient-parts 1",
        ));
    }
    if args.memory.is_nan() || args.memory <= 0.0 {
        return Err(Error::usage("--memory must be positive"));
    }
    if let Some(t) = args.reorth_threshold {
        if !(t > 0.0 && t < 1.0) {
            return Err(Error::usage(format!("--reorth-threshold {t} is not in (0, 1)")));
        }
        if args.reorth != lanczos::Reorth::Partial {
            return Err(Error::usage("--reorth-threshold applies to --reorth partial only"));
        }
    }
    // A budget the machine cannot hold would let a basis through to an
    // allocation abort; one within it (or the default) is still checked
    // per block against the memory available (dump).
    if let Some(total) = cli::total_memory() {
        if args.memory > DEFAULT_MEMORY_GIB && args.memory * lanczos::GIB > total {
            return Err(Error::usage(format!(
                "--memory {} GiB is more than this machine's {} of memory",
                args.memory,
                cli::gigabytes(total)
            )));
        }
    }
    nets_cli::set_threads(TOOL, args.threads)?;
    if args.micro_batch.is_some_and(|m| m < 1) {
        return Err(Error::usage("--micro-batch must be at least 1"));
    }
    let shard: Option<Shard> =
        args.shard.as_deref().map(|s| s.parse().map_err(|m| Error::usage(format!("--shard {m}")))).transpose()?;
    if let Some(path) = &args.torchscript {
        return torchscript::run(args, path, dtype, device, shard);
    }
    if args.inputs.is_some() || args.loss.is_some() || args.reads.is_some() {
        return Err(Error::usage("--inputs, --loss and --reads apply to --torchscript only"));
    }
    let name = args.model.as_deref().expect("clap requires --model");
    let entry = zoo::zoo_entry(name).map_err(from_nets)?;
    let kind = dtype.unwrap_or(tch::Kind::Float);
    let opts = args.model_flags.options(args.bn);

    // Data first: the vocabulary sizes the model.
    let shape_arch = zoo::arch(name, &opts, 784, 2).map_err(from_nets)?;
    let context = shape_arch.block_size();
    let seq_len = nets_cli::zoo_seq_len(context, args.data_flags.seq_len)?;
    let kind_of_data = args.data_flags.data.unwrap_or(entry.default_data);
    let batch = batch_size(args, entry.default_batch)?;
    let spec = args.data_flags.spec(kind_of_data, batch, seq_len, args.data_seed, shape_arch.input());
    // Sizes before work: the batch (one micro-batch when streamed), then
    // one graph's logits (guards.rs).
    let value_bytes = kind.elt_size_in_bytes() as f64;
    let (held, what) = match args.batches {
        Some(_) => (args.micro_batch.unwrap_or(1), "--micro-batch"),
        None => (spec.batch_size, "--batch-size"),
    };
    let batch_bytes = nets_cli::batch_bytes(&spec.input, held, seq_len, value_bytes);
    nets_cli::fits(batch_bytes, &format!("{what} {held} (the examples held at once)"))?;
    if args.save_batch.is_some() {
        let whole = nets_cli::batch_bytes(&spec.input, spec.batch_size, seq_len, value_bytes);
        nets_cli::fits(whole, &format!("--save-batch of {} examples (assembled whole)", spec.batch_size))?;
    }
    let stream = nets::data::stream(&spec, kind).map_err(|e| match (e, args.batches, args.micro_batch) {
        // The batch size was not given as --batch-size: name the flags that made it.
        (nets::Error::BatchExceedsData { batch_size, available, data }, Some(n), Some(m)) => Error::usage(format!(
            "--batches {n} x --micro-batch {m} = {batch_size} examples exceed the {available} training examples of `{data}`"
        )),
        (e, ..) => from_nets(e),
    })?;
    let (input, classes) = match stream.shape {
        Shape::Classes { features, classes } => (features, classes),
        Shape::Tokens { vocab } => (0, vocab),
    };
    let graph = args.micro_batch.map_or(spec.batch_size, |m| m.min(spec.batch_size));
    let positions = if matches!(stream.shape, Shape::Tokens { .. }) { seq_len } else { 1 };
    let what = format!("a graph of {graph} examples (--batch-size, or --micro-batch) for its logits");
    nets_cli::fits(guards::logits_bytes(graph, positions, classes, value_bytes), &what)?;
    let arch = zoo::arch(name, &opts, input, classes).map_err(from_nets)?;
    let params = arch.param_count();
    nets_cli::fits(params as f64 * value_bytes, &format!("a model of {params} parameters (its weights)"))?;
    let model = nets::models::try_build(&arch, kind, device, args.model_flags.init_seed).map_err(from_nets)?;
    let first = stream.examples(0, graph as usize).map_err(from_nets)?;
    model.net.check(&first).map_err(from_nets)?;
    if let Some(p) = &args.checkpoint {
        nets::checkpoint::load(&model.vs, p).map_err(from_nets)?;
    }
    if let Some(p) = &args.save_weights {
        nets::checkpoint::save(&model.vs, p).map_err(from_nets)?;
    }
    if let Some(p) = &args.save_batch {
        nets::data::saved::save(&stream.whole().map_err(from_nets)?, p).map_err(from_nets)?;
    }

    let Some(blocks) = choose_blocks(args, &units(&model.vs, args.split_qkv))? else {
        return Ok(());
    };
    let label = args.label.clone().unwrap_or_else(|| name.to_string());
    with_batch(args, &stream, device, |batch| {
        dump(args, model.net.as_ref(), &blocks, batch, &label, kind, device, shard)
    })
}

/// The Hessian batch's size: --batch-size (else `default`), or with
/// --batches, that many micro-batches of --micro-batch examples.
fn batch_size(args: &Args, default: i64) -> Result<i64> {
    match (args.batches, args.micro_batch) {
        (Some(n), _) if n < 1 => Err(Error::usage("--batches must be at least 1")),
        (Some(n), Some(m)) => n.checked_mul(m).ok_or_else(|| {
            Error::usage(format!("--batches {n} x --micro-batch {m} examples is more than can be counted"))
        }),
        _ => Ok(args.batch_size.unwrap_or(default)),
    }
}

/// Call `work` with the Hessian batch of `stream`: streamed with --batches,
/// else put on `device` whole (split into --micro-batch views).
fn with_batch<T>(
    args: &Args,
    stream: &Stream,
    device: tch::Device,
    work: impl FnOnce(HessianBatch) -> Result<T>,
) -> Result<T> {
    match (args.batches, args.micro_batch) {
        (Some(_), Some(micro)) => work(HessianBatch::Streamed { stream, micro: micro as usize, device }),
        _ => {
            let batch = nets::contain("putting the batch on the device", || Ok(stream.whole()?.to(device)))
                .map_err(from_nets)?;
            work(HessianBatch::Held { batch: &batch, micro: args.micro_batch })
        }
    }
}

/// The blocks the --block patterns select from `candidates`; with
/// --list-blocks, prints them and returns None.
fn choose_blocks(args: &Args, candidates: &[Block]) -> Result<Option<Vec<Block>>> {
    let (patterns, grouping) = match (args.blocks.is_empty(), args.merge) {
        (true, _) => (vec!["*".to_string()], Grouping::EachTensor),
        (false, true) => (args.blocks.clone(), Grouping::PerPattern),
        (false, false) => (args.blocks.clone(), Grouping::EachTensor),
    };
    // The library lists at most 40 candidates; the flag that lists them all is ours to name.
    let blocks = select(candidates, &patterns, grouping)
        .map_err(|e| from_nets(e).with_hint("--list-blocks prints every block"))?;
    if args.list_blocks {
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

/// Each block's gradient on `batch`, from `parts` equal parts of it.
fn gradients(net: &dyn Net, blocks: &[Block], batch: HessianBatch, parts: usize, label: &str) -> Result<Vec<Gradient>> {
    // Never larger parts than the micro-batches the size checks allowed.
    let batch = batch.in_parts(parts.max(batch.count()));
    let weights: Vec<f64> = (0..batch.count()).map(|k| batch.weight(k)).collect();
    let mut records = Vec::with_capacity(blocks.len());
    for block in blocks {
        let op = BlockHessian::new(net, block, batch).map_err(from_nets)?;
        let g = op.micro_batch_gradients().map_err(from_nets)?;
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let gram: Vec<f64> = g.iter().flat_map(|a| g.iter().map(|b| dot(a, b))).collect();
        let whole: Vec<f64> = (0..block.dim()).map(|i| g.iter().zip(&weights).map(|(gk, w)| w * gk[i]).sum()).collect();
        records.push(Gradient {
            model: label.to_string(),
            block: block.name.clone(),
            dim: block.dim() as u64,
            norm: dot(&whole, &whole).sqrt(),
            weights: weights.clone(),
            gram,
        });
    }
    Ok(records)
}

/// The runs over `blocks` of `net` on `batch` (on `device`), as records.
#[allow(clippy::too_many_arguments)]
fn dump(
    args: &Args,
    net: &dyn Net,
    blocks: &[Block],
    batch: HessianBatch,
    label: &str,
    kind: tch::Kind,
    device: tch::Device,
    shard: Option<Shard>,
) -> Result<()> {
    // --memory is met, not refused: each run takes the first rung of the
    // ladder (f64 basis, f32 basis, no reorthogonalization) whose basis fits;
    // with --basis-dir the disk basis is the only rung below f64 (checked below).
    let lopts = Options {
        steps: args.steps,
        reorth: args.reorth,
        // The Hessian-vector products are as precise as the network's dtype.
        operator_eps: match kind {
            tch::Kind::Double => f64::EPSILON,
            tch::Kind::Half => 2f64.powi(-10),
            tch::Kind::BFloat16 => 2f64.powi(-7),
            _ => f32::EPSILON as f64,
        },
        partial_threshold: args.reorth_threshold,
        threads: args.threads,
        basis_budget_gib: Some(args.memory),
        basis_dir: args.basis_dir.clone(),
        ..Options::default()
    };
    let engine = args.engine.resolve(device, args.basis_dir.is_some());
    if engine == Engine::Tensor && args.basis_dir.is_some() && !args.exact {
        return Err(Error::usage(
            "--basis-dir applies to --engine rust (the tensor engine keeps its basis on the device)",
        ));
    }
    if let Some(dir) = &args.basis_dir {
        if !dir.is_dir() {
            return Err(Error::invalid(format!("--basis-dir {}: not a directory", dir.display())));
        }
    }
    // Check every block against its limits before any work.
    for b in blocks {
        let d = b.dim();
        if args.exact && d > args.exact_max {
            return Err(Error::usage(format!(
                "block `{}` has {d} parameters, more than --exact-max {} (a dense Hessian needs {d} HVPs and {:.1} MB)",
                b.name,
                args.exact_max,
                (d * d * 8) as f64 / 1e6
            )));
        }
        if args.exact {
            nets_cli::fits((d as f64).powi(2) * 8.0, &format!("block `{}`'s dense Hessian (--exact)", b.name))?;
            continue;
        }
        let chosen = lanczos::within_budget(&lopts, d, args.memory);
        let kept = chosen.basis_kept(d);
        // With --basis-dir the disk basis replaces the ladder: never a smaller one.
        if args.basis_dir.is_some() && args.reorth.keeps_basis() && !matches!(kept.name().as_str(), "f64" | "f64-disk")
        {
            let row = lanczos::BasisMemory::of_run(&Options { basis_on_disk: true, ..lopts.clone() }, d)
                .map_or(0.0, |m| m.bytes());
            return Err(Error::usage(format!(
                "--memory {} GiB is less than block `{}`'s basis on disk needs in memory ({:.1} MiB: one f64 row of \
                 {d} entries and its buffer): raise --memory, or drop --basis-dir to let the basis shrink",
                args.memory,
                b.name,
                row / (1u64 << 20) as f64
            )));
        }
        // A basis on a GPU is not in host memory (the device refuses what it cannot hold).
        let on_host = engine == Engine::Rust || device == tch::Device::Cpu;
        if let Some(basis) = lanczos::BasisMemory::of_run(&chosen, d).filter(|_| on_host) {
            let what =
                format!("block `{}`'s Lanczos basis ({}, within --memory {} GiB)", b.name, kept.name(), args.memory);
            nets_cli::fits(basis.bytes(), &what)?;
        }
    }

    let mut run = Run::for_tool(TOOL, Some(args.seed));
    run.args = output::recorded_args(&run.args);
    run.model = Some(label.to_string());
    run.device = Some(nets::device_name(device));
    run.dtype = Some(nets::dtype_name(kind).to_string());
    run.threads = Some(tch::get_num_threads().max(1) as u64);
    run.class_zipf = Some(args.data_flags.class_zipf).filter(|s| *s != 0.0);

    let task = match args.exact {
        true => Task::Exact,
        false => Task::Lanczos { probes: args.probes, seed: args.seed, dist: args.probe_dist, options: lopts },
    };
    // The list of (block, probe) runs is held whole: about 100 bytes each.
    let runs = blocks.len() as f64 * if args.exact { 1.0 } else { args.probes as f64 };
    nets_cli::fits(runs * 100.0, &format!("--probes {} over {} blocks (the list of runs)", args.probes, blocks.len()))?;
    let items = slq::items(blocks.len(), &task);
    let items = &items[shard.map_or(0..items.len(), |s| s.range(items.len()))];
    // -o FILE and --resume: the items FILE already holds are not run again.
    let expected: Vec<output::Expected> = items
        .iter()
        .map(|it| output::Expected {
            block: blocks[it.block].name.clone(),
            probe: it.probe,
            rows: args.exact.then(|| blocks[it.block].dim()),
            model: label.to_string(),
            dim: blocks[it.block].dim() as u64,
            seed: (!args.exact).then(|| slq::probe_seed(args.seed, &blocks[it.block].name, it.probe)),
        })
        .collect();
    let output::Destination { writer: mut out, done } =
        output::open(args.output.as_deref(), args.resume, &run, &expected)?;
    let items = &items[done..];
    if args.gradients {
        for record in gradients(net, blocks, batch, args.gradient_parts as usize, label)? {
            out.write(&Record::Gradient(record))?;
        }
    }
    let bar = nets_cli::progress_bar(slq::products(blocks, items, &task), "HVPs");
    let progress = |p: Progress| match p {
        Progress::Block(b) => bar.set_message(b.name.clone()),
        Progress::Product => bar.inc(1),
    };
    for output in Runs::new(net, blocks, batch, &task, items, progress).with_engine(engine) {
        match output.map_err(from_nets)? {
            Output::Hessian { block, values } => {
                let d = block.dim();
                for (r, row) in values.chunks(d.max(1)).enumerate() {
                    let (model, block, dim, row, values) =
                        (label.to_string(), block.name.clone(), d as u64, r as u64, row.to_vec());
                    out.write(&Record::Hessian(Hessian { model, block, dim, row, values }))?;
                }
            }
            Output::Tridiag { block, probe, seed, tridiagonal: t } => out.write(&Record::Tridiag(Tridiag {
                model: label.to_string(),
                block: block.name.clone(),
                dim: block.dim() as u64,
                probe,
                seed,
                steps_done: Some(t.alpha.len()),
                alpha: t.alpha,
                beta: t.beta,
                breakdown: t.breakdown,
                reorth: Some(t.reorth.name().to_string()),
                reorth_steps: (t.reorth == lanczos::Reorth::Partial).then_some(t.reorth_steps as u64),
                basis: Some(t.basis.name().to_string()),
                engine: Some(engine.name().to_string()),
            }))?,
        }
    }
    bar.finish_and_clear();
    Ok(())
}
