//! hvp-dump's flags: names, defaults and help text.

use std::path::PathBuf;

use clap::Parser;
use lanczos::{BasisChoice, Probe, Reorth};
use nets::layers::BnMode;

pub const TOOL: &str = "hvp-dump";

/// --memory's default, in GiB: never refused, even on a machine with less.
pub const DEFAULT_MEMORY_GIB: f64 = 4.0;

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    allow_negative_numbers = true,
    about = "Lanczos tridiagonals of a network's blockwise Hessian, one `tridiag` record per (block, probe)",
    long_about = "Builds a model from the zoo (or a checkpoint), takes a Hessian batch of real data \
chosen by --data-seed, and for each selected parameter block and probe runs Lanczos on the \
block's Hessian (exact Hessian-vector products by double backward, restricted to the block; \
f64 Lanczos vectors with full reorthogonalization), writing a `run` record and then one \
`tridiag` record per (block, probe). With --exact it writes the dense block Hessian instead, \
one `hessian` record per row. Each (block, probe) start vector has its own seed derived from \
(--seed, block name, probe), so any subset (--shard) reproduces the same records.",
    after_help = "Examples:
  hvp-dump --list-models
  hvp-dump --model gpt2-small --list-blocks --split-qkv
  hvp-dump --model gpt2-small --block wte --block 'h.0.*' | slq-density | block-js
  hvp-dump --model mlp --widths 300,128,64 --layer-scale 2 --block 'fc*' --probes 10
  hvp-dump --model tiny-transformer --block all --exact --dtype f64 > hessian.jsonl
  hvp-dump --model gpt2-nano --split-qkv --block 'h.*.attn.wq' --shard 3/8 > part3.jsonl
  hvp-dump --model gpt2-nano --checkpoint ckpt.safetensors --micro-batch 2 --block wte
  hvp-dump --model gpt2-small --micro-batch 8 --batches 60 --block wte -o wte.jsonl --resume
  hvp-dump --model resnet18-narrow --data fashion-mnist --probes 2 --steps 20 | slq-density | block-js
  hvp-dump --model vit-small --block 'blocks.*.attn.*' | slq-density | block-js
  hvp-dump --model bert-small --data text --data-path corpus.txt --block 'encoder.*'
  hvp-dump --model vgg-small --data idx --data-path images.idx.gz --data-path labels.idx.gz
  hvp-dump --model resnet18-narrow --data npy --data-path my-images/   (images.npy, labels.npy)
  hvp-dump --torchscript my-net.pt --inputs batch.safetensors --list-blocks
  hvp-dump --torchscript my-net.pt --inputs batch.safetensors --loss cross-entropy | slq-density | block-js
  hvp-dump --torchscript my-net.pt --data mnist --reads image:32 --batch-size 16 --block 'layer1.*'

A TorchScript module (--torchscript; scripts/export-torchscript writes one, docs/torchscript.md \
has the details): `forward` takes the inputs, one tensor per argument, and returns a tensor (or a \
tuple whose first element is one): logits [..., classes] for --loss cross-entropy (targets: class \
indices of the logits' leading shape), a tensor of the targets' shape for --loss mse, or, with \
--loss module, `forward(inputs..., target)` returns the scalar loss itself. Its parameters that \
require grad are the blocks, under their own names. It runs in eval mode (--bn batch: train mode), \
with the TorchScript graph executor's optimizations off."
)]
pub struct Args {
    /// Model from the zoo (see --list-models).
    #[arg(long, required_unless_present_any = ["list_models", "torchscript"])]
    pub model: Option<String>,

    /// Print the zoo (name, parameters, default data) and exit.
    #[arg(long)]
    pub list_models: bool,

    /// Print each block's name, shape and size (the selected ones with
    /// --block, else all) and exit.
    #[arg(long)]
    pub list_blocks: bool,

    /// Blocks by name or glob (`*` crosses dots); repeatable. A leading path
    /// and a trailing `.weight` may be left out (`wte`, `h.0.*`); `all` is
    /// the full Hessian over every parameter. Default: every tensor.
    #[arg(long = "block", value_name = "PATTERN")]
    pub blocks: Vec<String>,

    /// Make each --block pattern one block (named by the pattern) instead of
    /// one block per matching tensor.
    #[arg(long)]
    pub merge: bool,

    /// Split each fused attention weight `attn.c_attn` into query, key and
    /// value blocks (`attn.wq`, `attn.wk`, `attn.wv`; biases `attn.bq`...).
    #[arg(long)]
    pub split_qkv: bool,

    /// Lanczos probes (start vectors) per block.
    #[arg(long, default_value_t = 10)]
    pub probes: u32,

    /// Lanczos steps per probe (capped at the block's size).
    #[arg(long, default_value_t = 100)]
    pub steps: usize,

    /// Base seed of the probe vectors.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Distribution of probe vectors: gaussian or rademacher.
    #[arg(long, default_value = "gaussian")]
    pub probe_dist: Probe,

    /// Reorthogonalization: `full` (default: against the whole basis at
    /// every step), `partial` (only at the steps where Simon's estimate of
    /// the loss of orthogonality passes --reorth-threshold, against the
    /// whole basis; memory as full; docs/performance.md measures what it
    /// saves and where it is less accurate) or `none`.
    #[arg(long, default_value = "full")]
    pub reorth: Reorth,

    /// With --reorth partial: reorthogonalize when the estimated |q_j^T q_k|
    /// passes this. Default: sqrt of the network dtype's epsilon (3.5e-4 for
    /// f32, whose Hessian-vector products are accurate only to f32; 1.5e-8
    /// for f64). In (0, 1).
    #[arg(long)]
    pub reorth_threshold: Option<f64>,

    /// Precision of the kept Lanczos basis: `auto` (default: the network's,
    /// f32 for an f32 network, whose Hessian-vector products are no more
    /// precise than that; f64 for an f64 one), `f64` or `f32`.
    #[arg(long, default_value = "auto")]
    pub basis: BasisChoice,

    /// Memory budget for the Lanczos basis, in GiB, met for every block:
    /// the --basis precision (steps x size x 8 bytes in f64, x 4 in f32)
    /// when it fits, else an f32 basis, else against the
    /// first K vectors that fit in f32, else none. The `tridiag` record's
    /// `basis` says which ran (docs/performance.md: what each costs). A
    /// budget above the default is at most the machine's memory; a basis
    /// over the memory available is refused before any work.
    #[arg(long, default_value_t = DEFAULT_MEMORY_GIB)]
    pub memory: f64,

    /// Where a basis over --memory goes instead of down the ladder: a file
    /// here holding the whole f64 basis, read back at every step, so the run
    /// stays exact (`basis`: f64-disk) at the cost of steps x size x 8 bytes
    /// of disk and its reading time. The file is unlinked as soon as it is
    /// made, so its space comes back when the run ends, even if killed.
    /// A --memory below the one row it holds in memory is refused.
    #[arg(long, value_name = "DIR")]
    pub basis_dir: Option<PathBuf>,

    /// Run the K-th of N deterministic shares of the (block, probe) runs
    /// (K from 1 to N); the N outputs concatenated in order (without their
    /// `run` records) equal the unsharded output.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,

    /// Write the dense block Hessian (one `hessian` record per row) instead
    /// of Lanczos tridiagonals.
    #[arg(long)]
    pub exact: bool,

    /// Largest block --exact accepts.
    #[arg(long, default_value_t = 5000)]
    pub exact_max: usize,

    /// Network dtype: f32 or f64 (Lanczos runs in f64 either way). Default:
    /// f32; with --torchscript, the module's own.
    #[arg(long)]
    pub dtype: Option<String>,

    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,

    /// Lanczos engine: `rust` (f64 vectors on the host, the basis in host
    /// memory or --basis-dir), `tensor` (vectors and basis as libtorch
    /// tensors on --device, only the tridiagonal back to the host: what a
    /// GPU needs) or `auto` (tensor on CUDA; rust on the CPU, whose records
    /// are bit-identical for any --threads; rust with --basis-dir). Same rules and --memory rungs;
    /// the two agree to rounding (docs/gpu.md). The `tridiag` record's
    /// `engine` says which ran.
    #[arg(long, default_value = "auto")]
    pub engine: nets::runs::EngineChoice,

    /// CPU threads for libtorch's kernels and for reorthogonalization; 0:
    /// all cores; at most 1024. The same count gives the same bytes; between counts the
    /// reorthogonalization is bit-identical, but libtorch's HVP reductions
    /// may differ in the last bits (in f32 about 1e-6 relative).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,

    #[command(flatten)]
    pub data_flags: nets_cli::DataFlags,

    /// Hessian batch: examples (mlp) or sequences (transformers). Default: the model's.
    #[arg(long)]
    pub batch_size: Option<i64>,

    /// Seed choosing the Hessian batch.
    #[arg(long, default_value_t = 0)]
    pub data_seed: u64,

    /// Accumulate each product over micro-batches of this many examples
    /// (mean, weighted by size) instead of keeping one graph for the batch.
    #[arg(long)]
    pub micro_batch: Option<i64>,

    /// Stream the Hessian batch as N micro-batches of --micro-batch
    /// examples (N x --micro-batch in all, chosen as --batch-size would
    /// choose them, same records): each is assembled from the data and put
    /// on the device only while a product needs it, so the batch never sits
    /// in memory whole. The paper's GPT-2 batch: --micro-batch 8 --batches 60.
    #[arg(long, value_name = "N", requires = "micro_batch", conflicts_with = "batch_size")]
    pub batches: Option<i64>,

    #[command(flatten)]
    pub model_flags: nets_cli::ModelFlags,

    /// ResNet BatchNorm statistics while the Hessian is taken: `running`
    /// (default; PyTorch's eval mode, as the authors' code: the stored
    /// running mean and variance, 0 and 1 at initialization, so each
    /// example's loss is its own and micro-batches do not change the
    /// Hessian) or `batch` (train-mode statistics of the Hessian batch,
    /// running statistics not updated; with --micro-batch, of each
    /// micro-batch).
    #[arg(long)]
    pub bn: Option<BnMode>,

    /// Load weights by name from a safetensors file.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,

    /// Write the weights used to a safetensors file.
    #[arg(long)]
    pub save_weights: Option<PathBuf>,

    /// Write the Hessian batch used (whole, before --micro-batch) to a
    /// safetensors file: tensors `input` (features, images or token ids)
    /// and `target`, on the CPU, so that another program can take the
    /// Hessian on the same examples.
    #[arg(long, value_name = "FILE")]
    pub save_batch: Option<PathBuf>,

    /// The `model` field of the records (default: the model's name).
    #[arg(long)]
    pub label: Option<String>,

    /// Write the records to FILE instead of stdout, each line whole and
    /// flushed. An existing non-empty FILE is refused unless --resume; FILE
    /// is never read otherwise (a pipe or device is only written). A regular
    /// FILE is locked for the whole run: a second writer is refused.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Continue the run whose records are in --output FILE: its `run` record
    /// must match these arguments (and seed, model, device, dtype, threads);
    /// a torn last line is dropped, the complete (block, probe) records are
    /// kept and only the rest is computed, so FILE ends as an uninterrupted
    /// run's. A missing or empty FILE starts afresh.
    #[arg(long, requires = "output")]
    pub resume: bool,

    /// Before the tridiagonals, write a `gradient` record per block: the norm
    /// of its gradient on the Hessian batch, and the inner products of the
    /// gradients of --gradient-parts equal parts of the batch (for bootstrap
    /// intervals over examples). Not with --resume or --shard.
    #[arg(long, conflicts_with_all = ["resume", "shard"])]
    pub gradients: bool,

    /// --gradients: equal parts the Hessian batch is cut into (at least the
    /// --micro-batch count, so no part holds more examples than a micro-batch).
    /// With --bn batch each part would be normalized by its own statistics,
    /// not the batch's: 1 is the only count allowed there.
    #[arg(long, default_value_t = 8, value_name = "K", requires = "gradients",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub gradient_parts: u32,

    // --- TorchScript: a user's own module (kept together for merges) ---
    /// Load a TorchScript module (`torch.jit.save` of a traced or scripted
    /// module) instead of a zoo model; its parameters that require grad are
    /// the blocks, under their own names.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["model", "widths", "layer_scale", "layers", "save_weights", "save_batch"])]
    pub torchscript: Option<PathBuf>,

    /// --torchscript: the Hessian batch as safetensors, tensors `input` (or
    /// `input.0`, `input.1`, ... for a forward of several arguments, in
    /// order) and `target`, all with the examples along the first dimension.
    /// Read whole: the flags that choose a batch from --data do not apply.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["batch_size", "data_seed", "data", "data_paths", "seq_len", "vocab"])]
    pub inputs: Option<PathBuf>,

    /// --torchscript: the loss: `cross-entropy` (forward returns logits
    /// [..., classes]; integer targets of the leading shape, flattened),
    /// `mse` (float targets of the output's shape) or `module` (forward(inputs...,
    /// target) returns the scalar loss).
    /// Default: cross-entropy.
    #[arg(long)]
    pub loss: Option<nets::models::Loss>,

    /// --torchscript with --data instead of --inputs: what forward reads:
    /// `features` (flat [N, F]), `image:S` ([N, 3, S, S], 1-channel images
    /// replicated, resized bilinearly) or `tokens` ([N, --seq-len] ids, next-token targets).
    #[arg(long, value_name = "WHAT", conflicts_with = "inputs", value_parser = nets::data::Input::parse_reads)]
    pub reads: Option<nets::data::Input>,
}
