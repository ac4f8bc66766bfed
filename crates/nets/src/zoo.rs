//! The model zoo, a registry: one row per model, carrying the function that
//! builds its architecture and what the model accepts and reads (the
//! settings that shape it, its input, its context), so that no code outside
//! the row asks a model's name what it can do. A family is one file in
//! [`crate::models`] plus its rows here.

use crate::data::{DataKind, Input};
use crate::error::{Error, Result, Setting};
use crate::layers::BnMode;
use crate::models::{Arch, BertConfig, GptConfig, MlpConfig, ResNetConfig, VggConfig, VitConfig};

/// Options that shape a zoo model beyond its name.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// MLP hidden widths (None: [`MlpConfig::PAPER_WIDTHS`]).
    pub widths: Option<Vec<i64>>,
    pub layer_scale: f64,
    /// Tiny transformer layers (1-4), or GPT / ViT / BERT layers override.
    pub layers: Option<i64>,
    /// BatchNorm statistics (ResNet only); None: [`BnMode::default`].
    pub bn: Option<BnMode>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions { widths: None, layer_scale: 1.0, layers: None, bn: None }
    }
}

/// Builds a row's architecture from the options, the data's input features
/// (MLP) and its classes or vocabulary.
pub type ArchFn = fn(&ModelOptions, i64, i64) -> Result<Arch>;

/// One entry of the zoo.
#[derive(Debug, Clone)]
pub struct ZooEntry {
    pub name: &'static str,
    /// The family's name in messages ("the ResNet models").
    pub family: &'static str,
    pub about: &'static str,
    pub default_data: DataKind,
    /// Default Hessian batch: examples (mlp) or sequences (transformers).
    pub default_batch: i64,
    /// What the model reads (the architecture agrees: a test checks it).
    pub input: Input,
    /// Context length (GPT, BERT), which is the default sequence length.
    pub context: Option<i64>,
    /// The [`ModelOptions`] settings that shape it; any other is refused.
    pub accepts: &'static [Setting],
    /// The layer counts it can be built with, where not any from 1.
    pub layer_range: Option<(i64, i64)>,
    pub arch: ArchFn,
}

/// Settings of the MLP rows.
const MLP: &[Setting] = &[Setting::Widths, Setting::LayerScale];
/// Settings of the transformer rows (GPT, ViT, BERT).
const LAYERED: &[Setting] = &[Setting::Layers];
/// Settings of the ResNet rows.
const BATCH_NORM: &[Setting] = &[Setting::BatchNorm];

fn mlp(o: &ModelOptions, input: i64, classes: i64) -> Result<Arch> {
    let widths = o.widths.clone().unwrap_or_else(|| MlpConfig::PAPER_WIDTHS.to_vec());
    Ok(Arch::Mlp(MlpConfig { input, widths, classes, layer_scale: o.layer_scale }))
}

fn tiny_transformer(preset: fn(i64, i64) -> GptConfig, o: &ModelOptions, vocab: i64) -> Result<Arch> {
    Ok(Arch::Gpt(preset(o.layers.unwrap_or(1), vocab)))
}

/// A GPT preset with the layer count overridden by the options.
fn gpt(preset: fn(i64) -> GptConfig, o: &ModelOptions, vocab: i64) -> Result<Arch> {
    let mut c = preset(vocab);
    c.n_layer = o.layers.unwrap_or(c.n_layer);
    Ok(Arch::Gpt(c))
}

fn resnet(preset: fn(i64, BnMode) -> ResNetConfig, o: &ModelOptions, classes: i64) -> Result<Arch> {
    Ok(Arch::ResNet(preset(classes, o.bn.unwrap_or_default())))
}

fn vit(preset: fn(i64) -> VitConfig, o: &ModelOptions, classes: i64) -> Result<Arch> {
    let mut c = preset(classes);
    c.depth = o.layers.unwrap_or(c.depth);
    Ok(Arch::Vit(c))
}

fn bert(preset: fn(i64) -> BertConfig, o: &ModelOptions, vocab: i64) -> Result<Arch> {
    let mut c = preset(vocab);
    c.layers = o.layers.unwrap_or(c.layers);
    Ok(Arch::Bert(c))
}

pub const ZOO: &[ZooEntry] = &[
    ZooEntry {
        name: "mlp",
        family: "MLP",
        about: "MLP with ReLU, widths --widths (default 300,128,64: the paper's 4-layer MLP), --layer-scale c",
        default_data: DataKind::Mnist,
        default_batch: 1024,
        input: Input::Features,
        context: None,
        accepts: MLP,
        layer_range: None,
        arch: mlp,
    },
    ZooEntry {
        name: "tiny-transformer",
        family: "tiny-transformer",
        about: "decoder, context 2, 2 heads, embedding 4, MLP width 4, no LayerNorm, --layers 1-4 (paper App. C.2)",
        default_data: DataKind::Synthetic,
        default_batch: 64,
        input: Input::Tokens,
        context: Some(2),
        accepts: LAYERED,
        layer_range: Some((1, 4)),
        arch: |o, _, v| tiny_transformer(GptConfig::tiny_transformer, o, v),
    },
    ZooEntry {
        name: "tiny-transformer-ln",
        family: "tiny-transformer",
        about: "tiny-transformer with GPT-2's LayerNorms (ln_1, ln_2, ln_f), --layers 1-4",
        default_data: DataKind::Synthetic,
        default_batch: 64,
        input: Input::Tokens,
        context: Some(2),
        accepts: LAYERED,
        layer_range: Some((1, 4)),
        arch: |o, _, v| tiny_transformer(GptConfig::tiny_transformer_ln, o, v),
    },
    ZooEntry {
        name: "gpt2-small",
        family: "GPT",
        about: "nanoGPT GPT-2, 2 layers, 2 heads, 32 wide, context 32: the whole pipeline in about a minute on 2 cores",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
        input: Input::Tokens,
        context: Some(32),
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, v| gpt(GptConfig::gpt2_small, o, v),
    },
    ZooEntry {
        name: "gpt2-4x64",
        family: "GPT",
        about: "nanoGPT GPT-2, 4 layers, 4 heads, 64 wide, context 64 (0.2M parameters on Shakespeare characters)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
        input: Input::Tokens,
        context: Some(64),
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, v| gpt(GptConfig::gpt2_4x64, o, v),
    },
    ZooEntry {
        name: "gpt2-4x128",
        family: "GPT",
        about: "nanoGPT GPT-2, 4 layers, 4 heads, 128 wide, context 64 (0.8M parameters on Shakespeare characters)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
        input: Input::Tokens,
        context: Some(64),
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, v| gpt(GptConfig::gpt2_4x128, o, v),
    },
    ZooEntry {
        name: "gpt2-nano",
        family: "GPT",
        about: "nanoGPT GPT-2, 6 layers, 6 heads, 384 wide, context 256 (the paper's GPT2-nano)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
        input: Input::Tokens,
        context: Some(256),
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, v| gpt(GptConfig::gpt2_nano, o, v),
    },
    ZooEntry {
        name: "gpt2",
        family: "GPT",
        about: "nanoGPT GPT-2 124M: 12 layers, 12 heads, 768 wide, context 1024, vocab 50304",
        default_data: DataKind::ShakespeareBpe,
        default_batch: 4,
        input: Input::Tokens,
        context: Some(1024),
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, v| gpt(GptConfig::gpt2, o, v),
    },
    ZooEntry {
        name: "resnet18-narrow",
        family: "ResNet",
        about: "torchvision ResNet18 at width 8 (8-16-32-64 channels), 32x32 images, --bn running|batch",
        default_data: DataKind::Mnist,
        default_batch: 32,
        input: Input::Image { size: 32 },
        context: None,
        accepts: BATCH_NORM,
        layer_range: None,
        arch: |o, _, c| resnet(ResNetConfig::resnet18_narrow, o, c),
    },
    ZooEntry {
        name: "resnet18",
        family: "ResNet",
        about: "torchvision ResNet18 (11.69M with 1000 classes), 224x224 images, --bn running|batch",
        default_data: DataKind::Mnist,
        default_batch: 64,
        input: Input::Image { size: 224 },
        context: None,
        accepts: BATCH_NORM,
        layer_range: None,
        arch: |o, _, c| resnet(ResNetConfig::resnet18, o, c),
    },
    ZooEntry {
        name: "vgg-small",
        family: "VGG",
        about: "torchvision VGG16 layout at 1/8 width (8-16-32-64-64), classifier 64 wide, 1x1 pool, 32x32 images",
        default_data: DataKind::Mnist,
        default_batch: 32,
        input: Input::Image { size: 32 },
        context: None,
        accepts: &[],
        layer_range: None,
        arch: |_, _, c| Ok(Arch::Vgg(VggConfig::vgg_small(c))),
    },
    ZooEntry {
        name: "vgg16",
        family: "VGG",
        about: "torchvision VGG16 without BatchNorm (138.36M with 1000 classes), 224x224 images, no dropout",
        default_data: DataKind::Mnist,
        default_batch: 32,
        input: Input::Image { size: 224 },
        context: None,
        accepts: &[],
        layer_range: None,
        arch: |_, _, c| Ok(Arch::Vgg(VggConfig::vgg16(c))),
    },
    ZooEntry {
        name: "vit-small",
        family: "ViT",
        about: "timm ViT layout, 32x32 images, patch 8, 2 blocks, 2 heads, 32 wide (not timm's ViT-S)",
        default_data: DataKind::Mnist,
        default_batch: 32,
        input: Input::Image { size: 32 },
        context: None,
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, c| vit(VitConfig::vit_small, o, c),
    },
    ZooEntry {
        name: "vit-4x64",
        family: "ViT",
        about: "timm ViT layout, 32x32 images, patch 8, 4 blocks, 4 heads, 64 wide",
        default_data: DataKind::Mnist,
        default_batch: 32,
        input: Input::Image { size: 32 },
        context: None,
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, c| vit(VitConfig::vit_4x64, o, c),
    },
    ZooEntry {
        name: "vit-base",
        family: "ViT",
        about: "timm ViT-B/16 (86.57M with 1000 classes): 224x224, 12 blocks, 12 heads, 768 wide",
        default_data: DataKind::Mnist,
        default_batch: 32,
        input: Input::Image { size: 224 },
        context: None,
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, c| vit(VitConfig::vit_base, o, c),
    },
    ZooEntry {
        name: "bert-small",
        family: "BERT",
        about: "the paper's BERT layout, 2 layers, 2 heads, 32 wide, 32 tokens, masked-LM + next sentence",
        default_data: DataKind::ShakespeareChar,
        default_batch: 16,
        input: Input::MaskedLm,
        context: Some(32),
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, v| bert(BertConfig::bert_small, o, v),
    },
    ZooEntry {
        name: "bert-4x64",
        family: "BERT",
        about: "the paper's BERT layout, 4 layers, 4 heads, 64 wide, 32 tokens, masked-LM + next sentence",
        default_data: DataKind::ShakespeareChar,
        default_batch: 16,
        input: Input::MaskedLm,
        context: Some(32),
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, v| bert(BertConfig::bert_4x64, o, v),
    },
    ZooEntry {
        name: "bert",
        family: "BERT",
        about: "the paper's BERT: 2 layers, 12 heads, 768 wide, 64 tokens (37.7M + MLM head at vocab 30522)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 32,
        input: Input::MaskedLm,
        context: Some(64),
        accepts: LAYERED,
        layer_range: None,
        arch: |o, _, v| bert(BertConfig::bert, o, v),
    },
];

pub fn zoo_entry(name: &str) -> Result<&'static ZooEntry> {
    ZOO.iter()
        .find(|e| e.name == name)
        .ok_or_else(|| Error::UnknownModel { name: name.to_string(), known: ZOO.iter().map(|e| e.name).collect() })
}

/// Settings of `opts` that are given (not at their defaults), in the order
/// they are checked.
fn given(opts: &ModelOptions) -> Vec<Setting> {
    let mut v = Vec::new();
    if opts.widths.is_some() {
        v.push(Setting::Widths);
    }
    if opts.layer_scale != 1.0 {
        v.push(Setting::LayerScale);
    }
    if opts.bn.is_some() {
        v.push(Setting::BatchNorm);
    }
    if opts.layers.is_some() {
        v.push(Setting::Layers);
    }
    v
}

impl ZooEntry {
    /// `opts`, if this row accepts every setting given.
    /// and each is in its range.
    pub fn check(&self, opts: &ModelOptions) -> Result<()> {
        if let Some(setting) = given(opts).into_iter().find(|s| !self.accepts.contains(s)) {
            return Err(Error::NotForModel { setting, model: self.name.to_string() });
        }
        if opts.widths.as_ref().is_some_and(|w| w.iter().any(|w| *w <= 0)) {
            return Err(Error::out_of_range(Setting::Widths, "must be positive"));
        }
        if !(opts.layer_scale.is_finite() && opts.layer_scale > 0.0) {
            return Err(Error::out_of_range(
                Setting::LayerScale,
                format!("must be positive, got {}", opts.layer_scale),
            ));
        }
        if let Some((lo, hi)) = self.layer_range {
            let l = opts.layers.unwrap_or(lo);
            if !(lo..=hi).contains(&l) {
                return Err(Error::mismatch(format!("{} has {lo} to {hi} layers, not {l}", self.family)));
            }
        }
        match opts.layers {
            Some(l) if l < 1 => Err(Error::out_of_range(Setting::Layers, "must be at least 1")),
            _ => Ok(()),
        }
    }

    /// The architecture for data with `input` features (MLP) and
    /// `classes_or_vocab` classes (image models) or tokens (transformers).
    pub fn arch(&self, opts: &ModelOptions, input: i64, classes_or_vocab: i64) -> Result<Arch> {
        self.check(opts)?;
        (self.arch)(opts, input, classes_or_vocab)
    }
}

/// The zoo's rows that accept `setting`.
pub fn accepting(setting: Setting) -> impl Iterator<Item = &'static ZooEntry> {
    ZOO.iter().filter(move |e| e.accepts.contains(&setting))
}

/// The architecture of zoo model `name` for data with `input` features
/// (MLP) and `classes_or_vocab` classes (image models) or tokens
/// (transformers). Options a model does not read are refused.
pub fn arch(name: &str, opts: &ModelOptions, input: i64, classes_or_vocab: i64) -> Result<Arch> {
    zoo_entry(name)?.arch(opts, input, classes_or_vocab)
}
