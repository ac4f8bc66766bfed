//! What is trained: a zoo model or a user's TorchScript module, built afresh
//! for every learning rate so that each run starts from the same weights.

use std::path::{Path, PathBuf};

use cli::{Error, Result};
use nets::data::{Batch, Examples, Shape, TrainData};
use nets::models::{Built, Loss, TorchScript};
use nets::net::Net;
use tch::{Device, Kind, Tensor};

use crate::args::Args;
use crate::messages::from_nets;

/// A network ready to train: its loss, its trainable tensors and what a
/// checkpoint of it holds.
pub enum Trainee {
    Zoo(Built),
    Script(TorchScript),
}

impl Trainee {
    pub fn net(&self) -> &dyn Net {
        match self {
            Trainee::Zoo(m) => m.net.as_ref(),
            Trainee::Script(t) => t,
        }
    }
    /// The tensors the optimizer updates.
    pub fn params(&self) -> Vec<(String, Tensor)> {
        match self {
            Trainee::Zoo(m) => nets::params::named_parameters(&m.vs),
            Trainee::Script(t) => t.named_parameters(),
        }
    }
    pub fn save(&self, path: &Path) -> nets::Result<()> {
        match self {
            Trainee::Zoo(m) => nets::checkpoint::save(&m.vs, path),
            Trainee::Script(t) => nets::checkpoint::save_named(&t.checkpoint_tensors(), path),
        }
    }
    /// Replace the weights by a checkpoint's (`--checkpoint`).
    pub fn load(&self, path: &Path) -> Result<()> {
        let loaded = match self {
            Trainee::Zoo(m) => nets::checkpoint::load(&m.vs, path),
            Trainee::Script(t) => nets::checkpoint::load_named(&t.checkpoint_tensors(), path),
        };
        loaded.map_err(|e| from_nets(e).with_hint(&format!("--checkpoint {}", path.display())))
    }
}

/// A TorchScript module's training data, and how to load the module again.
pub struct Script {
    pub path: PathBuf,
    pub loss: Loss,
    pub kind: Kind,
    pub device: Device,
    /// The `--inputs` tensors, by name (None: data from --data and --reads).
    pub named: Option<Vec<(String, Tensor)>>,
}

impl Script {
    /// The module, fresh from its file (with the `--inputs` batch attached
    /// when a forward of several inputs needs it).
    pub fn load(&self) -> Result<(TorchScript, Option<Batch>)> {
        let mut module = TorchScript::load(&self.path, self.device, Some(self.kind), self.loss, false)
            .map_err(|e| from_nets(e).with_hint(&format!("--torchscript {}", self.path.display())))?;
        let batch = match &self.named {
            Some(named) => {
                let copy = named.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
                Some(module.batch_from(copy, "--inputs").map_err(from_nets)?.to(Device::Cpu))
            }
            None => None,
        };
        Ok((module, batch))
    }

    /// The training data: the `--inputs` batch (also held out), or a data
    /// set split as for zoo models.
    pub fn data(&self, args: &Args) -> Result<TrainData> {
        if self.named.is_some() && args.data_flags.class_zipf != 0.0 {
            return Err(Error::usage("--class-zipf subsamples --data image sets, not an --inputs batch"));
        }
        if let Some(batch) = self.load()?.1 {
            let copy = Batch { x: batch.x.shallow_clone(), y: batch.y.shallow_clone() };
            return Ok(TrainData {
                train: Examples::Held(batch),
                heldout: Examples::Held(copy),
                shape: Shape::Classes { features: 0, classes: 0 },
                heldout_rule: "the --inputs examples themselves",
            });
        }
        let flags = &args.data_flags;
        let (Some(data), Some(input)) = (flags.data, args.reads) else {
            return Err(Error::usage(
                "--torchscript needs training data: --inputs FILE (safetensors), or --data with --reads",
            ));
        };
        let seq_len = nets_cli::reads_seq_len(input, flags.seq_len)?;
        let spec = flags.spec(data, args.synthetic_examples, seq_len, args.data_seed, input);
        nets::data::load_split(&spec, self.kind).map_err(from_nets)
    }
}

/// `--torchscript`'s settings, with the `--inputs` file read.
pub fn script(args: &Args, path: &Path, kind: Kind, device: Device) -> Result<Script> {
    let named = match &args.inputs {
        Some(file) => Some(Tensor::read_safetensors(file).map_err(|e| {
            Error::invalid(format!("--inputs {}: not a readable safetensors file: {e}", file.display()))
        })?),
        None => None,
    };
    Ok(Script { path: path.to_path_buf(), loss: args.loss.unwrap_or(Loss::CrossEntropy), kind, device, named })
}
