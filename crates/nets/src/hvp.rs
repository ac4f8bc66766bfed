//! Hessian-vector products by double backward (Pearlmutter's trick),
//! restricted to one parameter block: with g = dL/d(block) built with
//! `create_graph`, H_bb v = d<g, v>/d(block), the principal sub-matrix of the
//! Hessian times v. Both backward passes see only the block's tensors.
//!
//! With one batch the first-order graph is built once and kept for every
//! product; with micro-batches each product is accumulated over them with
//! weights (examples / total), i.e. the Hessian of the batch's *mean* loss,
//! whatever the split. A streamed batch ([`HessianBatch::Streamed`]) puts one
//! micro-batch at a time on the device, assembled from the data when a
//! product needs it and dropped after.

use lanczos::SymmetricOperator;
use lanczos_tensor::TensorOperator;
use tch::{Device, Kind, Tensor};

use crate::blocks::Block;
use crate::data::{Batch, Stream};
use crate::device::to_vec_f64;
use crate::error::{libtorch_message, Error, Result};
use crate::net::Net;

/// The examples a Hessian is taken over, as micro-batches with weights
/// (examples / total, so the weighted sum of their mean losses is the
/// batch's mean loss exactly).
#[derive(Clone, Copy)]
pub enum HessianBatch<'a> {
    /// A batch on the parameters' device, whole or in micro-batches of
    /// `micro` examples (views of it).
    Held { batch: &'a Batch, micro: Option<i64> },
    /// Micro-batches of `micro` examples of `stream`, each assembled and
    /// moved to `device` when a product needs it.
    Streamed { stream: &'a Stream, micro: usize, device: Device },
}

impl<'a> HessianBatch<'a> {
    /// The whole of `batch`, one graph.
    pub fn whole(batch: &'a Batch) -> Self {
        HessianBatch::Held { batch, micro: None }
    }

    /// Examples in all.
    pub fn len(&self) -> usize {
        match self {
            HessianBatch::Held { batch, .. } => batch.len().max(0) as usize,
            HessianBatch::Streamed { stream, .. } => stream.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Examples per micro-batch (the last may have fewer).
    fn micro(&self) -> usize {
        let m = match *self {
            HessianBatch::Held { micro, batch } => micro.map_or(batch.len(), |m| m).max(1) as usize,
            HessianBatch::Streamed { micro, .. } => micro.max(1),
        };
        m.min(self.len().max(1))
    }

    /// Number of micro-batches.
    pub fn count(&self) -> usize {
        self.len().div_ceil(self.micro())
    }

    /// The same examples cut into `parts` micro-batches of equal size (the
    /// last may be smaller; fewer when there are fewer examples than parts).
    pub fn in_parts(self, parts: usize) -> Self {
        let micro = self.len().div_ceil(parts.max(1)).max(1);
        match self {
            HessianBatch::Held { batch, .. } => HessianBatch::Held { batch, micro: Some(micro as i64) },
            HessianBatch::Streamed { stream, device, .. } => HessianBatch::Streamed { stream, micro, device },
        }
    }

    /// Micro-batch `k`'s examples: first and number.
    fn range(&self, k: usize) -> (usize, usize) {
        let (n, m) = (self.len(), self.micro());
        (k * m, m.min(n.saturating_sub(k * m)))
    }

    /// Micro-batch `k`'s weight (examples / total).
    pub fn weight(&self, k: usize) -> f64 {
        self.range(k).1 as f64 / self.len() as f64
    }

    /// Micro-batch `k` (below [`count`](Self::count)) on the device.
    pub fn get(&self, k: usize) -> Result<Batch> {
        let (start, len) = self.range(k);
        match self {
            HessianBatch::Held { batch, .. } => Ok(batch.slice(start as i64, len as i64)),
            HessianBatch::Streamed { stream, device, .. } => Ok(stream.examples(start, len)?.to(*device)),
        }
    }
}

/// The Hessian of a network's loss restricted to one block, as a
/// symmetric operator on f64 vectors of length `block.dim()`.
pub struct BlockHessian<'a> {
    net: &'a dyn Net,
    block: &'a Block,
    /// The examples, in micro-batches.
    batches: HessianBatch<'a>,
    /// Distinct parameter tensors of the block, and each part's index into them.
    tensors: Vec<Tensor>,
    part_tensor: Vec<usize>,
    kind: Kind,
    device: Device,
    /// First-order gradients with their graph (single batch only).
    kept: Option<Vec<Tensor>>,
    /// Products computed so far (for error messages).
    pub products: usize,
    /// Whether the thrown-away first product ([`warm_up`](Self::warm_up)) is done.
    warmed: bool,
}

fn tch_err(block: &str, what: &str, e: tch::TchError) -> Error {
    Error::numeric(format!("block `{block}`: {what}: {}", libtorch_message(&e)))
}

fn all_finite(t: &Tensor) -> bool {
    t.isfinite().all().int64_value(&[]) != 0
}

impl<'a> BlockHessian<'a> {
    /// The Hessian of `net`'s mean loss over `batches` restricted to `block`.
    pub fn new(net: &'a dyn Net, block: &'a Block, batches: HessianBatch<'a>) -> Result<Self> {
        if block.parts.is_empty() {
            return Err(Error::invalid(format!("block `{}` has no parameters", block.name)));
        }
        if batches.is_empty() {
            return Err(Error::invalid("no data in the Hessian batch"));
        }
        let mut tensors: Vec<Tensor> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        let mut part_tensor = Vec::new();
        for p in &block.parts {
            let i = match names.iter().position(|n| *n == p.param) {
                Some(i) => i,
                None => {
                    names.push(&p.param);
                    tensors.push(p.tensor.shallow_clone());
                    names.len() - 1
                }
            };
            part_tensor.push(i);
        }
        let kind = tensors[0].kind();
        let device = tensors[0].device();
        let mut h = BlockHessian {
            net,
            block,
            batches,
            tensors,
            part_tensor,
            kind,
            device,
            kept: None,
            products: 0,
            warmed: false,
        };
        if h.batches.count() == 1 {
            let g = h.gradient_graph(0)?;
            h.kept = Some(g);
        }
        Ok(h)
    }

    /// Before the first product a caller asks for: one product on the first
    /// micro-batch, thrown away. On a loaded machine, with two or more
    /// libtorch threads, a process's first double backward has sometimes
    /// given other last bits than every later one (libtorch's OpenMP
    /// kernels, not MKL's; never on one thread; measured in docs/gpu.md), so
    /// no product a caller sees is a process's first. Not in `new`: an
    /// operator used only for gradients does not pay for it.
    fn warm_up(&mut self) -> Result<()> {
        if !self.warmed {
            let ones: Vec<Tensor> =
                self.block.parts.iter().map(|p| Tensor::ones(p.shape().as_slice(), (self.kind, self.device))).collect();
            self.batch_hvp(0, &ones)?;
            self.warmed = true;
        }
        Ok(())
    }

    /// Gradient of micro-batch `k`'s loss w.r.t. the block's tensors, with
    /// its graph (create_graph), checked finite.
    fn gradient_graph(&self, k: usize) -> Result<Vec<Tensor>> {
        let name = &self.block.name;
        let loss = self.net.try_loss(&self.batches.get(k)?)?;
        if !all_finite(&loss) {
            return Err(Error::numeric(format!("block `{name}`: the loss is NaN or Inf")));
        }
        if !loss.requires_grad() {
            return Err(Error::numeric(format!("block `{name}`: the loss does not depend on any parameter")));
        }
        let g =
            Tensor::f_run_backward(&[&loss], &self.tensors, true, true).map_err(|e| tch_err(name, "gradient", e))?;
        for (t, gi) in g.iter().enumerate() {
            if gi.defined() && !all_finite(gi) {
                return Err(Error::numeric(format!(
                    "block `{name}`: gradient of `{}` contains NaN or Inf",
                    self.param_name(t)
                )));
            }
        }
        Ok(g)
    }

    fn param_name(&self, t: usize) -> &str {
        let i = self.part_tensor.iter().position(|x| *x == t).unwrap_or(0);
        &self.block.parts[i].param
    }

    /// The block's first-order gradient (mean loss over all micro-batches).
    pub fn gradient(&self) -> Result<Vec<f64>> {
        let mut out = vec![0.0; self.block.dim()];
        for k in 0..self.batches.count() {
            let g = match (&self.kept, k) {
                (Some(g), 0) => g.iter().map(|t| if t.defined() { t.detach() } else { Tensor::new() }).collect(),
                _ => self.gradient_graph(k)?,
            };
            self.scatter(&g, self.batches.weight(k), &mut out);
        }
        Ok(out)
    }

    /// Each micro-batch's own gradient of its mean loss w.r.t. the block
    /// (their weighted sum is [`gradient`](Self::gradient)).
    pub fn micro_batch_gradients(&self) -> Result<Vec<Vec<f64>>> {
        (0..self.batches.count())
            .map(|k| {
                let g = match (&self.kept, k) {
                    (Some(g), 0) => g.iter().map(|t| if t.defined() { t.detach() } else { Tensor::new() }).collect(),
                    _ => self.gradient_graph(k)?,
                };
                let mut out = vec![0.0; self.block.dim()];
                self.scatter(&g, 1.0, &mut out);
                Ok(out)
            })
            .collect()
    }

    /// out += w * (parts of `per_tensor`), undefined tensors counting as zero.
    fn scatter(&self, per_tensor: &[Tensor], w: f64, out: &mut [f64]) {
        let mut off = 0;
        for (p, &t) in self.block.parts.iter().zip(&self.part_tensor) {
            let n = p.numel();
            if per_tensor[t].defined() {
                let v = to_vec_f64(&p.select(&per_tensor[t]));
                for (o, x) in out[off..off + n].iter_mut().zip(v) {
                    *o += w * x;
                }
            }
            off += n;
        }
    }

    /// The block's HVP with `vs` on batch `k`: through the kept graph when
    /// there is one batch, else through that batch's gradient graph.
    fn batch_hvp(&self, k: usize, vs: &[Tensor]) -> Result<Option<Vec<Tensor>>> {
        match &self.kept {
            Some(g) => self.hvp_one(g, vs, true),
            None => self.hvp_one(&self.gradient_graph(k)?, vs, false),
        }
    }

    fn hvp_one(&self, g: &[Tensor], vs: &[Tensor], keep: bool) -> Result<Option<Vec<Tensor>>> {
        let mut gv: Option<Tensor> = None;
        for ((p, &t), v) in self.block.parts.iter().zip(&self.part_tensor).zip(vs) {
            if !g[t].defined() {
                continue;
            }
            let term = (p.select(&g[t]) * v).sum(self.kind);
            gv = Some(match gv {
                Some(acc) => acc + term,
                None => term,
            });
        }
        let gv = match gv {
            // No part of the loss depends on the block, or the gradient is
            // constant in it: H v = 0 (run_backward would crash on such a root).
            Some(gv) if gv.requires_grad() => gv,
            _ => return Ok(None),
        };
        let hv = Tensor::f_run_backward(&[&gv], &self.tensors, keep, false).map_err(|e| {
            tch_err(
                &self.block.name,
                "Hessian-vector product (double backward; an operation without a second derivative?)",
                e,
            )
        })?;
        Ok(Some(hv))
    }
}

impl SymmetricOperator for BlockHessian<'_> {
    type Error = Error;

    fn dim(&self) -> usize {
        self.block.dim()
    }

    fn apply(&mut self, x: &[f64], out: &mut [f64]) -> Result<()> {
        let n = self.block.dim();
        if x.len() != n || out.len() != n {
            return Err(Error::invalid(format!("vector of length {} for block of dimension {n}", x.len())));
        }
        self.warm_up()?;
        // The vector, cut into the parts' shapes, in the network's kind and device.
        let mut vs = Vec::with_capacity(self.block.parts.len());
        let mut off = 0;
        for p in &self.block.parts {
            let m = p.numel();
            vs.push(
                Tensor::from_slice(&x[off..off + m])
                    .to_kind(self.kind)
                    .to_device(self.device)
                    .view(p.shape().as_slice()),
            );
            off += m;
        }
        out.iter_mut().for_each(|o| *o = 0.0);
        for k in 0..self.batches.count() {
            let w = self.batches.weight(k);
            let hv = self.batch_hvp(k, &vs)?;
            if let Some(hv) = hv {
                self.scatter(&hv, w, out);
            }
        }
        self.products += 1;
        if let Some(i) = out.iter().position(|v| !v.is_finite()) {
            return Err(Error::numeric(format!(
                "block `{}`: Hessian-vector product {} has NaN or Inf (entry {i})",
                self.block.name, self.products
            )));
        }
        Ok(())
    }
}

/// The same products with the vectors on the network's device (the tensor
/// Lanczos engine): the vector is cut into the parts' shapes and cast to
/// the network's kind there, and the parts of the product are gathered,
/// cast to f64 and weighted there, as `apply` does on the host.
impl TensorOperator for BlockHessian<'_> {
    type Error = Error;

    fn dim(&self) -> usize {
        self.block.dim()
    }

    fn device(&self) -> Device {
        self.device
    }

    fn apply_tensor(&mut self, x: &Tensor) -> Result<Tensor> {
        let n = self.block.dim();
        if x.size() != [n as i64] || x.kind() != Kind::Double {
            return Err(Error::invalid(format!(
                "vector of shape {:?} ({:?}) for block of dimension {n} (f64)",
                x.size(),
                x.kind()
            )));
        }
        self.warm_up()?;
        let mut vs = Vec::with_capacity(self.block.parts.len());
        let mut off = 0;
        for p in &self.block.parts {
            let m = p.numel() as i64;
            vs.push(x.narrow(0, off, m).to_kind(self.kind).view(p.shape().as_slice()));
            off += m;
        }
        let mut out: Option<Tensor> = None;
        for k in 0..self.batches.count() {
            let w = self.batches.weight(k);
            let hv = self.batch_hvp(k, &vs)?;
            if let Some(hv) = hv {
                let flat = self.gather(&hv) * w;
                out = Some(match out {
                    Some(acc) => acc + flat,
                    None => flat,
                });
            }
        }
        self.products += 1;
        Ok(out.unwrap_or_else(|| Tensor::zeros([n as i64], (Kind::Double, self.device))))
    }
}

impl BlockHessian<'_> {
    /// The block's parts of `per_tensor` as one flat f64 tensor on the
    /// device, undefined tensors counting as zero.
    fn gather(&self, per_tensor: &[Tensor]) -> Tensor {
        let pieces: Vec<Tensor> = self
            .block
            .parts
            .iter()
            .zip(&self.part_tensor)
            .map(|(p, &t)| match per_tensor[t].defined() {
                true => p.select(&per_tensor[t]).detach().to_kind(Kind::Double).reshape([-1]),
                false => Tensor::zeros([p.numel() as i64], (Kind::Double, self.device)),
            })
            .collect();
        Tensor::cat(&pieces, 0)
    }
}

/// The dense matrix of a symmetric operator, built column by column
/// (column j = A e_j), row-major. No symmetrization: what was computed.
pub fn dense<O: SymmetricOperator>(
    op: &mut O,
    mut progress: impl FnMut(usize),
) -> std::result::Result<Vec<f64>, O::Error> {
    let n = op.dim();
    let mut h = vec![0.0; n * n];
    let mut e = vec![0.0; n];
    let mut col = vec![0.0; n];
    for j in 0..n {
        e[j] = 1.0;
        op.apply(&e, &mut col)?;
        e[j] = 0.0;
        for i in 0..n {
            h[i * n + j] = col[i];
        }
        progress(j + 1);
    }
    Ok(h)
}

/// Add `delta` (block-shaped, flattened as the operator's vectors) to the
/// block's parameters, outside autograd. Any kept graph is invalid after.
pub fn perturb(block: &Block, delta: &[f64]) {
    let _guard = tch::no_grad_guard();
    let mut off = 0;
    for p in &block.parts {
        let n = p.numel();
        let t = &p.tensor;
        let d =
            Tensor::from_slice(&delta[off..off + n]).to_kind(t.kind()).to_device(t.device()).view(p.shape().as_slice());
        let mut target = p.select(t);
        let _ = target.g_add_(&d);
        off += n;
    }
}
