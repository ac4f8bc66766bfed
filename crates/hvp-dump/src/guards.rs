//! Sizes a user asks for, checked against the memory available before any
//! work starts: lower bounds (the batch's own tensors, nets_cli::batch_bytes;
//! the logits of one graph), so a refusal is certain and an acceptance is
//! no promise.

/// Bytes of one graph's logits, their softmax and its gradient (kept for
/// the double backward), for `examples` examples of `positions` outputs each.
pub fn logits_bytes(examples: i64, positions: i64, classes: i64, value_bytes: f64) -> f64 {
    3.0 * examples.max(0) as f64 * positions.max(1) as f64 * classes.max(0) as f64 * value_bytes
}
