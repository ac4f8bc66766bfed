//! hvp-dump's flags resolved once into a typed job: every check a flag can
//! take alone or with another is made here; the rest of the tool reads the
//! job, never the flags.

use std::path::PathBuf;

use cli::{Error, Result};
use lanczos::{BasisChoice, Probe, Reorth};
use nets::blocks::Grouping;
use nets::layers::BnMode;
use nets::models::Loss;
use nets::recipe::ModelSpec;
use nets::runs::{Engine, Shard};
use tch::{Device, Kind};

use crate::args::{Args, DEFAULT_MEMORY_GIB};
use crate::messages::from_nets;

/// One Hessian dump, as the flags ask for it.
pub struct HvpJob {
    pub model: ModelSpec,
    /// The network's dtype (None: f32, or a module's own).
    pub dtype: Option<Kind>,
    pub device: Device,
    pub threads: usize,
    /// The Hessian batch.
    pub data: nets_cli::DataChoice,
    pub batching: Batching,
    pub blocks: BlockChoice,
    pub spectra: SpectraJob,
    pub files: Files,
}

/// How the Hessian batch is held.
pub struct Batching {
    /// Examples per graph (--micro-batch).
    pub micro_batch: Option<i64>,
    /// Streamed as this many micro-batches (--batches).
    pub batches: Option<i64>,
}

/// The blocks, and whether they are only listed.
pub struct BlockChoice {
    pub patterns: Vec<String>,
    pub grouping: Grouping,
    pub split_qkv: bool,
    pub list: bool,
}

/// What is computed per block.
pub struct SpectraJob {
    /// Dense Hessians (--exact) of blocks up to this size, instead of Lanczos.
    pub exact_max: Option<usize>,
    pub probes: u32,
    pub steps: usize,
    pub seed: u64,
    pub dist: Probe,
    pub reorth: Reorth,
    pub reorth_threshold: Option<f64>,
    /// The kept basis's precision (before --memory's ladder).
    pub basis: BasisChoice,
    /// The basis budget, GiB.
    pub memory: f64,
    pub basis_dir: Option<PathBuf>,
    /// The Lanczos engine, resolved for the device.
    pub engine: Engine,
    pub shard: Option<Shard>,
    /// Gradient records from this many parts of the batch (--gradients).
    pub gradient_parts: Option<u32>,
}

/// Files read and written besides the records, and the records' label.
pub struct Files {
    pub checkpoint: Option<PathBuf>,
    pub save_weights: Option<PathBuf>,
    pub save_batch: Option<PathBuf>,
    pub label: Option<String>,
    pub output: Option<PathBuf>,
    pub resume: bool,
}

impl HvpJob {
    pub fn from_args(args: &Args) -> Result<HvpJob> {
        let dtype = args.dtype.as_deref().map(nets::parse_dtype).transpose().map_err(from_nets)?;
        let device = nets::parse_device(&args.device).map_err(from_nets)?;
        if args.probes == 0 {
            return Err(Error::usage("--probes must be at least 1"));
        }
        if args.steps == 0 {
            return Err(Error::usage("--steps must be at least 1"));
        }
        if args.gradients && args.gradient_parts > 1 && args.bn == Some(BnMode::Batch) {
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
            if args.reorth != Reorth::Partial {
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
        if args.micro_batch.is_some_and(|m| m < 1) {
            return Err(Error::usage("--micro-batch must be at least 1"));
        }
        let shard =
            args.shard.as_deref().map(|s| s.parse().map_err(|m| Error::usage(format!("--shard {m}")))).transpose()?;
        let model = match (&args.torchscript, &args.model) {
            (Some(path), _) => {
                if args.inputs.is_some() && args.batches.is_some() {
                    return Err(Error::usage(
                        "--batches streams a batch drawn from --data; --inputs is read whole (--micro-batch splits it)",
                    ));
                }
                let train = args.bn == Some(BnMode::Batch);
                ModelSpec::TorchScript { path: path.clone(), loss: args.loss.unwrap_or(Loss::CrossEntropy), train }
            }
            (None, Some(name)) => {
                if args.inputs.is_some() || args.loss.is_some() || args.reads.is_some() {
                    return Err(Error::usage("--inputs, --loss and --reads apply to --torchscript only"));
                }
                let options = args.model_flags.options(args.bn);
                ModelSpec::Zoo { name: name.clone(), options, init_seed: args.model_flags.init_seed }
            }
            (None, None) => return Err(Error::usage("give --model or --torchscript")),
        };
        let (patterns, grouping) = match (args.blocks.is_empty(), args.merge) {
            (true, _) => (vec!["*".to_string()], Grouping::EachTensor),
            (false, true) => (args.blocks.clone(), Grouping::PerPattern),
            (false, false) => (args.blocks.clone(), Grouping::EachTensor),
        };
        Ok(HvpJob {
            model,
            dtype,
            device,
            threads: args.threads,
            data: nets_cli::DataChoice {
                examples: examples(args)?,
                // A module's blocks are listed without its data; a zoo model is shaped by it.
                needed: !args.list_blocks,
                ..nets_cli::DataChoice::from_flags(
                    &args.data_flags,
                    &args.inputs,
                    args.reads,
                    args.data_seed,
                    "a Hessian batch",
                )
            },
            batching: Batching { micro_batch: args.micro_batch, batches: args.batches },
            blocks: BlockChoice { patterns, grouping, split_qkv: args.split_qkv, list: args.list_blocks },
            spectra: SpectraJob {
                exact_max: args.exact.then_some(args.exact_max),
                probes: args.probes,
                steps: args.steps,
                seed: args.seed,
                dist: args.probe_dist,
                reorth: args.reorth,
                reorth_threshold: args.reorth_threshold,
                basis: args.basis,
                memory: args.memory,
                basis_dir: args.basis_dir.clone(),
                engine: args.engine.resolve(device, args.basis_dir.is_some()),
                shard,
                gradient_parts: args.gradients.then_some(args.gradient_parts),
            },
            files: Files {
                checkpoint: args.checkpoint.clone(),
                save_weights: args.save_weights.clone(),
                save_batch: args.save_batch.clone(),
                label: args.label.clone(),
                output: args.output.clone(),
                resume: args.resume,
            },
        })
    }
}

/// The Hessian batch's size: --batch-size (None: the model's default), or
/// with --batches, that many micro-batches of --micro-batch examples.
fn examples(args: &Args) -> Result<Option<i64>> {
    match (args.batches, args.micro_batch) {
        (Some(n), _) if n < 1 => Err(Error::usage("--batches must be at least 1")),
        (Some(n), Some(m)) => n.checked_mul(m).map(Some).ok_or_else(|| {
            Error::usage(format!("--batches {n} x --micro-batch {m} examples is more than can be counted"))
        }),
        _ => Ok(args.batch_size),
    }
}
