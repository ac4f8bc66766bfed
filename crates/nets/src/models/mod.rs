//! The model families, one file each, built under the reference code's
//! parameter paths (nanoGPT for the GPT family, torchvision for ResNet18 and
//! VGG16, timm for ViT, the paper's blog code for BERT), so block names,
//! checkpoint keys and the paper's labels agree without a renaming table.
//!
//! To add a family: a file with a config (its `param_count()` computed from
//! shapes, its named presets) and a [`Net`](crate::net::Net), an [`Arch`]
//! variant, and rows in the zoo's table (`zoo::ZOO`, which imports from here).

pub mod bert;
pub mod gpt;
pub mod mlp;
pub mod resnet;
pub mod torchscript;
pub mod vgg;
pub mod vit;

use tch::nn::{Path, VarStore};
use tch::{Device, Kind};

pub use bert::{Bert, BertConfig};
pub use gpt::{Gpt, GptConfig};
pub use mlp::{Mlp, MlpConfig};
pub use resnet::{ResNet, ResNetConfig};
pub use torchscript::{Loss, TorchScript};
pub use vgg::{Vgg, VggConfig};
pub use vit::{Vit, VitConfig};

use crate::data::Input;
use crate::net::Net;

/// Which architecture, with its hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Arch {
    Mlp(MlpConfig),
    Gpt(GptConfig),
    ResNet(ResNetConfig),
    Vgg(VggConfig),
    Vit(VitConfig),
    Bert(BertConfig),
}

impl Arch {
    /// Number of parameters, computed from the configuration.
    pub fn param_count(&self) -> i64 {
        match self {
            Arch::Mlp(c) => c.param_count(),
            Arch::Gpt(c) => c.param_count(),
            Arch::ResNet(c) => c.param_count(),
            Arch::Vgg(c) => c.param_count(),
            Arch::Vit(c) => c.param_count(),
            Arch::Bert(c) => c.param_count(),
        }
    }

    /// Context length (GPT, BERT) or None.
    pub fn block_size(&self) -> Option<i64> {
        match self {
            Arch::Gpt(c) => Some(c.block_size),
            Arch::Bert(c) => Some(c.seq_len),
            _ => None,
        }
    }

    /// What the network reads, so that the data can be prepared for it.
    pub fn input(&self) -> Input {
        match self {
            Arch::Mlp(_) => Input::Features,
            Arch::Gpt(_) => Input::Tokens,
            Arch::ResNet(ResNetConfig { image, .. })
            | Arch::Vgg(VggConfig { image, .. })
            | Arch::Vit(VitConfig { image, .. }) => Input::Image { size: *image },
            Arch::Bert(_) => Input::MaskedLm,
        }
    }

    /// Build the network's parameters under `p` (whose kind must already be
    /// set), initialized from libtorch's global RNG.
    pub fn build(&self, p: &Path) -> Box<dyn Net> {
        match self {
            Arch::Mlp(c) => Box::new(Mlp::new(p, c)),
            Arch::Gpt(c) => Box::new(Gpt::new(p, c)),
            Arch::ResNet(c) => Box::new(ResNet::new(p, c)),
            Arch::Vgg(c) => Box::new(Vgg::new(p, c)),
            Arch::Vit(c) => Box::new(Vit::new(p, c)),
            Arch::Bert(c) => Box::new(Bert::new(p, c)),
        }
    }
}

/// A model built on a device: its variables and its forward pass.
pub struct Built {
    pub arch: Arch,
    pub vs: VarStore,
    pub net: Box<dyn Net>,
    pub kind: Kind,
}

/// [`build`], with libtorch's failures (weights it cannot allocate) as an
/// error instead of a panic.
pub fn try_build(arch: &Arch, kind: Kind, device: Device, init_seed: u64) -> crate::Result<Built> {
    crate::contain("building the model", || Ok(build(arch, kind, device, init_seed)))
}

/// Build `arch` with weights drawn from `init_seed` on the CPU in `kind`,
/// then move them to `device`: the same seed gives the same weights on every
/// device.
pub fn build(arch: &Arch, kind: Kind, device: Device, init_seed: u64) -> Built {
    tch::manual_seed(init_seed as i64);
    let mut vs = VarStore::new(Device::Cpu);
    vs.set_kind(kind);
    let net = arch.build(&vs.root());
    if device != Device::Cpu {
        vs.set_device(device);
    }
    Built { arch: arch.clone(), vs, net, kind }
}
