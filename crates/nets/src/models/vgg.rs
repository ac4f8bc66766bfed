//! torchvision's VGG without BatchNorm under its parameter names
//! (`features.N`, `classifier.N`, N the index of the layer in torchvision's
//! `nn.Sequential`, ReLU and pooling layers counted). Initialization as
//! torchvision: convolutions Kaiming normal (`fan_out`, ReLU gain) with zero
//! bias, classifier normal(0, 0.01) with zero bias. The dropout layers are
//! left out (their indices 2 and 5 stay unused, as in the reference names).

use tch::nn::{Init, Path};
use tch::Tensor;

use crate::data::Batch;
use crate::error::{Error, Result};
use crate::layers::{conv, conv_weight, Linear};
use crate::net::{check_images, Classifier};

#[derive(Debug, Clone, PartialEq)]
pub struct VggConfig {
    /// Channels of the five stages (64, 128, 256, 512, 512 in VGG16).
    pub widths: [i64; 5],
    /// Convolutions per stage (2, 2, 3, 3, 3 in VGG16: configuration "D").
    pub repeats: [i64; 5],
    /// Width of the two hidden classifier layers (4096).
    pub hidden: i64,
    /// Side of the adaptive average pool before the classifier (7).
    pub pool: i64,
    pub classes: i64,
    pub image: i64,
}

impl VggConfig {
    pub fn param_count(&self) -> i64 {
        let mut n = 0;
        let mut cin = 3;
        for (w, r) in self.widths.iter().zip(&self.repeats) {
            for _ in 0..*r {
                n += cin * w * 9 + w;
                cin = *w;
            }
        }
        let f = cin * self.pool * self.pool;
        n + f * self.hidden
            + self.hidden
            + self.hidden * self.hidden
            + self.hidden
            + self.hidden * self.classes
            + self.classes
    }
}

impl VggConfig {
    /// VGG16 (configuration "D", 138.36M parameters with 1000 classes) on
    /// 224 x 224 images.
    pub fn vgg16(classes: i64) -> Self {
        VggConfig {
            widths: [64, 128, 256, 512, 512],
            repeats: [2, 2, 3, 3, 3],
            hidden: 4096,
            pool: 7,
            classes,
            image: 224,
        }
    }
    /// VGG16's layout at 1/8 width, a 64-wide classifier after a 1 x 1 pool,
    /// on 32 x 32 images.
    pub fn vgg_small(classes: i64) -> Self {
        VggConfig { widths: [8, 16, 32, 64, 64], repeats: [2, 2, 3, 3, 3], hidden: 64, pool: 1, classes, image: 32 }
    }
}

enum Layer {
    Conv(Tensor, Tensor),
    Pool,
}

/// torchvision's VGG (no BatchNorm), configuration "D" for VGG16.
pub struct Vgg {
    cfg: VggConfig,
    features: Vec<Layer>,
    classifier: [Linear; 3],
}

impl Vgg {
    pub fn new(p: &Path, c: &VggConfig) -> Self {
        let fp = p / "features";
        let mut features = Vec::new();
        let mut idx = 0;
        let mut cin = 3;
        for (w, r) in c.widths.iter().zip(&c.repeats) {
            for _ in 0..*r {
                let lp = &fp / idx;
                let weight = conv_weight(&lp, cin, *w, 3);
                let bias = lp.var("bias", &[*w], Init::Const(0.0));
                features.push(Layer::Conv(weight, bias));
                idx += 2; // conv, ReLU
                cin = *w;
            }
            features.push(Layer::Pool);
            idx += 1;
        }
        let cp = p / "classifier";
        let normal = Init::Randn { mean: 0.0, stdev: 0.01 };
        let zero = Init::Const(0.0);
        let f = cin * c.pool * c.pool;
        let classifier = [
            Linear::new(&(&cp / 0), f, c.hidden, normal, zero),
            Linear::new(&(&cp / 3), c.hidden, c.hidden, normal, zero),
            Linear::new(&(&cp / 6), c.hidden, c.classes, normal, zero),
        ];
        Vgg { cfg: c.clone(), features, classifier }
    }

    pub fn logits(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for l in &self.features {
            h = match l {
                Layer::Conv(w, b) => conv(&h, w, Some(b), 1, 1).relu(),
                Layer::Pool => h.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
            };
        }
        let p = self.cfg.pool;
        let h = h.adaptive_avg_pool2d([p, p]).flatten(1, -1);
        let h = self.classifier[0].forward(&h).relu();
        let h = self.classifier[1].forward(&h).relu();
        self.classifier[2].forward(&h)
    }
}

impl Classifier for Vgg {
    fn logits(&self, x: &Tensor) -> Tensor {
        Vgg::logits(self, x)
    }
    fn check_inputs(&self, batch: &Batch) -> Result<()> {
        if self.cfg.image < 32 {
            return Err(Error::invalid("VGG needs images of at least 32 x 32"));
        }
        check_images(batch, self.cfg.image)
    }
}
