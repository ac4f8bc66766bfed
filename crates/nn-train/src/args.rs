//! nn-train's flags: names, defaults and help text.

use std::path::PathBuf;

use clap::Parser;
use nets::layers::BnMode;
use nets::train::{OptimizerKind, ScheduleKind};

pub const TOOL: &str = "nn-train";

/// --lr-scale-rule: which number per block sets its learning-rate factor.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateRule {
    Curvature,
    Gradient,
}

impl RateRule {
    pub fn rule(self) -> predictors::rates::Rule {
        match self {
            RateRule::Curvature => predictors::rates::Rule::Curvature,
            RateRule::Gradient => predictors::rates::Rule::Gradient,
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    allow_negative_numbers = true,
    about = "Train a zoo network with libtorch's SGD, Adam or AdamW: `step`, `summary` and `best` records",
    long_about = "Builds a model from the zoo (weights from --init-seed), loads its training and held-out \
data, and trains it with libtorch's own optimizer, one run per learning rate (--lr, or each rate of \
--lr-grid, every run from the same initial weights and batch order). Writes a `run` record, then per \
run `step` records (every --log-every updates; with held-out loss and accuracy every --eval-every \
updates and after the last) and a `summary`; after a grid, a `best` record naming the rate with the \
lowest final held-out loss (ties to the smaller rate; diverged runs excluded).

Per-block learning rates (--lr-scale PATTERN=FACTOR, or --lr-scale-from FILE of hvp-dump's blocks \
with --lr-scale-rule curvature or gradient): each parameter's rate at an update is the scheduled rate \
times its factor (libtorch parameter groups, with every optimizer's rule, AdamW's decoupled decay \
included); the `run` record lists the factors and the rule.

Imbalanced classes (--class-zipf S, image sets): the training images subsampled so that class k \
keeps a share proportional to (k+1)^-S; the held-out set stays as it is, and held-out evaluations \
add the accuracy and the loss over the frequent half of the classes (k < K/2) and over the rare half.

Held-out sets: MNIST's and Fashion-MNIST's test sets (t10k); the last 10% of the tokens of \
Shakespeare or a --data text file; the last 10% of the examples of a user's idx or npy images; a \
second draw for synthetic data. Batches: each epoch a permutation of the training set drawn from \
(--seed, epoch), cut into batches, the last partial batch dropped; with --batch-size equal to the \
training set's size every update sees the whole set in file order. BERT draws fresh sentence pairs \
and masking every update.

A NaN or infinite loss or gradient ends that run at the update named (its `summary` has \
`diverged_at`); with one rate that is an error (exit 1) unless --allow-divergence, in a grid only when \
every rate diverged. \
Same arguments, seed and --threads give byte-identical records and checkpoints on the CPU.

Checkpoints (--save-at F1,F2,... with --save-dir DIR): after round(F x steps) updates, \
DIR/{label}-{optimizer}-lr{lr}-step{N}.safetensors (lr as Rust prints it: 0.001, 0.1), every \
parameter and buffer under the zoo's names, loadable as they are by \
`hvp-dump --model M --checkpoint FILE` (with the same model options).

--torchscript FILE trains a user's TorchScript module the same way (docs/torchscript.md): its batches \
from --inputs FILE (safetensors; also the held-out set) or from --data with --reads; its checkpoints \
hold every parameter under the module's own names, loadable by \
`hvp-dump --torchscript FILE --checkpoint CKPT` and by `nn-train --torchscript FILE --checkpoint CKPT`.",
    after_help = "Examples:
  nn-train --model mlp --optimizer sgd --lr 0.01 --epochs 1 --batch-size 128
  nn-train --model mlp --layer-scale 4 --optimizer adam --lr-grid 1e-4,1e-3,1e-2,1e-1 --epochs 1
  nn-train --model gpt2-4x64 --optimizer sgd --lr-grid 1e-2,1e-1,1 --extend-grid 4 --steps 500 --clip 1
  nn-train --model gpt2-small --optimizer adamw --lr 1e-3 --schedule cosine --warmup 20 --steps 400 --clip 1
  nn-train --model resnet18-narrow --optimizer sgd --lr 0.1 --steps 300 --save-at 0,0.25,0.5,1 --save-dir ckpt
  hvp-dump --model resnet18-narrow --checkpoint ckpt/resnet18-narrow-sgd-lr0.1-step75.safetensors --block all
  nn-train --torchscript net.pt --inputs batch.safetensors --optimizer sgd --lr 0.1 --steps 50 --batch-size 16
  nn-train --model vgg-small --data npy --data-path my-images/ --optimizer adamw --lr 1e-3 --steps 200
  nn-train --model mlp --optimizer sgd --lr 0.05 --steps 500 --lr-scale 'fc1*=4' --lr-scale 'fc3*=0.5'
  hvp-dump --model mlp --probes 4 --steps 40 | slq-density > mlp-density.jsonl
  nn-train --model mlp --optimizer sgd --lr 0.05 --steps 500 --lr-scale-from mlp-density.jsonl
  hvp-dump --model mlp --gradients --probes 4 --steps 40 | slq-density > mlp-density.jsonl
  nn-train --model mlp --optimizer sgd --lr 0.05 --steps 500 --lr-scale-from mlp-density.jsonl --lr-scale-rule gradient
  nn-train --model mlp --data mnist --class-zipf 1 --optimizer adam --lr 1e-3 --epochs 1"
)]
pub struct Args {
    /// Model from the zoo (`hvp-dump --list-models` lists them).
    #[arg(long, required_unless_present = "torchscript")]
    pub model: Option<String>,

    /// sgd (momentum --momentum, PyTorch's rule), adam or adamw (decoupled weight decay).
    #[arg(long)]
    pub optimizer: OptimizerKind,

    /// Learning rate of a single run.
    #[arg(long, conflicts_with = "lr_grid", required_unless_present = "lr_grid")]
    pub lr: Option<f64>,

    /// Learning rates, comma-separated: one run each, then a `best` record.
    #[arg(long, value_delimiter = ',', value_name = "LR,LR,...")]
    pub lr_grid: Option<Vec<f64>>,

    /// With --lr-grid: add at most this many rates, one grid step past the
    /// edge the best rate sits on each time (the step is the ratio of the two
    /// rates at that edge), until the best rate has a rate tried on each side:
    /// above it any rate, below it one that did not diverge (a diverged
    /// smaller rate sends the grid on down).
    #[arg(long, requires = "lr_grid", value_name = "N")]
    pub extend_grid: Option<u32>,

    /// With --lr: a run that diverges is a result, not an error: its
    /// `summary` (with `diverged_at`) is written and the exit status is 0.
    /// For sweeps that must record where a rate fails on some seeds.
    #[arg(long, requires = "lr")]
    pub allow_divergence: bool,

    /// Multiply the learning rate of the parameters PATTERN matches by
    /// FACTOR (positive), the others keeping 1; repeatable, a parameter
    /// matched by one pattern at most. Patterns as hvp-dump --block reads
    /// them (`*` crosses dots; a leading path and a trailing `.weight` may
    /// be left out; `all`), each over whole tensors: --lr-scale 'fc1*=4'.
    #[arg(long, value_name = "PATTERN=FACTOR", value_parser = crate::lr_scale::parse_rule)]
    pub lr_scale: Vec<(String, f64)>,

    /// Learning-rate factors from hvp-dump's blocks for this model, by
    /// --lr-scale-rule: block b's parameters get max_c v_c / v_b, so the
    /// block with the largest v keeps the base rate; parameters in no block
    /// keep 1. A block is named as hvp-dump wrote it: a parameter, a --merge
    /// pattern (all its tensors), `all`, or a --split-qkv third (the tensor
    /// takes the smallest factor of its thirds).
    #[arg(long, value_name = "FILE", conflicts_with = "lr_scale")]
    pub lr_scale_from: Option<PathBuf>,

    /// What v is for --lr-scale-from: `curvature`, each block's largest
    /// Hessian eigenvalue (`density` records of hvp-dump | slq-density), or
    /// `gradient`, each block's RMS gradient |g_b| / sqrt(dim_b) (`gradient`
    /// records of hvp-dump --gradients, which slq-density passes through):
    /// SGD's first step then moves every block's coordinates by the same
    /// RMS, as Adam's first step does. The `run` record names the rule.
    #[arg(long, value_name = "RULE", requires = "lr_scale_from", default_value = "curvature")]
    pub lr_scale_rule: RateRule,

    /// SGD's momentum (PyTorch: b <- mu b + g, p <- p - lr b).
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,

    /// Weight decay (default: PyTorch's, 0.01 for adamw and 0 otherwise;
    /// decoupled for adamw, added to the gradient for sgd and adam).
    #[arg(long)]
    pub weight_decay: Option<f64>,

    /// Learning-rate schedule: constant or cosine (to 0 at the last update).
    #[arg(long, default_value = "constant")]
    pub schedule: ScheduleKind,

    /// Updates of linear warm-up before the schedule.
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,

    /// Updates per run.
    #[arg(long, conflicts_with = "epochs", required_unless_present = "epochs")]
    pub steps: Option<u64>,

    /// Passes over the training set per run (floor(examples / batch) updates
    /// each; not for BERT, whose batches are drawn afresh).
    #[arg(long)]
    pub epochs: Option<f64>,

    /// Examples (sequences for language models) per update.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,

    /// Clip the gradient's global norm to this before each update.
    #[arg(long)]
    pub clip: Option<f64>,

    /// Evaluate on the held-out set every this many updates (and after the
    /// last). Default: a tenth of the run.
    #[arg(long)]
    pub eval_every: Option<u64>,

    /// Held-out examples evaluated (the first ones, in order; 0: all).
    #[arg(long, default_value_t = 2000)]
    pub eval_examples: usize,

    /// Write a `step` record every this many updates.
    #[arg(long, default_value_t = 1)]
    pub log_every: u64,

    /// Write a `classes` record after the `run` record: how often each class
    /// is a training target (labels, next tokens, BERT's maskable tokens).
    #[arg(long)]
    pub class_counts: bool,

    /// Seed of the batch order (and of BERT's batches).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Fractions of training after which to save the weights, e.g. 0,0.25,0.5,1.
    #[arg(long, value_delimiter = ',', requires = "save_dir")]
    pub save_at: Vec<f64>,

    /// Directory of the checkpoints (created if missing).
    #[arg(long)]
    pub save_dir: Option<PathBuf>,

    /// Network dtype: f32 or f64.
    #[arg(long, default_value = "f32")]
    pub dtype: String,

    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// CPU threads for libtorch; 0: all cores; at most 1024. The same count
    /// gives the same bytes (the `run` record states it).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,

    #[command(flatten)]
    pub data_flags: nets_cli::DataFlags,

    /// Synthetic data: examples in each of the training and held-out sets.
    #[arg(long, default_value_t = 512)]
    pub synthetic_examples: i64,

    /// Seed of synthetic data.
    #[arg(long, default_value_t = 0)]
    pub data_seed: u64,

    #[command(flatten)]
    pub model_flags: nets_cli::ModelFlags,

    /// ResNet BatchNorm statistics: `running` (default; the stored ones,
    /// never updated here, so BatchNorm is a learned affine map) or `batch`
    /// (each batch's own, also when evaluating).
    #[arg(long)]
    pub bn: Option<BnMode>,

    /// The `model` field of the records and the checkpoints' prefix (default: the model's name).
    #[arg(long)]
    pub label: Option<String>,

    /// Start from these weights (safetensors, by name: a checkpoint of
    /// nn-train or hvp-dump --save-weights) instead of --init-seed's.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,

    // --- TorchScript: a user's own module (kept together for merges) ---
    /// Train a TorchScript module (`torch.jit.save` of a traced or scripted
    /// module; see docs/torchscript.md) instead of a zoo model: its
    /// parameters that require grad, under their own names.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["model", "widths", "layer_scale", "layers", "bn"])]
    pub torchscript: Option<PathBuf>,

    /// --torchscript: the training set as safetensors, tensors `input` (or
    /// `input.0`, `input.1`, ...) and `target`, examples along the first
    /// dimension; it is also the held-out set.
    #[arg(long, value_name = "FILE", requires = "torchscript",
          conflicts_with_all = ["data", "data_paths", "seq_len", "vocab", "data_seed", "synthetic_examples"])]
    pub inputs: Option<PathBuf>,

    /// --torchscript: the loss: cross-entropy (default), mse or module
    /// (as for hvp-dump --torchscript).
    #[arg(long, requires = "torchscript")]
    pub loss: Option<nets::models::Loss>,

    /// --torchscript with --data instead of --inputs: what forward reads:
    /// `features`, `image:S` or `tokens` (with --seq-len).
    #[arg(long, value_name = "WHAT", conflicts_with = "inputs", requires = "torchscript", value_parser = nets::data::Input::parse_reads)]
    pub reads: Option<nets::data::Input>,
}
