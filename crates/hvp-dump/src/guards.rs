//! Sizes a user asks for, checked against the memory available before any
//! work starts: lower bounds (the batch's own tensors, the logits of one
//! graph), so a refusal is certain and an acceptance is no promise.

use nets::data::Input;

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

/// Bytes of one graph's logits, their softmax and its gradient (kept for
/// the double backward), for `examples` examples of `positions` outputs each.
pub fn logits_bytes(examples: i64, positions: i64, classes: i64, value_bytes: f64) -> f64 {
    3.0 * examples.max(0) as f64 * positions.max(1) as f64 * classes.max(0) as f64 * value_bytes
}
