//! Networks for hessian-blocks, on libtorch through `tch`. Modules depend
//! downward only (no cycles): `error`, `device`, `data` and `params` at the
//! bottom, then `net`, `layers`, `models`, `zoo`, `model`, `recipe`, and
//! `blocks`, `hvp`, `checkpoint`, `runs` on top.
//!
//! * [`layers`]: Linear, LayerNorm, BatchNorm, attention, cross-entropy,
//!   each written once;
//! * [`models`]: one file per family (MLP, GPT and the tiny transformer,
//!   ResNet, VGG, ViT, BERT), each a config with named presets, built under
//!   the reference implementations' parameter names;
//! * [`zoo`]: the registry of named models, each row carrying its
//!   constructor and what it accepts and reads;
//! * [`model`]: [`model::Model`], a network with its parameters, loss, data
//!   check and checkpoints, for zoo models and TorchScript modules alike;
//! * [`recipe`]: a model spec (zoo name or module file) resolved once, and
//!   the models built from it;
//! * [`data`]: Hessian batches from MNIST, Fashion-MNIST, Shakespeare
//!   (characters or GPT-2 BPE), a user's IDX / `.npy` / text files or
//!   synthetic data, chosen deterministically from a seed;
//! * [`blocks`]: parameter blocks selected by glob patterns on names;
//! * [`hvp`]: Hessian-vector products by double backward, restricted to one
//!   block, as a [`lanczos::SymmetricOperator`];
//! * [`runs`]: the per-(block, probe) Lanczos runs of a Hessian dump, their
//!   seeds and shards (the tridiagonals that stochastic Lanczos quadrature
//!   reads; the quadrature itself is `spectra`'s);
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
pub mod model;
pub mod models;
pub mod net;
pub mod params;
pub mod recipe;
pub mod runs;
pub mod train;
pub mod zoo;

pub use contain::contain;
pub use device::{device_name, dtype_name, parse_device, parse_dtype, to_vec_f64};
pub use error::{Error, Result, Setting, UserFiles};
