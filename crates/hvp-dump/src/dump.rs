//! The runs over the chosen blocks, written as records: sizes checked
//! first, then the `run` record, then each (block, probe) run's output, the
//! runs an --output FILE already holds skipped.

use cli::{Error, Result};
use lanczos::Options;
use nets::blocks::Block;
use nets::hvp::{BlockHessian, HessianBatch};
use nets::net::Net;
use nets::runs::{self, Engine, Output, Progress, Runs, Task};
use records::{Gradient, Hessian, Record, Run, Tridiag};

use crate::args::TOOL;
use crate::job::HvpJob;
use crate::messages::from_nets;
use crate::output;

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

/// The runs over `blocks` of `net` (in `kind`) on `batch`, as records.
pub fn dump(
    job: &HvpJob,
    net: &dyn Net,
    blocks: &[Block],
    batch: HessianBatch,
    label: &str,
    kind: tch::Kind,
) -> Result<()> {
    let s = &job.spectra;
    let exact = s.exact_max.is_some();
    // --memory is met, not refused: each run takes the first rung of the
    // ladder (f64 basis, f32 basis, no reorthogonalization) whose basis fits;
    // with --basis-dir the disk basis is the only rung below f64 (checked below).
    // The Hessian-vector products are as precise as the network's dtype.
    let operator_eps = match kind {
        tch::Kind::Double => f64::EPSILON,
        tch::Kind::Half => 2f64.powi(-10),
        tch::Kind::BFloat16 => 2f64.powi(-7),
        _ => f32::EPSILON as f64,
    };
    let lopts = Options {
        steps: s.steps,
        reorth: s.reorth,
        operator_eps,
        partial_threshold: s.reorth_threshold,
        basis: s.basis.resolve(operator_eps),
        threads: job.threads,
        basis_budget_gib: Some(s.memory),
        basis_dir: s.basis_dir.clone(),
        ..Options::default()
    };
    let engine = s.engine;
    if engine == Engine::Tensor && s.basis_dir.is_some() && !exact {
        return Err(Error::usage(
            "--basis-dir applies to --engine rust (the tensor engine keeps its basis on the device)",
        ));
    }
    if let Some(dir) = &s.basis_dir {
        if !dir.is_dir() {
            return Err(Error::invalid(format!("--basis-dir {}: not a directory", dir.display())));
        }
    }
    // Check every block against its limits before any work.
    for b in blocks {
        let d = b.dim();
        if let Some(exact_max) = s.exact_max.filter(|m| d > *m) {
            return Err(Error::usage(format!(
                "block `{}` has {d} parameters, more than --exact-max {} (a dense Hessian needs {d} HVPs and {:.1} MB)",
                b.name,
                exact_max,
                (d * d * 8) as f64 / 1e6
            )));
        }
        if exact {
            nets_cli::fits((d as f64).powi(2) * 8.0, &format!("block `{}`'s dense Hessian (--exact)", b.name))?;
            continue;
        }
        let chosen = lanczos::within_budget(&lopts, d, s.memory);
        let kept = chosen.basis_kept(d);
        // With --basis-dir the disk basis replaces the ladder: never a smaller
        // basis than the one asked for.
        let asked = lopts.basis_kept(d);
        if s.basis_dir.is_some() && s.reorth.keeps_basis() && kept != asked && kept != lanczos::BasisKept::Disk {
            let row = lanczos::BasisMemory::of_run(&Options { basis_on_disk: true, ..lopts.clone() }, d)
                .map_or(0.0, |m| m.bytes());
            return Err(Error::usage(format!(
                "--memory {} GiB is less than block `{}`'s basis on disk needs in memory ({:.1} MiB: one f64 row of \
                 {d} entries and its buffer): raise --memory, or drop --basis-dir to let the basis shrink",
                s.memory,
                b.name,
                row / (1u64 << 20) as f64
            )));
        }
        // A basis on a GPU is not in host memory (the device refuses what it cannot hold).
        let on_host = engine == Engine::Rust || job.device == tch::Device::Cpu;
        if let Some(basis) = lanczos::BasisMemory::of_run(&chosen, d).filter(|_| on_host) {
            let what =
                format!("block `{}`'s Lanczos basis ({}, within --memory {} GiB)", b.name, kept.name(), s.memory);
            nets_cli::fits(basis.bytes(), &what)?;
        }
    }

    let mut run = Run::for_tool(TOOL, Some(s.seed));
    run.args = output::recorded_args(&run.args);
    run.model = Some(label.to_string());
    run.device = Some(nets::device_name(job.device));
    run.dtype = Some(nets::dtype_name(kind).to_string());
    run.threads = Some(tch::get_num_threads().max(1) as u64);
    run.class_zipf = Some(job.data.flags.class_zipf).filter(|s| *s != 0.0);

    let task = match exact {
        true => Task::Exact,
        false => Task::Lanczos { probes: s.probes, seed: s.seed, dist: s.dist, options: lopts },
    };
    // The list of (block, probe) runs is held whole: about 100 bytes each.
    let run_count = blocks.len() as f64 * if exact { 1.0 } else { s.probes as f64 };
    nets_cli::fits(
        run_count * 100.0,
        &format!("--probes {} over {} blocks (the list of runs)", s.probes, blocks.len()),
    )?;
    let items = runs::items(blocks.len(), &task);
    let items = &items[s.shard.map_or(0..items.len(), |s| s.range(items.len()))];
    // -o FILE and --resume: the items FILE already holds are not run again.
    let expected: Vec<output::Expected> = items
        .iter()
        .map(|it| output::Expected {
            block: blocks[it.block].name.clone(),
            probe: it.probe,
            rows: exact.then(|| blocks[it.block].dim()),
            model: label.to_string(),
            dim: blocks[it.block].dim() as u64,
            seed: (!exact).then(|| runs::probe_seed(s.seed, &blocks[it.block].name, it.probe)),
        })
        .collect();
    let output::Destination { writer: mut out, done } =
        output::open(job.files.output.as_deref(), job.files.resume, &run, &expected)?;
    let items = &items[done..];
    if let Some(parts) = s.gradient_parts {
        for record in gradients(net, blocks, batch, parts as usize, label)? {
            out.write(&Record::Gradient(record))?;
        }
    }
    let bar = nets_cli::progress_bar(runs::products(blocks, items, &task), "HVPs");
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
