//! The paper's MLP: Linear-ReLU stacks named `fc1`, `fc2`, ..., PyTorch's
//! default initialization, each layer's output scaled by `layer_scale`
//! (paper Section 2.4, Table 3).

use tch::nn::Path;
use tch::Tensor;

use crate::layers::Linear;
use crate::net::Classifier;

#[derive(Debug, Clone, PartialEq)]
pub struct MlpConfig {
    pub input: i64,
    /// Hidden widths; the output layer (classes) comes after them.
    pub widths: Vec<i64>,
    pub classes: i64,
    /// Each layer's output is multiplied by this (paper Section 2.4, Table 3).
    pub layer_scale: f64,
}

impl MlpConfig {
    /// The paper's 4-layer MLP: hidden widths 300, 128, 64.
    pub const PAPER_WIDTHS: [i64; 3] = [300, 128, 64];

    pub fn param_count(&self) -> i64 {
        let mut dims = vec![self.input];
        dims.extend(&self.widths);
        dims.push(self.classes);
        dims.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }
}

/// The paper's MLP: Linear-ReLU stacks named `fc1`, `fc2`, ..., PyTorch's
/// default initialization, each layer's output scaled by `layer_scale`.
pub struct Mlp {
    layers: Vec<Linear>,
    scale: f64,
}

impl Mlp {
    pub fn new(p: &Path, c: &MlpConfig) -> Self {
        let mut dims = vec![c.input];
        dims.extend(&c.widths);
        dims.push(c.classes);
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::torch_default(&(p / format!("fc{}", i + 1)), w[0], w[1]))
            .collect();
        Mlp { layers, scale: c.layer_scale }
    }
}

impl Mlp {
    fn logits(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        let n = self.layers.len();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h);
            if self.scale != 1.0 {
                h = &h * self.scale;
            }
            if i + 1 < n {
                h = h.relu();
            }
        }
        h
    }
}

impl Classifier for Mlp {
    fn logits(&self, x: &Tensor) -> Tensor {
        Mlp::logits(self, x)
    }
}
