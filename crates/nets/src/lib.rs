//! Networks for hessian-blocks, on libtorch through `tch`. Modules depend
//! downward only (no cycles): `error`, `device`, `data` and `params` at the
//! bottom, then `net`, `layers`, `models`, `zoo`, and `blocks`, `hvp`,
//! `checkpoint`, `slq` on top.
//!
//! * [`layers`]: Linear, LayerNorm, BatchNorm, attention, cross-entropy,
//!   each written once;
//! * [`models`]: one file per family (MLP, GPT and the tiny transformer,
//!   ResNet, VGG, ViT, BERT), each a config with named presets, built under
//!   the reference implementations' parameter names;
//! * [`zoo`]: the named models, each row carrying its constructor;
//! * [`data`]: Hessian batches from MNIST, Fashion-MNIST, Shakespeare
//!   (characters or GPT-2 BPE), a user's IDX / `.npy` / text files or
//!   synthetic data, chosen deterministically from a seed;
//! * [`blocks`]: parameter blocks selected by glob patterns on names;
//! * [`hvp`]: Hessian-vector products by double backward, restricted to one
//!   block, as a [`lanczos::SymmetricOperator`];
//! * [`slq`]: the per-(block, probe) Lanczos runs with their seeds, and shards;
//! * [`checkpoint`]: safetensors weights in and out, by name;
//! * [`train`]: training with libtorch's optimizers, held-out evaluation,
//!   learning-rate grids.
//!
//! Errors are [`Error`], which names no command-line flag: binaries word
//! their messages from its variants.

pub mod blocks;
pub mod checkpoint;
pub mod contain;
pub mod data;
pub mod device;
pub mod error;
pub mod hvp;
pub mod layers;
pub mod models;
pub mod net;
pub mod params;
pub mod slq;
pub mod train;
pub mod zoo;

pub use contain::contain;
pub use device::{device_name, dtype_name, parse_device, parse_dtype, to_vec_f64};
pub use error::{Error, Result, Setting, UserFiles};
