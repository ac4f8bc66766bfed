//! What the two binaries that drive networks (hvp-dump, nn-train) share:
//! `nets` errors worded for their users (where a setting or a path came from
//! a flag, the message names the flag; the variant decides the exit class,
//! usage or invalid input), the flags both declare ([`DataFlags`],
//! [`ModelFlags`]), size checks, and the progress bar on a terminal.

mod flags;
mod resolve;

use std::io::IsTerminal;

use cli::Error;
use nets::data::Input;
use nets::{zoo, Setting, UserFiles};

fn flag(s: Setting, batch_size_flag: &'static str) -> &'static str {
    match s {
        Setting::Widths => "--widths",
        Setting::LayerScale => "--layer-scale",
        Setting::Layers => "--layers",
        Setting::BatchNorm => "--bn",
        Setting::BatchSize => batch_size_flag,
        Setting::SeqLen => "--seq-len",
        Setting::Vocab => "--vocab",
        Setting::ClassZipf => "--class-zipf",
    }
}

pub use flags::{DataFlags, ModelFlags};
pub use resolve::{resolve, Data, DataChoice, Resolved};

const DATA_DIR_HINT: &str = "point --data-dir / HESSIAN_BLOCKS_DATA at";

/// `e` as a message naming the flag behind it. `batch_size_flag` is the flag
/// that sets nets' batch size in this binary (`--batch-size` for a Hessian
/// batch, `--synthetic-examples` for a synthetic training set).
pub fn from_nets(e: nets::Error, batch_size_flag: &'static str) -> Error {
    use nets::Error as N;
    match e {
        N::UnknownModel { .. } | N::UnknownDevice(_) | N::UnknownDtype(_) | N::Mismatch(_) => {
            Error::usage(e.to_string())
        }
        N::NoSuchCuda { count: 0, .. } => Error::invalid(format!("{e} (use --device cpu, or auto)")),
        N::NoSuchCuda { .. } | N::Invalid(_) => Error::invalid(e.to_string()),
        N::Numeric(m) => Error::numeric(m),
        N::NotForModel { setting: Setting::Widths | Setting::LayerScale, .. } => {
            let names: Vec<&str> = zoo::accepting(Setting::Widths).map(|e| e.name).collect();
            Error::usage(format!("--widths and --layer-scale apply to --model {} only", names.join(", ")))
        }
        N::NotForModel { setting: Setting::BatchNorm, .. } => {
            let mut families: Vec<&str> = zoo::accepting(Setting::BatchNorm).map(|e| e.family).collect();
            families.dedup();
            Error::usage(format!("--bn applies to the {} models only", families.join(" and ")))
        }
        // A model shaped by its widths, not its layers, says so.
        N::NotForModel { setting: Setting::Layers, model }
            if zoo::zoo_entry(&model).is_ok_and(|e| e.accepts.contains(&Setting::Widths)) =>
        {
            Error::usage(format!("--layers does not apply to {model} (use --widths)"))
        }
        N::NotForModel { setting, model } => {
            Error::usage(format!("{} does not apply to {model}", flag(setting, batch_size_flag)))
        }
        N::OutOfRange { setting, requirement } => {
            Error::usage(format!("{} {requirement}", flag(setting, batch_size_flag)))
        }
        N::BertSequenceTooShort { seq_len } => {
            Error::usage(format!("BERT needs --seq-len of at least 5, got {seq_len}"))
        }
        N::BatchExceedsData { batch_size, available, data } => {
            Error::usage(format!("--batch-size {batch_size} exceeds the {available} training examples of `{data}`"))
        }
        N::DataPaths { data, expected, got } => {
            let what = match expected {
                UserFiles::File => "one --data-path FILE",
                UserFiles::Dir => "one --data-path DIR",
                UserFiles::ImagesAndLabels => "two --data-path files (images, labels)",
            };
            Error::usage(format!("--data {data} needs {what} (got {got} --data-path)"))
        }
        N::DataPathsUnused { .. } => Error::usage("--data-path applies to --data idx, npy or text only"),
        N::DataSetMissing { what, path } => Error::invalid(format!(
            "{what} not found at {}: run `scripts/setup` (or `scripts/setup-data`) to install the data sets, \
             or {DATA_DIR_HINT} them",
            path.display()
        )),
        N::FashionMnistMissing { searched } => {
            let places: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
            Error::invalid(format!(
                "Fashion-MNIST (Debian package dataset-fashion-mnist) not found in {}: \
                 run `scripts/setup` to install it, or {DATA_DIR_HINT} a directory with fashion-mnist/",
                places.join(" or ")
            ))
        }
        // What uses the memory differs per tool: each adds its own hint.
        N::Libtorch { .. } => Error::invalid(e.to_string()),
        N::NpyMissing { path } => Error::invalid(format!(
            "{} not found (--data npy reads images.npy and labels.npy from --data-path DIR)",
            path.display()
        )),
    }
}

/// Refuse `need` bytes (for `what`) when the memory available is smaller:
/// sizes a user asks for, checked before any work starts.
pub fn fits(need: f64, what: &str) -> Result<(), Error> {
    match cli::available_memory() {
        Some(have) if need > have => Err(Error::invalid(format!(
            "{what} needs at least {}, more than the {} of memory available",
            cli::gigabytes(need),
            cli::gigabytes(have)
        ))),
        _ => Ok(()),
    }
}

/// A progress bar over `total` units of work (`unit`: "HVPs", "updates")
/// with its rate and the time left, on a terminal; else a hidden one, so
/// pipes and CI stay quiet.
pub fn progress_bar(total: u64, unit: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    let template = format!(
        "{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit}, {{per_sec}}, {{eta}} left {{msg}}"
    );
    bar.set_style(indicatif::ProgressStyle::with_template(&template).expect("a valid template"));
    bar
}

/// The sequence length a zoo model reads: `--seq-len` (`requested`), else
/// the model's context; longer than the context is refused. 0 for models
/// without one.
pub fn zoo_seq_len(context: Option<i64>, requested: Option<i64>) -> Result<i64, Error> {
    let seq_len = requested.or(context).unwrap_or(0);
    match context.filter(|c| seq_len > *c) {
        Some(c) => Err(Error::usage(format!("--seq-len {seq_len} exceeds the model's context {c}"))),
        None => Ok(seq_len),
    }
}

/// The sequence length a TorchScript module reads with `--reads`: token
/// windows need `--seq-len` (a module states no context); other inputs none.
pub fn reads_seq_len(input: Input, requested: Option<i64>) -> Result<i64, Error> {
    match (input, requested) {
        (Input::Tokens, None) => Err(Error::usage("--reads tokens needs --seq-len")),
        (_, s) => Ok(s.unwrap_or(0)),
    }
}

/// Most threads `--threads` accepts (block-js's bound too). Far above the
/// cores of any machine these tools run on; past it libtorch's pool
/// exhausts the process (100000 threads overflowed the stack or took
/// gigabytes) before any work.
pub const MAX_THREADS: usize = 1024;

/// Set libtorch's CPU threads from `--threads` (0: libtorch's default, one
/// per core), refusing counts over [`MAX_THREADS`]. More threads than cores
/// are kept (the count decides the bytes of the records) with a warning on
/// stderr, since they only slow the run. MKL's own thread adjustment is
/// turned off whatever the count ([`nets::device::fix_blas_thread_count`]).
pub fn set_threads(tool: &str, threads: usize) -> Result<(), Error> {
    if threads > MAX_THREADS {
        return Err(Error::usage(format!("--threads {threads} is more than {MAX_THREADS} (0 takes one per core)")));
    }
    nets::device::fix_blas_thread_count();
    if threads == 0 {
        return Ok(());
    }
    if let Ok(cores) = std::thread::available_parallelism() {
        if threads > cores.get() {
            eprintln!(
                "{tool}: warning: --threads {threads} on {cores} cores: threads beyond the cores only slow the run"
            );
        }
    }
    // MAX_THREADS fits an i32.
    tch::set_num_threads(threads as i32);
    Ok(())
}

/// Bytes of the batch's input and target tensors, from the flags alone.
pub fn batch_bytes(input: &Input, batch: i64, seq_len: i64, value_bytes: f64) -> f64 {
    let n = batch.max(0) as f64;
    match input {
        // Token ids and targets: two i64 per position.
        Input::Tokens | Input::MaskedLm => n * seq_len.max(0) as f64 * 16.0,
        Input::Image { size } => n * 3.0 * (*size as f64).powi(2) * value_bytes,
        // MNIST-sized feature vectors (the sets are finite and checked by size too).
        Input::Features => n * 784.0 * value_bytes,
    }
}

/// Replace `model`'s weights by the checkpoint at `path` (`--checkpoint`).
pub fn load_checkpoint(
    model: &dyn nets::model::Model,
    path: &std::path::Path,
    from_nets: fn(nets::Error) -> Error,
) -> Result<(), Error> {
    model.load(path).map_err(|e| from_nets(e).with_hint(&format!("--checkpoint {}", path.display())))
}
