//! torchvision's ResNet with BasicBlocks under its parameter names
//! (`conv1`, `bn1`, `layer1.0.conv1`, ..., `layer2.0.downsample.0`, `fc`).
//! Initialization as torchvision: convolutions Kaiming normal with
//! `mode="fan_out"`, ReLU gain, no bias; BatchNorm weight 1, bias 0, running
//! mean 0, running variance 1; `fc` PyTorch's default Linear init.

use tch::nn::Path;
use tch::Tensor;

use crate::data::Batch;
use crate::error::Result;
use crate::layers::{conv, conv_weight, BatchNorm, BnMode, Linear};
use crate::net::{check_images, Classifier};

#[derive(Debug, Clone, PartialEq)]
pub struct ResNetConfig {
    /// Channels of the stem and of layer1 (64 in ResNet18); layer k has
    /// width * 2^(k-1).
    pub width: i64,
    /// BasicBlocks per stage ([2, 2, 2, 2] in ResNet18).
    pub blocks: [i64; 4],
    pub classes: i64,
    /// Input images are [N, 3, image, image].
    pub image: i64,
    pub bn: BnMode,
}

impl ResNetConfig {
    pub fn param_count(&self) -> i64 {
        let w = self.width;
        let mut n = 3 * w * 49 + BatchNorm::param_count(w);
        let mut cin = w;
        for (s, &nb) in self.blocks.iter().enumerate() {
            let planes = w << s;
            for b in 0..nb {
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                n += cin * planes * 9
                    + BatchNorm::param_count(planes)
                    + planes * planes * 9
                    + BatchNorm::param_count(planes);
                if b == 0 && (stride != 1 || cin != planes) {
                    n += cin * planes + BatchNorm::param_count(planes);
                }
                cin = planes;
            }
        }
        n + cin * self.classes + self.classes
    }
}

impl ResNetConfig {
    /// ResNet18: widths 64-128-256-512, 224 x 224 images (11.69M parameters
    /// with 1000 classes).
    pub fn resnet18(classes: i64, bn: BnMode) -> Self {
        ResNetConfig { width: 64, blocks: [2, 2, 2, 2], classes, image: 224, bn }
    }
    /// ResNet18's layout at width 8 (8-16-32-64 channels) on 32 x 32 images.
    pub fn resnet18_narrow(classes: i64, bn: BnMode) -> Self {
        ResNetConfig { width: 8, blocks: [2, 2, 2, 2], classes, image: 32, bn }
    }
}

struct BasicBlock {
    conv1: Tensor,
    bn1: BatchNorm,
    conv2: Tensor,
    bn2: BatchNorm,
    downsample: Option<(Tensor, BatchNorm)>,
    stride: i64,
}

/// torchvision's ResNet with BasicBlocks (ResNet18 for [2, 2, 2, 2], width 64).
pub struct ResNet {
    cfg: ResNetConfig,
    conv1: Tensor,
    bn1: BatchNorm,
    layers: Vec<Vec<BasicBlock>>,
    fc: Linear,
}

impl ResNet {
    pub fn new(p: &Path, c: &ResNetConfig) -> Self {
        let w = c.width;
        let conv1 = conv_weight(&(p / "conv1"), 3, w, 7);
        let bn1 = BatchNorm::new(&(p / "bn1"), w);
        let mut cin = w;
        let mut layers = Vec::new();
        for (s, &nb) in c.blocks.iter().enumerate() {
            let planes = w << s;
            let lp = p / format!("layer{}", s + 1);
            let mut blocks = Vec::new();
            for b in 0..nb {
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                let bp = &lp / b;
                let block = BasicBlock {
                    conv1: conv_weight(&(&bp / "conv1"), cin, planes, 3),
                    bn1: BatchNorm::new(&(&bp / "bn1"), planes),
                    conv2: conv_weight(&(&bp / "conv2"), planes, planes, 3),
                    bn2: BatchNorm::new(&(&bp / "bn2"), planes),
                    downsample: (b == 0 && (stride != 1 || cin != planes)).then(|| {
                        (
                            conv_weight(&(&bp / "downsample" / 0), cin, planes, 1),
                            BatchNorm::new(&(&bp / "downsample" / 1), planes),
                        )
                    }),
                    stride,
                };
                blocks.push(block);
                cin = planes;
            }
            layers.push(blocks);
        }
        let fc = Linear::torch_default(&(p / "fc"), cin, c.classes);
        ResNet { cfg: c.clone(), conv1, bn1, layers, fc }
    }

    /// Logits [N, classes] of images [N, 3, S, S].
    pub fn logits(&self, x: &Tensor) -> Tensor {
        let m = self.cfg.bn;
        let mut h = self.bn1.forward(&conv(x, &self.conv1, None, 2, 3), m).relu().max_pool2d(
            [3, 3],
            [2, 2],
            [1, 1],
            [1, 1],
            false,
        );
        for stage in &self.layers {
            for b in stage {
                let y = b.bn1.forward(&conv(&h, &b.conv1, None, b.stride, 1), m).relu();
                let y = b.bn2.forward(&conv(&y, &b.conv2, None, 1, 1), m);
                let skip = match &b.downsample {
                    Some((w, bn)) => bn.forward(&conv(&h, w, None, b.stride, 0), m),
                    None => h.shallow_clone(),
                };
                h = (y + skip).relu();
            }
        }
        let h = h.adaptive_avg_pool2d([1, 1]).flatten(1, -1);
        self.fc.forward(&h)
    }
}

impl Classifier for ResNet {
    fn logits(&self, x: &Tensor) -> Tensor {
        ResNet::logits(self, x)
    }
    fn check_inputs(&self, batch: &Batch) -> Result<()> {
        check_images(batch, self.cfg.image)
    }
}
