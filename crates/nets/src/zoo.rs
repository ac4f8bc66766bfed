//! The model zoo: one row per model, carrying the function that builds its
//! architecture, so the table and the constructors cannot drift apart.

use crate::data::DataKind;
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
    pub about: &'static str,
    pub default_data: DataKind,
    /// Default Hessian batch: examples (mlp) or sequences (transformers).
    pub default_batch: i64,
    pub arch: ArchFn,
}

fn mlp(o: &ModelOptions, input: i64, classes: i64) -> Result<Arch> {
    if o.layers.is_some() {
        return Err(Error::NotForModel { setting: Setting::Layers, model: "mlp".into() });
    }
    let widths = o.widths.clone().unwrap_or_else(|| MlpConfig::PAPER_WIDTHS.to_vec());
    if widths.iter().any(|w| *w <= 0) {
        return Err(Error::out_of_range(Setting::Widths, "must be positive"));
    }
    if !(o.layer_scale.is_finite() && o.layer_scale > 0.0) {
        return Err(Error::out_of_range(Setting::LayerScale, format!("must be positive, got {}", o.layer_scale)));
    }
    Ok(Arch::Mlp(MlpConfig { input, widths, classes, layer_scale: o.layer_scale }))
}

fn tiny_transformer(preset: fn(i64, i64) -> GptConfig, o: &ModelOptions, vocab: i64) -> Result<Arch> {
    let l = o.layers.unwrap_or(1);
    if !(1..=4).contains(&l) {
        return Err(Error::mismatch(format!("tiny-transformer has 1 to 4 layers, not {l}")));
    }
    Ok(Arch::Gpt(preset(l, vocab)))
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
        about: "MLP with ReLU, widths --widths (default 300,128,64: the paper's 4-layer MLP), --layer-scale c",
        default_data: DataKind::Mnist,
        default_batch: 1024,
        arch: mlp,
    },
    ZooEntry {
        name: "tiny-transformer",
        about: "decoder, context 2, 2 heads, embedding 4, MLP width 4, no LayerNorm, --layers 1-4 (paper App. C.2)",
        default_data: DataKind::Synthetic,
        default_batch: 64,
        arch: |o, _, v| tiny_transformer(GptConfig::tiny_transformer, o, v),
    },
    ZooEntry {
        name: "tiny-transformer-ln",
        about: "tiny-transformer with GPT-2's LayerNorms (ln_1, ln_2, ln_f), --layers 1-4",
        default_data: DataKind::Synthetic,
        default_batch: 64,
        arch: |o, _, v| tiny_transformer(GptConfig::tiny_transformer_ln, o, v),
    },
    ZooEntry {
        name: "gpt2-small",
        about: "nanoGPT GPT-2, 2 layers, 2 heads, 32 wide, context 32: the whole pipeline in about a minute on 2 cores",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
        arch: |o, _, v| gpt(GptConfig::gpt2_small, o, v),
    },
    ZooEntry {
        name: "gpt2-4x64",
        about: "nanoGPT GPT-2, 4 layers, 4 heads, 64 wide, context 64 (0.2M parameters on Shakespeare characters)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
        arch: |o, _, v| gpt(GptConfig::gpt2_4x64, o, v),
    },
    ZooEntry {
        name: "gpt2-4x128",
        about: "nanoGPT GPT-2, 4 layers, 4 heads, 128 wide, context 64 (0.8M parameters on Shakespeare characters)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
        arch: |o, _, v| gpt(GptConfig::gpt2_4x128, o, v),
    },
    ZooEntry {
        name: "gpt2-nano",
        about: "nanoGPT GPT-2, 6 layers, 6 heads, 384 wide, context 256 (the paper's GPT2-nano)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
        arch: |o, _, v| gpt(GptConfig::gpt2_nano, o, v),
    },
    ZooEntry {
        name: "gpt2",
        about: "nanoGPT GPT-2 124M: 12 layers, 12 heads, 768 wide, context 1024, vocab 50304",
        default_data: DataKind::ShakespeareBpe,
        default_batch: 4,
        arch: |o, _, v| gpt(GptConfig::gpt2, o, v),
    },
    ZooEntry {
        name: "resnet18-narrow",
        about: "torchvision ResNet18 at width 8 (8-16-32-64 channels), 32x32 images, --bn running|batch",
        default_data: DataKind::Mnist,
        default_batch: 32,
        arch: |o, _, c| resnet(ResNetConfig::resnet18_narrow, o, c),
    },
    ZooEntry {
        name: "resnet18",
        about: "torchvision ResNet18 (11.69M with 1000 classes), 224x224 images, --bn running|batch",
        default_data: DataKind::Mnist,
        default_batch: 64,
        arch: |o, _, c| resnet(ResNetConfig::resnet18, o, c),
    },
    ZooEntry {
        name: "vgg-small",
        about: "torchvision VGG16 layout at 1/8 width (8-16-32-64-64), classifier 64 wide, 1x1 pool, 32x32 images",
        default_data: DataKind::Mnist,
        default_batch: 32,
        arch: |_, _, c| Ok(Arch::Vgg(VggConfig::vgg_small(c))),
    },
    ZooEntry {
        name: "vgg16",
        about: "torchvision VGG16 without BatchNorm (138.36M with 1000 classes), 224x224 images, no dropout",
        default_data: DataKind::Mnist,
        default_batch: 32,
        arch: |_, _, c| Ok(Arch::Vgg(VggConfig::vgg16(c))),
    },
    ZooEntry {
        name: "vit-small",
        about: "timm ViT layout, 32x32 images, patch 8, 2 blocks, 2 heads, 32 wide (not timm's ViT-S)",
        default_data: DataKind::Mnist,
        default_batch: 32,
        arch: |o, _, c| vit(VitConfig::vit_small, o, c),
    },
    ZooEntry {
        name: "vit-4x64",
        about: "timm ViT layout, 32x32 images, patch 8, 4 blocks, 4 heads, 64 wide",
        default_data: DataKind::Mnist,
        default_batch: 32,
        arch: |o, _, c| vit(VitConfig::vit_4x64, o, c),
    },
    ZooEntry {
        name: "vit-base",
        about: "timm ViT-B/16 (86.57M with 1000 classes): 224x224, 12 blocks, 12 heads, 768 wide",
        default_data: DataKind::Mnist,
        default_batch: 32,
        arch: |o, _, c| vit(VitConfig::vit_base, o, c),
    },
    ZooEntry {
        name: "bert-small",
        about: "the paper's BERT layout, 2 layers, 2 heads, 32 wide, 32 tokens, masked-LM + next sentence",
        default_data: DataKind::ShakespeareChar,
        default_batch: 16,
        arch: |o, _, v| bert(BertConfig::bert_small, o, v),
    },
    ZooEntry {
        name: "bert-4x64",
        about: "the paper's BERT layout, 4 layers, 4 heads, 64 wide, 32 tokens, masked-LM + next sentence",
        default_data: DataKind::ShakespeareChar,
        default_batch: 16,
        arch: |o, _, v| bert(BertConfig::bert_4x64, o, v),
    },
    ZooEntry {
        name: "bert",
        about: "the paper's BERT: 2 layers, 12 heads, 768 wide, 64 tokens (37.7M + MLM head at vocab 30522)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 32,
        arch: |o, _, v| bert(BertConfig::bert, o, v),
    },
];

pub fn zoo_entry(name: &str) -> Result<&'static ZooEntry> {
    ZOO.iter()
        .find(|e| e.name == name)
        .ok_or_else(|| Error::UnknownModel { name: name.to_string(), known: ZOO.iter().map(|e| e.name).collect() })
}

/// The architecture of zoo model `name` for data with `input` features
/// (MLP) and `classes_or_vocab` classes (image models) or tokens
/// (transformers). Options a model does not read are refused.
pub fn arch(name: &str, opts: &ModelOptions, input: i64, classes_or_vocab: i64) -> Result<Arch> {
    let entry = zoo_entry(name)?;
    if name != "mlp" && (opts.widths.is_some() || opts.layer_scale != 1.0) {
        let setting = if opts.widths.is_some() { Setting::Widths } else { Setting::LayerScale };
        return Err(Error::NotForModel { setting, model: name.to_string() });
    }
    if opts.bn.is_some() && !name.starts_with("resnet") {
        return Err(Error::NotForModel { setting: Setting::BatchNorm, model: name.to_string() });
    }
    if opts.layers.is_some() && (name.starts_with("resnet") || name.starts_with("vgg")) {
        return Err(Error::NotForModel { setting: Setting::Layers, model: name.to_string() });
    }
    let a = (entry.arch)(opts, input, classes_or_vocab)?;
    if let Some(l) = opts.layers {
        if l < 1 {
            return Err(Error::out_of_range(Setting::Layers, "must be at least 1"));
        }
    }
    Ok(a)
}
