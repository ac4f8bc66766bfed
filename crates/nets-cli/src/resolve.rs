//! One way for hvp-dump and nn-train to get a model and its data: the
//! model spec resolved once ([`nets::recipe::Recipe`]), then its data read
//! as the model's contract says (a data set drawn for it, or a user's batch
//! of named tensors), then the model shaped for that data.

use std::path::PathBuf;

use cli::{Error, Result};
use nets::data::{Batch, BatchSpec, Input, Shape};
use nets::recipe::{ModelSpec, Recipe};
use tch::{Device, Kind, Tensor};

use crate::DataFlags;

/// Where the data comes from, as the flags say.
pub struct DataChoice {
    pub flags: DataFlags,
    /// `--inputs`: a user's batch of named tensors, read whole.
    pub inputs: Option<PathBuf>,
    /// `--reads`: what a module reads from a data set.
    pub reads: Option<Input>,
    /// Examples to draw (None: the model's default batch, else 32).
    pub examples: Option<i64>,
    pub seed: u64,
    /// What the data is for, in messages ("a Hessian batch").
    pub purpose: &'static str,
    /// Whether the data is used (not only to shape the model).
    pub needed: bool,
}

impl DataChoice {
    /// The data flags hvp-dump and nn-train share, read the same way by
    /// both; `purpose` names the data in messages. The data is needed, and
    /// its size is the model's default until a tool says otherwise.
    pub fn from_flags(
        flags: &DataFlags,
        inputs: &Option<PathBuf>,
        reads: Option<Input>,
        seed: u64,
        purpose: &'static str,
    ) -> Self {
        DataChoice { flags: flags.clone(), inputs: inputs.clone(), reads, examples: None, seed, purpose, needed: true }
    }
}

/// The data a model was resolved with.
pub enum Data<D> {
    /// Drawn from a data set by `spec`.
    Drawn { data: D, spec: BatchSpec },
    /// A user's batch (`--inputs`), on the model's device.
    Given { batch: Batch, file: String },
    /// Not read (not needed, and the model's shape does not depend on it).
    Skipped,
}

/// A model ready to build, and its data.
pub struct Resolved<D> {
    pub recipe: Recipe,
    pub data: Data<D>,
}

/// Resolve `model` (in `kind`, on `device`) and read its data as `choice`
/// says; a data set is read by `draw` (a Hessian batch, a training split),
/// which returns it with its shape. `from_nets` words the library's errors.
pub fn resolve<D>(
    model: &ModelSpec,
    kind: Option<Kind>,
    device: Device,
    choice: &DataChoice,
    from_nets: fn(nets::Error) -> Error,
    draw: impl FnOnce(&BatchSpec, Kind) -> Result<(D, Shape)>,
) -> Result<Resolved<D>> {
    let mut recipe = Recipe::resolve(model, kind, device).map_err(|e| match model {
        ModelSpec::TorchScript { path, .. } => from_nets(e).with_hint(&format!("--torchscript {}", path.display())),
        ModelSpec::Zoo { .. } => from_nets(e),
    })?;
    let contract = recipe.contract();
    if !choice.needed && !contract.shaped_by_data {
        return Ok(Resolved { recipe, data: Data::Skipped });
    }
    let flags = &choice.flags;
    if let Some(file) = &choice.inputs {
        if flags.class_zipf != 0.0 {
            return Err(Error::usage("--class-zipf subsamples --data image sets, not an --inputs batch"));
        }
        let named = Tensor::read_safetensors(file).map_err(|e| {
            Error::invalid(format!("--inputs {}: not a readable safetensors file: {e}", file.display()))
        })?;
        let file = file.display().to_string();
        let batch = recipe.attach(named, &format!("--inputs {file}")).map_err(from_nets)?;
        return Ok(Resolved { recipe, data: Data::Given { batch, file } });
    }
    let (data_kind, input, seq_len) = match (contract.input, choice.reads) {
        (Some(input), _) => {
            let seq_len = crate::zoo_seq_len(contract.context, flags.seq_len)?;
            (flags.data.or(contract.default_data), input, seq_len)
        }
        (None, Some(input)) => {
            let data = flags.data.ok_or_else(|| Error::usage("--reads needs --data (the data set to read)"))?;
            (Some(data), input, crate::reads_seq_len(input, flags.seq_len)?)
        }
        (None, None) => {
            return Err(Error::usage(format!(
                "--torchscript needs {}: --inputs FILE (safetensors), or --data with --reads",
                choice.purpose
            )))
        }
    };
    let data_kind = data_kind.ok_or_else(|| Error::usage("--data is needed"))?;
    let examples = choice.examples.or(contract.default_batch).unwrap_or(32);
    let spec = flags.spec(data_kind, examples, seq_len, choice.seed, input);
    let (data, shape) = draw(&spec, recipe.kind())?;
    recipe.fit(shape).map_err(from_nets)?;
    Ok(Resolved { recipe, data: Data::Drawn { data, spec } })
}
