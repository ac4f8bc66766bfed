//! A user's own PyTorch model, loaded from TorchScript (`torch.jit.trace`
//! or `torch.jit.script`, saved to `.pt`), as a [`Net`] with its own
//! parameter names, so that it goes through the same blocks, Hessian-vector
//! products and Lanczos runs as the zoo's models.
//!
//! The module's `forward` takes the batch's inputs (one tensor, or several
//! in order) and returns a tensor, or a tuple whose first element is one
//! (HuggingFace's `torchscript=True` outputs); the [`Loss`] says what that
//! output is. The graph executor's optimizations are turned off while the
//! module runs: its fused and differentiable subgraphs are not what eager
//! PyTorch would differentiate twice, and with them off the double backward
//! is autograd's on the plain graph, as in Python.

use std::path::Path;

use tch::jit::{CModule, IValue};
use tch::{Device, Kind, Tensor};

use crate::data::Batch;
use crate::error::{libtorch_message, Error, Result};
use crate::net::Net;

/// What the module's output is, and so the loss taken from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Logits [..., C]; targets are class indices of the leading shape (any
    /// leading dimensions are flattened), -100 ignored, mean over the rest.
    CrossEntropy,
    /// Mean squared error between the output and float targets of its shape.
    Mse,
    /// The module itself returns the scalar loss from `forward(inputs..., target)`.
    Module,
}

impl Loss {
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross-entropy",
            Loss::Mse => "mse",
            Loss::Module => "module",
        }
    }
}

impl std::str::FromStr for Loss {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cross-entropy" => Ok(Loss::CrossEntropy),
            "mse" => Ok(Loss::Mse),
            "module" => Ok(Loss::Module),
            _ => Err(format!("unknown loss `{s}` (expected cross-entropy, mse or module)")),
        }
    }
}

/// Where `forward`'s arguments come from in a [`Batch`].
enum Inputs {
    /// `batch.x` is the one input.
    Direct,
    /// Several inputs, held here; `batch.x` holds the example indices
    /// (int64) into their first dimension, so that slices and micro-batches
    /// of the batch select the same examples of every input.
    Indexed(Vec<Tensor>),
}

/// A loaded TorchScript module and the loss taken from its output.
pub struct TorchScript {
    module: CModule,
    loss: Loss,
    inputs: Inputs,
    kind: Kind,
    device: Device,
}

/// The first tensor of a module's output: itself, or a tuple's or list's first.
fn first_tensor(v: IValue) -> Option<Tensor> {
    match v {
        IValue::Tensor(t) => Some(t),
        IValue::Tuple(vs) | IValue::GenericList(vs) => vs.into_iter().next().and_then(first_tensor),
        IValue::TensorList(ts) => ts.into_iter().next(),
        // A dict (a HuggingFace ModelOutput): its `logits`, else its first entry.
        IValue::GenericDict(kv) => {
            let logits = kv.iter().position(|(k, _)| matches!(k, IValue::String(s) if s == "logits"));
            kv.into_iter().nth(logits.unwrap_or(0)).and_then(|(_, v)| first_tensor(v))
        }
        _ => None,
    }
}

impl TorchScript {
    /// Load `path` on `device`, convert its parameters to `kind` when given
    /// (else keep the module's own, which must be f32 or f64), and put it in
    /// eval mode (`train`: train mode, for BatchNorm's batch statistics in a
    /// scripted module; a traced module keeps the mode it was traced in).
    pub fn load(path: &Path, device: Device, kind: Option<Kind>, loss: Loss, train: bool) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::invalid(format!("{}: no such file", path.display())));
        }
        let mut module = CModule::load_on_device(path, device).map_err(|e| {
            Error::invalid(format!(
                "{} is not a TorchScript module (torch.jit.save of a traced or scripted module; see \
                 scripts/export-torchscript): {}",
                path.display(),
                libtorch_message(&e)
            ))
        })?;
        let own = module
            .named_parameters()
            .map_err(|e| {
                Error::invalid(format!("{}: cannot list parameters: {}", path.display(), libtorch_message(&e)))
            })?
            .first()
            .map(|(_, t)| t.kind());
        let kind = match (kind, own) {
            (Some(k), _) => k,
            (None, Some(k @ (Kind::Float | Kind::Double))) => k,
            (None, Some(k)) => {
                return Err(Error::invalid(format!(
                    "{}: parameters of dtype {k:?}; convert the module to f32 or f64",
                    path.display()
                )))
            }
            (None, None) => Kind::Float,
        };
        if own.is_some_and(|k| k != kind) {
            module.to(device, kind, false);
        }
        let mode = if train { module.f_set_train() } else { module.f_set_eval() };
        mode.map_err(|e| Error::invalid(format!("{}: cannot set the mode: {}", path.display(), libtorch_message(&e))))?;
        let ts = TorchScript { module, loss, inputs: Inputs::Direct, kind, device };
        if ts.named_parameters().is_empty() {
            return Err(Error::invalid(format!(
                "{}: the module has no parameters that require grad (nothing to differentiate; \
                 `requires_grad_(True)` on the parameters before exporting)",
                path.display()
            )));
        }
        Ok(ts)
    }

    /// Parameters that require grad, under the module's own names, in its
    /// registration order (PyTorch's `named_parameters()`): the candidates
    /// for blocks, and what a trainer updates.
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        // Listed once at load; libtorch cannot fail here after that.
        self.module.named_parameters().unwrap_or_default().into_iter().filter(|(_, t)| t.requires_grad()).collect()
    }

    /// Every parameter, frozen ones too, under the module's own names: what a
    /// checkpoint holds. (Buffers are not listed: tch 0.26's `CModule` offers
    /// no `named_buffers`; they stay as exported, in the `.pt`.)
    pub fn checkpoint_tensors(&self) -> Vec<(String, Tensor)> {
        self.module.named_parameters().unwrap_or_default()
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }
    pub fn device(&self) -> Device {
        self.device
    }
    pub fn loss_mode(&self) -> Loss {
        self.loss
    }

    /// The batch of named tensors `input` (or `input.0`, `input.1`, ...: one
    /// per argument of `forward`, in order) and `target`, all with the same
    /// first dimension (the examples), as a [`Batch`] for this module. Float
    /// tensors are converted to the module's kind; everything moves to its
    /// device. Several inputs are held by the module from now on.
    pub fn batch_from(&mut self, named: Vec<(String, Tensor)>, what: &str) -> Result<Batch> {
        let mut inputs: Vec<(usize, Tensor)> = Vec::new();
        let mut target = None;
        let mut single = None;
        let mut unexpected = Vec::new();
        for (name, t) in named {
            if name == "target" {
                target = Some(t);
            } else if name == "input" {
                single = Some(t);
            } else if let Some(i) = name.strip_prefix("input.").and_then(|i| i.parse::<usize>().ok()) {
                inputs.push((i, t));
            } else {
                unexpected.push(name);
            }
        }
        let fix = "tensors must be named `input` (or `input.0`, `input.1`, ... in forward's order) and `target`";
        if !unexpected.is_empty() {
            unexpected.sort();
            return Err(Error::invalid(format!("{what}: unexpected tensors {}: {fix}", unexpected.join(", "))));
        }
        let target = target.ok_or_else(|| Error::invalid(format!("{what}: no tensor `target`: {fix}")))?;
        inputs.sort_by_key(|(i, _)| *i);
        let inputs: Vec<Tensor> = match single {
            Some(_) if !inputs.is_empty() => {
                return Err(Error::invalid(format!("{what}: both `input` and `input.N`: {fix}")));
            }
            Some(t) => vec![t],
            None => {
                if inputs.is_empty() {
                    return Err(Error::invalid(format!("{what}: no input tensor: {fix}")));
                }
                if let Some((k, (i, _))) = inputs.iter().enumerate().find(|(k, (i, _))| k != i) {
                    return Err(Error::invalid(format!("{what}: `input.{k}` missing (found `input.{i}`): {fix}")));
                }
                inputs.into_iter().map(|(_, t)| t).collect()
            }
        };
        let n = target.size().first().copied().unwrap_or(0);
        for (k, t) in inputs.iter().enumerate() {
            let m = t.size().first().copied().unwrap_or(0);
            if m != n {
                return Err(Error::invalid(format!(
                    "{what}: input {k} has {m} examples (first dimension), target {n}: they must agree"
                )));
            }
        }
        if n < 1 {
            return Err(Error::invalid(format!("{what}: no examples (the target's first dimension is 0 or absent)")));
        }
        let float = |t: Tensor| if t.is_floating_point() { t.to_kind(self.kind) } else { t };
        let mut inputs: Vec<Tensor> = inputs.into_iter().map(|t| float(t).to_device(self.device)).collect();
        let y = float(target).to_device(self.device);
        if inputs.len() == 1 {
            self.inputs = Inputs::Direct;
            Ok(Batch { x: inputs.remove(0), y })
        } else {
            self.inputs = Inputs::Indexed(inputs);
            Ok(Batch { x: Tensor::arange(n, (Kind::Int64, self.device)), y })
        }
    }

    fn arguments(&self, batch: &Batch) -> Vec<IValue> {
        let mut args: Vec<IValue> = match &self.inputs {
            Inputs::Direct => vec![IValue::Tensor(batch.x.shallow_clone())],
            Inputs::Indexed(ts) => ts.iter().map(|t| IValue::Tensor(t.index_select(0, &batch.x))).collect(),
        };
        if self.loss == Loss::Module {
            args.push(IValue::Tensor(batch.y.shallow_clone()));
        }
        args
    }

    /// The module's output on the batch (the loss itself for [`Loss::Module`]).
    pub fn try_output(&self, batch: &Batch) -> Result<Tensor> {
        // Thread-local in libtorch: set on the thread that runs the module.
        tch::jit::f_set_graph_executor_optimize(false)
            .map_err(|e| Error::invalid(format!("cannot turn off TorchScript optimizations: {e}")))?;
        let args = self.arguments(batch);
        let shapes: Vec<String> = args
            .iter()
            .map(|a| match a {
                IValue::Tensor(t) => format!("{:?} {:?}", t.kind(), t.size()),
                _ => "?".into(),
            })
            .collect();
        let out = self.module.forward_is(&args).map_err(|e| {
            Error::invalid(format!(
                "the module's forward does not accept the batch ({} argument(s): {}): {}",
                args.len(),
                shapes.join(", "),
                libtorch_message(&e)
            ))
        })?;
        first_tensor(out).ok_or_else(|| {
            Error::mismatch(
                "the module's forward returns no tensor (expected a tensor, or a tuple whose first element is one)",
            )
        })
    }

    /// Whether class labels up to `classes` - 1 (a data set's, read in
    /// batches later) are classes of the module's output on `batch`: with
    /// cross-entropy, an output of fewer classes is refused now rather
    /// than at the first batch holding a larger label.
    pub fn check_classes(&self, batch: &Batch, classes: i64) -> Result<()> {
        if self.loss != Loss::CrossEntropy {
            return Ok(());
        }
        let out = self.try_output(batch)?;
        match out.size().last() {
            Some(&c) if c < classes => Err(Error::invalid(format!(
                "the data's labels run from 0 to {} ({classes} classes), but the module's output has {c} classes",
                classes - 1
            ))),
            _ => Ok(()),
        }
    }

    /// The loss on the batch, or why there is none.
    pub fn try_loss(&self, batch: &Batch) -> Result<Tensor> {
        let out = self.try_output(batch)?;
        let y = &batch.y;
        let (o, t) = (out.size(), y.size());
        let fits = |what: String| Error::mismatch(format!("loss `{}`: {what}", self.loss.name()));
        match self.loss {
            Loss::CrossEntropy => {
                if y.is_floating_point() || o.len() != t.len() + 1 || o[..t.len()] != t[..] {
                    return Err(fits(format!(
                        "the output {o:?} must be logits [..., classes] over integer class targets of its \
                         leading shape, got targets {:?} {t:?}",
                        y.kind()
                    )));
                }
                let logits = out.flatten(0, (t.len() as i64 - 1).max(0));
                let logits = if t.is_empty() { logits.unsqueeze(0) } else { logits };
                let flat = y.reshape([-1]);
                // libtorch aborts on a class index out of range: refused here instead.
                let classes = o[o.len() - 1];
                let bad = flat.lt(0).logical_or(&flat.ge(classes)).nonzero();
                if bad.size()[0] > 0 {
                    let i = bad.int64_value(&[0, 0]);
                    let v = flat.int64_value(&[i]);
                    return Err(Error::invalid(format!(
                        "target {v} of example {i} (targets flattened) is not a class of the output's {classes} \
                         (class indices run from 0 to {})",
                        classes - 1
                    )));
                }
                Ok(logits.log_softmax(-1, logits.kind()).g_nll_loss::<Tensor>(&flat, None, tch::Reduction::Mean, -100))
            }
            Loss::Mse => {
                if !y.is_floating_point() || o != t {
                    return Err(fits(format!(
                        "the output {o:?} and the targets {:?} {t:?} must have the same shape, with float targets",
                        y.kind()
                    )));
                }
                Ok((out - y).square().mean(self.kind))
            }
            Loss::Module => {
                if !o.is_empty() {
                    return Err(fits(format!(
                        "forward(inputs..., target) must return the scalar loss, got a tensor of shape {o:?}"
                    )));
                }
                Ok(out)
            }
        }
    }
}

impl Net for TorchScript {
    /// The loss; NaN where the module cannot run on the batch (call
    /// [`Net::check`] or [`TorchScript::try_loss`] first to know why).
    fn loss(&self, batch: &Batch) -> Tensor {
        self.try_loss(batch).unwrap_or_else(|_| Tensor::from(f64::NAN).to_kind(self.kind).to_device(self.device))
    }
    fn try_loss(&self, batch: &Batch) -> Result<Tensor> {
        TorchScript::try_loss(self, batch)
    }
    /// Runs the module once on the batch: its signature, its output's shape
    /// against the loss, and a loss that depends on the parameters.
    fn check(&self, batch: &Batch) -> Result<()> {
        let loss = self.try_loss(batch)?;
        if !loss.requires_grad() {
            return Err(Error::invalid(
                "the loss does not depend on any parameter that requires grad (was the module run under no_grad?)",
            ));
        }
        Ok(())
    }
    fn output(&self, batch: &Batch) -> Option<Tensor> {
        match self.loss {
            Loss::Module => None,
            _ => self.try_output(batch).ok(),
        }
    }
}
