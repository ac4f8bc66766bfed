//! The Hessian batch: drawn from a data set after checking that what is
//! held at once fits in memory, then handed to the runs whole or streamed.

use cli::{Error, Result};
use nets::data::{BatchSpec, Stream};
use nets::hvp::HessianBatch;

use crate::job::HvpJob;
use crate::messages::from_nets;

/// The Hessian batch of `spec`, in `kind`, after checking that what is held
/// at once fits in memory.
pub fn draw(job: &HvpJob, spec: &BatchSpec, kind: tch::Kind) -> Result<Stream> {
    let data = &job.batching;
    // Sizes before work: the batch (one micro-batch when streamed).
    let value_bytes = kind.elt_size_in_bytes() as f64;
    let (held, what) = match data.batches {
        Some(_) => (data.micro_batch.unwrap_or(1), "--micro-batch"),
        None => (spec.batch_size, "--batch-size"),
    };
    let batch_bytes = nets_cli::batch_bytes(&spec.input, held, spec.seq_len, value_bytes);
    nets_cli::fits(batch_bytes, &format!("{what} {held} (the examples held at once)"))?;
    if job.files.save_batch.is_some() {
        let whole = nets_cli::batch_bytes(&spec.input, spec.batch_size, spec.seq_len, value_bytes);
        nets_cli::fits(whole, &format!("--save-batch of {} examples (assembled whole)", spec.batch_size))?;
    }
    nets::data::stream(spec, kind).map_err(|e| match (e, data.batches, data.micro_batch) {
        // The batch size was not given as --batch-size: name the flags that made it.
        (nets::Error::BatchExceedsData { batch_size, available, data }, Some(n), Some(m)) => Error::usage(format!(
            "--batches {n} x --micro-batch {m} = {batch_size} examples exceed the {available} training examples of `{data}`"
        )),
        (e, ..) => from_nets(e),
    })
}

/// Call `work` with the Hessian batch of `stream`: streamed with --batches,
/// else put on the device whole (split into --micro-batch views).
pub fn with_batch<T>(job: &HvpJob, stream: &Stream, work: impl FnOnce(HessianBatch) -> Result<T>) -> Result<T> {
    let device = job.device;
    match (job.batching.batches, job.batching.micro_batch) {
        (Some(_), Some(micro)) => work(HessianBatch::Streamed { stream, micro: micro as usize, device }),
        _ => {
            let batch = nets::contain("putting the batch on the device", || Ok(stream.whole()?.to(device)))
                .map_err(from_nets)?;
            work(HessianBatch::Held { batch: &batch, micro: job.batching.micro_batch })
        }
    }
}
