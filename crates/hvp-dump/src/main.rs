//! hvp-dump: Lanczos tridiagonals (or exact Hessians) of parameter blocks of
//! a network, as JSON-lines records. Thin: arguments -> `nets` -> records.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Parser;
use lanczos::{lanczos_with_progress, LanczosError, Options, Probe, Reorth};
use rng::{derive_seed, SplitMix};
use nets::blocks::{select, units, Block, Grouping};
use nets::data::{BatchSpec, DataKind, Input, Shape};
use nets::hvp::{dense, BlockHessian};
use nets::models::{self, BnMode, ModelOptions, ZOO};
use records::{Error, Hessian, Record, RecordWriter, Result, Run, Tridiag};

const TOOL: &str = "hvp-dump";

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
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
  hvp-dump --model resnet18-narrow --data fashion-mnist --probes 2 --steps 20 | slq-density | block-js
  hvp-dump --model vit-small --block 'blocks.*.attn.*' | slq-density | block-js
  hvp-dump --model bert-small --data text --data-path corpus.txt --block 'encoder.*'
  hvp-dump --model vgg-small --data idx --data-path images.idx.gz --data-path labels.idx.gz
  hvp-dump --model resnet18-narrow --data npy --data-path my-images/   (images.npy, labels.npy)"
)]
struct Args {
    /// Model from the zoo (see --list-models).
    #[arg(long, required_unless_present = "list_models")]
    model: Option<String>,

    /// Print the zoo (name, parameters, default data) and exit.
    #[arg(long)]
    list_models: bool,

    /// Print each block's name, shape and size (the selected ones with
    /// --block, else all) and exit.
    #[arg(long)]
    list_blocks: bool,

    /// Blocks by name or glob (`*` crosses dots); repeatable. A leading path
    /// and a trailing `.weight` may be left out (`wte`, `h.0.*`); `all` is
    /// the full Hessian over every parameter. Default: every tensor.
    #[arg(long = "block", value_name = "PATTERN")]
    blocks: Vec<String>,

    /// Make each --block pattern one block (named by the pattern) instead of
    /// one block per matching tensor.
    #[arg(long)]
    merge: bool,

    /// Split each fused attention weight `attn.c_attn` into query, key and
    /// value blocks (`attn.wq`, `attn.wk`, `attn.wv`; biases `attn.bq`...).
    #[arg(long)]
    split_qkv: bool,

    /// Lanczos probes (start vectors) per block.
    #[arg(long, default_value_t = 10)]
    probes: u32,

    /// Lanczos steps per probe (capped at the block's size).
    #[arg(long, default_value_t = 100)]
    steps: usize,

    /// Base seed of the probe vectors.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Distribution of probe vectors: gaussian or rademacher.
    #[arg(long, default_value = "gaussian")]
    probe_dist: Probe,

    /// Reorthogonalization: `full` (default) or `none`.
    #[arg(long, default_value = "full")]
    reorth: Reorth,

    /// Memory budget for the full-reorthogonalization basis (steps x size x
    /// 8 bytes), in GiB. A block over it is refused with the options.
    #[arg(long, default_value_t = 4.0)]
    memory: f64,

    /// Run the K-th of N deterministic shares of the (block, probe) runs
    /// (K from 1 to N); the N outputs concatenated in order (without their
    /// `run` records) equal the unsharded output.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,

    /// Write the dense block Hessian (one `hessian` record per row) instead
    /// of Lanczos tridiagonals.
    #[arg(long)]
    exact: bool,

    /// Largest block --exact accepts.
    #[arg(long, default_value_t = 5000)]
    exact_max: usize,

    /// Network dtype: f32 or f64 (Lanczos runs in f64 either way).
    #[arg(long, default_value = "f32")]
    dtype: String,

    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,

    /// Data: mnist, fashion-mnist, shakespeare-char, shakespeare-bpe,
    /// synthetic, or a user's `idx` (--data-path IMAGES --data-path LABELS),
    /// `npy` (--data-path DIR with images.npy and labels.npy) or `text`
    /// (--data-path FILE, one token per character). Default: the model's.
    /// Image models get 1-channel images replicated to 3 channels and
    /// resized (bilinear) to their input size.
    #[arg(long)]
    data: Option<DataKind>,

    /// The user's data files for --data idx, npy or text; repeatable.
    #[arg(long = "data-path", value_name = "PATH")]
    data_paths: Vec<PathBuf>,

    /// Where the data sets are (default: $HESSIAN_BLOCKS_DATA, else data/ of this checkout).
    #[arg(long)]
    data_dir: Option<PathBuf>,

    /// Hessian batch: examples (mlp) or sequences (transformers). Default: the model's.
    #[arg(long)]
    batch_size: Option<i64>,

    /// Sequence length (transformers; default: the model's context).
    #[arg(long)]
    seq_len: Option<i64>,

    /// Seed choosing the Hessian batch.
    #[arg(long, default_value_t = 0)]
    data_seed: u64,

    /// Vocabulary of --data synthetic for transformers.
    #[arg(long, default_value_t = 16)]
    vocab: i64,

    /// Accumulate each product over micro-batches of this many examples
    /// (mean, weighted by size) instead of keeping one graph for the batch.
    #[arg(long)]
    micro_batch: Option<i64>,

    /// mlp: hidden widths, comma-separated (default 300,128,64).
    #[arg(long, value_delimiter = ',')]
    widths: Option<Vec<i64>>,

    /// mlp: multiply each layer's output by this.
    #[arg(long, default_value_t = 1.0)]
    layer_scale: f64,

    /// Transformer layers (tiny-transformer: 1-4, default 1; also GPT, ViT, BERT).
    #[arg(long)]
    layers: Option<i64>,

    /// ResNet BatchNorm statistics while the Hessian is taken: `running`
    /// (default; PyTorch's eval mode, as the authors' code: the stored
    /// running mean and variance, 0 and 1 at initialization, so each
    /// example's loss is its own and micro-batches do not change the
    /// Hessian) or `batch` (train-mode statistics of the Hessian batch,
    /// running statistics not updated; with --micro-batch, of each
    /// micro-batch).
    #[arg(long)]
    bn: Option<BnMode>,

    /// Seed of the weight initialization.
    #[arg(long, default_value_t = 0)]
    init_seed: u64,

    /// Load weights by name from a safetensors file.
    #[arg(long)]
    checkpoint: Option<PathBuf>,

    /// Write the weights used to a safetensors file.
    #[arg(long)]
    save_weights: Option<PathBuf>,

    /// The `model` field of the records (default: the model's name).
    #[arg(long)]
    label: Option<String>,
}

fn main() {
    let args = Args::parse();
    Error::exit(TOOL, run(&args));
}

fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad = || Error::usage(format!("--shard must be K/N with 1 <= K <= N, got `{s}`"));
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// Work items [lo, hi) of shard k of n over `total` items: contiguous, in order.
fn shard_range(total: usize, k: usize, n: usize) -> (usize, usize) {
    (total * (k - 1) / n, total * k / n)
}

fn list_models(data_dir: &std::path::Path) -> Result<()> {
    let mut out = RecordWriter::stdout();
    let mut text = format!(
        "{:<18} {:>12}  {:<18} {}\n",
        "model", "parameters", "default data", "description"
    );
    let chars = nets::data::load_shakespeare(data_dir)
        .map(|t| nets::data::char_tokens(&t).vocab)
        .ok();
    for e in ZOO {
        let input = models::arch(e.name, &ModelOptions::default(), 784, 2)?.input();
        let specials = if input == Input::MaskedLm {
            nets::data::BERT_SPECIALS
        } else {
            0
        };
        let vocab = match e.default_data {
            DataKind::ShakespeareChar => chars.map(|v| v + specials),
            DataKind::ShakespeareBpe => Some(nets::data::GPT2_VOCAB_PADDED),
            _ => Some(if input == Input::Tokens { 16 } else { 10 }),
        };
        let params = match vocab {
            Some(v) => models::arch(e.name, &ModelOptions::default(), 784, v)?
                .param_count()
                .to_string(),
            None => "(needs data)".into(),
        };
        text.push_str(&format!(
            "{:<18} {:>12}  {:<18} {}\n",
            e.name,
            params,
            e.default_data.name(),
            e.about
        ));
    }
    text.push_str(
        "(image models: parameters for the data's 10 classes; BERT: for Shakespeare's characters plus 4 special tokens)\n",
    );
    out.write_text(&text)
}

fn run(args: &Args) -> Result<()> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(nets::data::default_data_dir);
    if args.list_models {
        return list_models(&data_dir);
    }
    let name = args.model.as_deref().expect("clap requires --model");
    let entry = models::zoo_entry(name)?;
    let kind = nets::parse_dtype(&args.dtype)?;
    let device = nets::parse_device(&args.device)?;
    if args.probes == 0 {
        return Err(Error::usage("--probes must be at least 1"));
    }
    if args.steps == 0 {
        return Err(Error::usage("--steps must be at least 1"));
    }
    if args.memory.is_nan() || args.memory <= 0.0 {
        return Err(Error::usage("--memory must be positive"));
    }
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let opts = ModelOptions {
        widths: args.widths.clone(),
        layer_scale: args.layer_scale,
        layers: args.layers,
        bn: args.bn,
    };

    // Data first: the vocabulary sizes the model.
    let shape_arch = models::arch(name, &opts, 784, 2)?;
    let input = shape_arch.input();
    let context = shape_arch.block_size();
    let seq_len = args.seq_len.or(context).unwrap_or(0);
    if let Some(c) = context {
        if seq_len > c {
            return Err(Error::usage(format!(
                "--seq-len {seq_len} exceeds the model's context {c}"
            )));
        }
    }
    let spec = BatchSpec {
        kind: args.data.unwrap_or(entry.default_data),
        dir: data_dir,
        batch_size: args.batch_size.unwrap_or(entry.default_batch),
        seq_len,
        seed: args.data_seed,
        synthetic_vocab: args.vocab,
        input,
        paths: args.data_paths.clone(),
    };
    let loaded = nets::data::load(&spec, kind)?;
    let (input, classes) = match loaded.shape {
        Shape::Classes { features, classes } => (features, classes),
        Shape::Tokens { vocab } => (0, vocab),
    };
    let arch = models::arch(name, &opts, input, classes)?;
    let model = models::build(&arch, kind, device, args.init_seed);
    model.net.check(&loaded.batch)?;
    if let Some(p) = &args.checkpoint {
        nets::checkpoint::load(&model.vs, p)?;
    }
    if let Some(p) = &args.save_weights {
        nets::checkpoint::save(&model.vs, p)?;
    }

    let candidates = units(&model.vs, args.split_qkv);
    let blocks = if args.blocks.is_empty() {
        select(&candidates, &["*".to_string()], Grouping::EachTensor)?
    } else {
        select(
            &candidates,
            &args.blocks,
            if args.merge {
                Grouping::PerPattern
            } else {
                Grouping::EachTensor
            },
        )?
    };
    if args.list_blocks {
        let mut text = String::new();
        for b in &blocks {
            let shape: Vec<String> = b.shape().iter().map(|d| d.to_string()).collect();
            text.push_str(&format!(
                "{}\t[{}]\t{}\n",
                b.name,
                shape.join(", "),
                b.dim()
            ));
        }
        return RecordWriter::stdout().write_text(&text);
    }

    let label = args.label.clone().unwrap_or_else(|| name.to_string());
    let batch = loaded.batch.to(device);
    let batches = || match args.micro_batch {
        Some(m) => batch.micro_batches(m),
        None => vec![(batch.slice(0, batch.len()), 1.0)],
    };
    if let Some(m) = args.micro_batch {
        if m < 1 {
            return Err(Error::usage("--micro-batch must be at least 1"));
        }
    }
    // Check every block against its limits before any work.
    for b in &blocks {
        let d = b.dim();
        if args.exact && d > args.exact_max {
            return Err(Error::usage(format!(
                "block `{}` has {d} parameters, more than --exact-max {} (a dense Hessian needs {d} HVPs and {:.1} MB)",
                b.name,
                args.exact_max,
                (d * d * 8) as f64 / 1e6
            )));
        }
        let m = args.steps.min(d);
        let bytes = (m as f64) * (d as f64) * 8.0;
        if !args.exact && args.reorth == Reorth::Full && bytes > args.memory * (1u64 << 30) as f64 {
            return Err(Error::usage(format!(
                "block `{}`: full reorthogonalization needs a basis of {m} x {d} x 8 bytes = {:.2} GiB, over --memory {} GiB; \
                 raise --memory, lower --steps, or use --reorth none (three-term recurrence: spurious copies of converged Ritz values)",
                b.name,
                bytes / (1u64 << 30) as f64,
                args.memory
            )));
        }
    }

    let mut out = RecordWriter::stdout();
    let mut run = Run::for_tool(TOOL, Some(args.seed));
    run.model = Some(label.clone());
    run.device = Some(nets::device_name(device));
    run.dtype = Some(nets::dtype_name(kind).to_string());
    out.write(&Record::Run(run))?;

    // Work items: blocks (exact) or (block, probe) pairs, block-major.
    let items: Vec<(usize, u32)> = if args.exact {
        (0..blocks.len()).map(|b| (b, 0)).collect()
    } else {
        (0..blocks.len())
            .flat_map(|b| (0..args.probes).map(move |p| (b, p)))
            .collect()
    };
    let (lo, hi) = match shard {
        Some((k, n)) => shard_range(items.len(), k, n),
        None => (0, items.len()),
    };
    let items = &items[lo..hi];
    let total: u64 = items
        .iter()
        .map(|(b, _)| {
            let d = blocks[*b].dim();
            (if args.exact { d } else { args.steps.min(d) }) as u64
        })
        .sum();
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} HVPs, eta {eta} {msg}",
            )
            .unwrap(),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };

    let lopts = Options {
        steps: args.steps,
        reorth: args.reorth,
        ..Options::default()
    };
    let mut i = 0;
    while i < items.len() {
        let bi = items[i].0;
        let block: &Block = &blocks[bi];
        bar.set_message(block.name.clone());
        let mut op = BlockHessian::new(model.net.as_ref(), block, batches())?;
        let d = block.dim();
        if args.exact {
            let h = dense(&mut op, |_| bar.inc(1))?;
            for r in 0..d {
                out.write(&Record::Hessian(Hessian {
                    model: label.clone(),
                    block: block.name.clone(),
                    dim: d as u64,
                    row: r as u64,
                    values: h[r * d..(r + 1) * d].to_vec(),
                }))?;
            }
            i += 1;
            continue;
        }
        while i < items.len() && items[i].0 == bi {
            let probe = items[i].1;
            let seed = derive_seed(args.seed, &[block.name.as_bytes(), &probe.to_le_bytes()]);
            let start = args.probe_dist.vector(d, &mut SplitMix::new(seed));
            let t = lanczos_with_progress(&mut op, &start, &lopts, |_| bar.inc(1)).map_err(|e| match e {
                LanczosError::Operator { step, error } => {
                    Error::numeric(format!("block `{}`, probe {probe}, Lanczos step {step}: {error}", block.name))
                }
                LanczosError::NonFinite { step } => Error::numeric(format!(
                    "block `{}`, probe {probe}, Lanczos step {step}: Hessian-vector product is NaN or Inf",
                    block.name
                )),
                LanczosError::BadStart(m) => Error::numeric(format!("block `{}`, probe {probe}: {m}", block.name)),
            })?;
            out.write(&Record::Tridiag(Tridiag {
                model: label.clone(),
                block: block.name.clone(),
                dim: d as u64,
                probe,
                seed,
                steps_done: Some(t.alpha.len()),
                alpha: t.alpha,
                beta: t.beta,
                breakdown: t.breakdown,
                reorth: Some(args.reorth.name().to_string()),
            }))?;
            i += 1;
        }
    }
    bar.finish_and_clear();
    Ok(())
}
