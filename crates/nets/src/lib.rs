//! Networks for hessian-blocks, on libtorch through `tch`.
//!
//! * [`models`]: the model zoo (`mlp`, `tiny-transformer`, the `gpt2`
//!   family, ResNet18 and VGG16 in [`cnn`], ViT and BERT in [`encoders`])
//!   built under the reference implementations' parameter names;
//! * [`data`]: Hessian batches from MNIST, Fashion-MNIST, Shakespeare
//!   (characters or GPT-2 BPE), a user's IDX / `.npy` / text files or
//!   synthetic data, chosen deterministically from a seed;
//! * [`blocks`]: parameter blocks selected by glob patterns on names;
//! * [`hvp`]: Hessian-vector products by double backward, restricted to one
//!   block, as a [`lanczos::SymmetricOperator`];
//! * [`checkpoint`]: safetensors weights in and out, by name.
//!
//! Errors are [`records::Error`], so the binaries report them uniformly.

pub mod blocks;
pub mod checkpoint;
pub mod cnn;
pub mod data;
pub mod encoders;
pub mod hvp;
pub mod models;

pub use records::{Error, Result};

/// Parse `auto`, `cpu`, `cuda` or `cuda:N`. `auto` is CUDA device 0 when
/// libtorch sees a GPU, else the CPU.
pub fn parse_device(s: &str) -> Result<tch::Device> {
    match s {
        "auto" => Ok(tch::Device::cuda_if_available()),
        "cpu" => Ok(tch::Device::Cpu),
        "cuda" => cuda(0),
        _ => match s
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => cuda(n),
            None => Err(Error::usage(format!(
                "unknown device `{s}` (expected auto, cpu, cuda or cuda:N)"
            ))),
        },
    }
}

fn cuda(n: usize) -> Result<tch::Device> {
    let count = tch::Cuda::device_count() as usize;
    if n >= count {
        return Err(Error::invalid(format!(
            "device cuda:{n} requested but libtorch sees {count} CUDA device(s){}",
            if count == 0 {
                " (use --device cpu, or auto)"
            } else {
                ""
            }
        )));
    }
    Ok(tch::Device::Cuda(n))
}

/// A device's name as written in `run` records: `cpu` or `cuda:N`.
pub fn device_name(d: tch::Device) -> String {
    match d {
        tch::Device::Cpu => "cpu".into(),
        tch::Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Parse `f32` or `f64` (also `float`/`double`).
pub fn parse_dtype(s: &str) -> Result<tch::Kind> {
    match s {
        "f32" | "float" | "float32" => Ok(tch::Kind::Float),
        "f64" | "double" | "float64" => Ok(tch::Kind::Double),
        _ => Err(Error::usage(format!(
            "unknown dtype `{s}` (expected f32 or f64)"
        ))),
    }
}

pub fn dtype_name(k: tch::Kind) -> &'static str {
    match k {
        tch::Kind::Double => "f64",
        tch::Kind::Float => "f32",
        tch::Kind::Half => "f16",
        tch::Kind::BFloat16 => "bf16",
        _ => "other",
    }
}

/// Copy a tensor of any float kind and device into a Vec<f64> (flattened).
pub fn to_vec_f64(t: &tch::Tensor) -> Vec<f64> {
    let t = t
        .detach()
        .to_kind(tch::Kind::Double)
        .to_device(tch::Device::Cpu)
        .contiguous()
        .view(-1);
    let n = t.numel();
    let mut out = vec![0.0; n];
    t.copy_data(&mut out, n);
    out
}
