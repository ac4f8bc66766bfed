//! A Hessian batch written to a safetensors file, so that another program
//! (a PyTorch twin of a model, a TorchScript module) can take the Hessian on
//! exactly the examples used here: tensor `input` (the batch's `x`, in its
//! own dtype: features or images in the network's kind, token ids as i64)
//! and tensor `target` (the batch's `y`, i64), both on the CPU, contiguous.
//! Models with several inputs are read as `input.0`, `input.1`, ...; every
//! batch of this crate has one input tensor, so only `input` is written.

use std::path::Path;

use tch::{Device, Tensor};

use super::batch::Batch;
use crate::error::{Error, Result};

/// Name of the input tensor in a saved batch.
pub const INPUT: &str = "input";
/// Name of the target tensor in a saved batch.
pub const TARGET: &str = "target";

/// Write `batch` to `path` as safetensors with tensors [`INPUT`] and [`TARGET`].
pub fn save(batch: &Batch, path: &Path) -> Result<()> {
    let on_cpu = |t: &Tensor| t.detach().to_device(Device::Cpu).contiguous();
    let named = [(INPUT, on_cpu(&batch.x)), (TARGET, on_cpu(&batch.y))];
    crate::checkpoint::write_whole(path, |tmp| Tensor::write_safetensors(&named, tmp))
        .map_err(|e| Error::invalid(format!("cannot write the batch to {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use tch::Kind;

    use super::*;

    fn read(path: &Path) -> Vec<(String, Tensor)> {
        let mut t = Tensor::read_safetensors(path).unwrap();
        t.sort_by(|a, b| a.0.cmp(&b.0));
        t
    }

    #[test]
    fn features_and_tokens_come_back_bit_for_bit() {
        let dir = std::env::temp_dir().join(format!("nets-saved-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let images =
            Batch { x: Tensor::randn([5, 7], (Kind::Float, Device::Cpu)), y: Tensor::from_slice(&[3i64, 1, 4, 1, 5]) };
        // A non-contiguous view is written as its values, not its storage.
        let tokens = Batch {
            x: Tensor::arange(12, (Kind::Int64, Device::Cpu)).view([3, 4]).tr(),
            y: Tensor::arange(12, (Kind::Int64, Device::Cpu)).view([4, 3]) * 2,
        };
        for (i, b) in [images, tokens].iter().enumerate() {
            let p = dir.join(format!("b{i}.safetensors"));
            save(b, &p).unwrap();
            let t = read(&p);
            assert_eq!(t.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), [INPUT, TARGET]);
            for ((_, got), want) in t.iter().zip([&b.x, &b.y]) {
                assert_eq!(got.kind(), want.kind());
                assert_eq!(got.size(), want.size());
                assert!(got.equal(want));
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let b = Batch {
            x: Tensor::zeros([1, 1], (Kind::Float, Device::Cpu)),
            y: Tensor::zeros([1], (Kind::Int64, Device::Cpu)),
        };
        let p = Path::new("/nonexistent-dir/batch.safetensors");
        let e = save(&b, p).unwrap_err().to_string();
        assert!(e.contains("/nonexistent-dir/batch.safetensors"), "{e}");
    }
}
