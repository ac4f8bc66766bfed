//! `--torchscript`: a user's own module instead of a zoo model, with its
//! Hessian batch from `--inputs` (safetensors) or from the data flags.

use std::path::Path;

use cli::{Error, Result};
use nets::blocks::units_of;
use nets::data::{Batch, Input, Stream};
use nets::hvp::HessianBatch;
use nets::layers::BnMode;
use nets::models::{Loss, TorchScript};
use nets::net::Net;
use nets::slq::Shard;
use tch::{Device, Kind, Tensor};

use crate::args::Args;
use crate::messages::from_nets;

/// What a module's forward reads from the data flags (`--reads`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads(pub Input);

impl std::str::FromStr for Reads {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Input::parse_reads(s).map(Reads)
    }
}

const LOSS_HINT: &str = "--loss picks what the output is: cross-entropy, mse or module";

pub fn run(args: &Args, path: &Path, dtype: Option<Kind>, device: Device, shard: Option<Shard>) -> Result<()> {
    let train = args.bn == Some(BnMode::Batch);
    let mut module = TorchScript::load(path, device, dtype, args.loss.unwrap_or(Loss::CrossEntropy), train)
        .map_err(|e| from_nets(e).with_hint(&format!("--torchscript {}", path.display())))?;
    if let Some(ckpt) = &args.checkpoint {
        nets::checkpoint::load_named(&module.checkpoint_tensors(), ckpt)
            .map_err(|e| from_nets(e).with_hint(&format!("--checkpoint {}", ckpt.display())))?;
    }
    let Some(blocks) = crate::choose_blocks(args, &units_of(module.named_parameters(), args.split_qkv))? else {
        return Ok(());
    };
    let source = match (&args.inputs, args.reads) {
        (Some(file), _) => {
            if args.batches.is_some() {
                return Err(Error::usage(
                    "--batches streams a batch drawn from --data; --inputs is read whole (--micro-batch splits it)",
                ));
            }
            if args.data_flags.class_zipf != 0.0 {
                return Err(Error::usage("--class-zipf subsamples --data image sets, not an --inputs batch"));
            }
            let named = Tensor::read_safetensors(file).map_err(|e| {
                Error::invalid(format!("--inputs {}: not a readable safetensors file: {e}", file.display()))
            })?;
            Source::Inputs(module.batch_from(named, &format!("--inputs {}", file.display())).map_err(from_nets)?)
        }
        (None, Some(Reads(input))) => {
            let flags = &args.data_flags;
            let data = flags.data.ok_or_else(|| Error::usage("--reads needs --data (the data set to read)"))?;
            let seq_len = nets_cli::reads_seq_len(input, flags.seq_len)?;
            let spec = flags.spec(data, crate::batch_size(args, 32)?, seq_len, args.data_seed, input);
            Source::Data(nets::data::stream(&spec, module.kind()).map_err(from_nets)?)
        }
        (None, None) => {
            return Err(Error::usage(
                "--torchscript needs a Hessian batch: --inputs FILE (safetensors), or --data with --reads",
            ))
        }
    };
    let check = |batch: &Batch| {
        module.check(batch).map_err(|e| match e {
            nets::Error::Mismatch(_) => from_nets(e).with_hint(LOSS_HINT),
            _ => from_nets(e),
        })
    };
    let label = match &args.label {
        Some(l) => l.clone(),
        None => path.file_stem().map_or_else(|| "torchscript".into(), |s| s.to_string_lossy().into_owned()),
    };
    let dump =
        |batch: HessianBatch<'_>| crate::dump(args, &module, &blocks, batch, &label, module.kind(), device, shard);
    match source {
        Source::Inputs(batch) => {
            let file = args.inputs.as_deref().map_or_else(String::new, |f| f.display().to_string());
            check(&batch).map_err(|e| e.with_hint(&format!("--inputs {file}")))?;
            dump(HessianBatch::Held { batch: &batch, micro: args.micro_batch })
        }
        Source::Data(stream) => {
            let first = args.micro_batch.map_or(stream.len(), |m| (m as usize).min(stream.len()));
            let first = stream.examples(0, first).map_err(from_nets)?.to(device);
            check(&first)?;
            // Later micro-batches may hold labels the first does not.
            if let nets::data::Shape::Classes { classes, .. } = stream.shape {
                module.check_classes(&first, classes).map_err(from_nets)?;
            }
            crate::with_batch(args, &stream, device, dump)
        }
    }
}

/// Where the Hessian batch comes from.
enum Source {
    /// A user's tensors (--inputs), read whole.
    Inputs(Batch),
    /// Drawn from a data set (--data, --reads).
    Data(Stream),
}
