//! Imbalanced classes through the data loaders, on a user's IDX images with
//! known labels: the training part keeps the closed-form counts
//! floor(n_j ((j+1)/(k+1))^s) (nets::data::zipf), the held-out part is
//! untouched, the same seed keeps the same examples, a Hessian batch is
//! drawn from the imbalanced set, and data without labelled images refuse.

use std::path::{Path, PathBuf};

use nets::data::{self, BatchSpec, DataKind, Examples, Input};
use tch::{Kind, Tensor};

fn write_idx(path: &Path, dims: &[u32], bytes: &[u8]) {
    let mut b = vec![0u8, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(bytes);
    std::fs::write(path, b).unwrap();
}

/// 100 images of 2x2 pixels, example i of class i mod 3.
fn idx_pair(name: &str) -> Vec<PathBuf> {
    let d = std::env::temp_dir().join(format!("nets-zipf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let pixels: Vec<u8> = (0..400u32).map(|i| (i * 37 % 251) as u8).collect();
    let labels: Vec<u8> = (0..100u8).map(|i| i % 3).collect();
    write_idx(&d.join("img"), &[100, 2, 2], &pixels);
    write_idx(&d.join("lab"), &[100], &labels);
    vec![d.join("img"), d.join("lab")]
}

fn spec(paths: Vec<PathBuf>, class_zipf: f64, seed: u64) -> BatchSpec {
    BatchSpec {
        kind: DataKind::Idx,
        dir: PathBuf::from("."),
        batch_size: 4,
        seq_len: 1,
        seed,
        synthetic_vocab: 16,
        input: Input::Features,
        paths,
        class_zipf,
    }
}

/// Every example of `set`, in order.
fn all(set: &Examples) -> (Tensor, Vec<i64>) {
    let idx: Vec<usize> = (0..set.len().unwrap()).collect();
    let b = set.batch(&idx, 0).unwrap();
    let y: Vec<i64> = b.y.iter::<i64>().unwrap().collect();
    (b.x, y)
}

fn counts(y: &[i64]) -> [usize; 3] {
    let mut c = [0; 3];
    for l in y {
        c[*l as usize] += 1;
    }
    c
}

#[test]
fn the_training_part_keeps_the_closed_form_counts_and_the_held_out_part_is_untouched() {
    let paths = idx_pair("split");
    let plain = data::load_split(&spec(paths.clone(), 0.0, 7), Kind::Double).unwrap();
    let skewed = data::load_split(&spec(paths.clone(), 1.0, 7), Kind::Double).unwrap();
    // Training part: the first 90 examples, 30 of each class; s = 1 binds
    // class 0 (30 x 1 < 30 x 2 < 30 x 3): 30, floor(30/2), floor(30/3).
    assert_eq!(counts(&all(&plain.train).1), [30, 30, 30]);
    let (x, y) = all(&skewed.train);
    assert_eq!(counts(&y), [30, 15, 10]);
    let (hx, hy) = all(&skewed.heldout);
    let (px, py) = all(&plain.heldout);
    assert_eq!((hy.len(), &hy), (10, &py));
    assert!(hx.equal(&px));
    // The kept examples are examples of the training part, in file order.
    let (all_x, _) = all(&plain.train);
    let mut at = 0;
    for i in 0..y.len() as i64 {
        while !all_x.get(at).equal(&x.get(i)) {
            at += 1;
            assert!(at < 90, "kept example {i} is not after the previous one in the training part");
        }
        at += 1;
    }
    // The same seed keeps the same examples, another seed others.
    let again = all(&data::load_split(&spec(paths.clone(), 1.0, 7), Kind::Double).unwrap().train).0;
    assert!(again.equal(&x));
    let other = all(&data::load_split(&spec(paths, 1.0, 8), Kind::Double).unwrap().train).0;
    assert!(!other.equal(&x));
}

#[test]
fn a_hessian_batch_comes_from_the_imbalanced_set() {
    // The whole file (34, 33, 33 of classes 0, 1, 2) at s = 1: 34, 17, 11 = 62.
    let paths = idx_pair("stream");
    let mut s = spec(paths, 1.0, 7);
    s.batch_size = 62;
    let batch = data::load(&s, Kind::Double).unwrap().batch;
    let y: Vec<i64> = batch.y.iter::<i64>().unwrap().collect();
    assert_eq!(counts(&y), [34, 17, 11]);
    s.batch_size = 63;
    let e = data::load(&s, Kind::Double).err().expect("63 of 62 examples").to_string();
    assert!(e.contains("62"), "{e}");
}

#[test]
fn data_without_labelled_images_refuses_an_imbalance() {
    let mut tokens = spec(vec![], 1.0, 0);
    tokens.kind = DataKind::ShakespeareChar;
    tokens.input = Input::Tokens;
    let e = data::load_split(&tokens, Kind::Double).err().expect("token data refuses").to_string();
    assert!(e.contains("shakespeare-char") && e.contains("tokens"), "{e}");
    let mut synthetic = spec(vec![], 1.0, 0);
    synthetic.kind = DataKind::Synthetic;
    assert!(data::load_split(&synthetic, Kind::Double).is_err());
    assert!(data::load(&synthetic, Kind::Double).is_err());
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(data::load_split(&spec(idx_pair("bad"), bad, 0), Kind::Double).is_err());
    }
}
