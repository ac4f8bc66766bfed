//! What every network offers: a twice-differentiable loss on a batch.

use tch::Tensor;

use crate::data::Batch;
use crate::error::{Error, Result};

/// A network whose loss on a batch can be differentiated twice.
pub trait Net {
    /// Mean cross-entropy over the batch's examples (tokens for language
    /// models), computed in the network's dtype (no f32 shortcut).
    fn loss(&self, batch: &Batch) -> Tensor;
    /// The loss, or why the network cannot take one on this batch (a
    /// loaded module whose forward fails); the zoo's networks cannot fail.
    fn try_loss(&self, batch: &Batch) -> Result<Tensor> {
        Ok(self.loss(batch))
    }
    /// Whether the batch has the shape the network reads (checked once,
    /// before any work, so that bad data is an error and not a crash).
    fn check(&self, _batch: &Batch) -> Result<()> {
        Ok(())
    }
    /// The network's output (logits) on the batch, where it has one apart
    /// from the loss.
    fn output(&self, _batch: &Batch) -> Option<Tensor> {
        None
    }
}

/// A network that maps inputs to class logits and is trained by
/// cross-entropy on them: the image families and the MLP. Its [`Net`] is
/// written once, here.
pub trait Classifier {
    /// Logits [N, classes] of the inputs.
    fn logits(&self, x: &Tensor) -> Tensor;
    /// Whether the batch's inputs have the shape the network reads.
    fn check_inputs(&self, _batch: &Batch) -> Result<()> {
        Ok(())
    }
}

impl<C: Classifier> Net for C {
    fn loss(&self, batch: &Batch) -> Tensor {
        crate::layers::cross_entropy(&self.logits(&batch.x), &batch.y)
    }
    fn check(&self, batch: &Batch) -> Result<()> {
        self.check_inputs(batch)
    }
    fn output(&self, batch: &Batch) -> Option<Tensor> {
        Some(self.logits(&batch.x))
    }
}

/// Whether `batch.x` holds images [N, 3, image, image].
pub fn check_images(batch: &Batch, image: i64) -> Result<()> {
    let s = batch.x.size();
    if s.len() != 4 || s[1] != 3 || s[2] != image || s[3] != image {
        return Err(Error::invalid(format!("expected images [N, 3, {image}, {image}], got {s:?}")));
    }
    Ok(())
}
