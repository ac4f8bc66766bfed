//! A model's tensors by name, in natural order (`h.2` before `h.10`).

use tch::nn::VarStore;
use tch::Tensor;

/// Named trainable parameters in natural order (h.2 before h.10): the
/// candidates for Hessian blocks. Buffers (BatchNorm running statistics)
/// are not parameters.
pub fn named_parameters(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = named_variables(vs).into_iter().filter(|(_, t)| t.requires_grad()).collect();
    v.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    v
}

/// Every tensor of the model, buffers included (PyTorch's `state_dict`),
/// in natural order: what checkpoints hold.
pub fn named_variables(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    v.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    v
}

/// Compare strings with embedded numbers by value: `h.2` < `h.10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let o = match (x.0, y.0) {
            (true, true) => x.1.parse::<u128>().unwrap_or(0).cmp(&y.1.parse::<u128>().unwrap_or(0)).then(x.1.cmp(y.1)),
            _ => x.1.cmp(y.1),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}
