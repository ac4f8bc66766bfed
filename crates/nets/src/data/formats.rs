//! File formats of a user's data: IDX (gzipped or not) and NumPy `.npy`.

use std::path::Path;

use tch::Tensor;

use crate::error::{Error, Result};

/// Read an IDX file (big-endian header; u8 data), gzipped or not: returns
/// dims and bytes.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut bytes = std::fs::read(path).map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| Error::invalid(format!("{}: bad gzip data: {e}", path.display())))?;
        bytes = out;
    }
    let bad = |m: &str| Error::invalid(format!("{}: not an IDX file of unsigned bytes: {m}", path.display()));
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad("bad magic"));
    }
    if bytes[2] != 0x08 {
        return Err(bad("element type is not u8"));
    }
    let nd = bytes[3] as usize;
    let header = 4 + 4 * nd;
    if bytes.len() < header {
        return Err(bad("truncated header"));
    }
    let dims: Vec<usize> =
        (0..nd).map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize).collect();
    let n = dims.iter().try_fold(1usize, |a, d| a.checked_mul(*d)).ok_or_else(|| bad("dimensions overflow"))?;
    if bytes.len() - header != n {
        return Err(bad(&format!("expected {} data bytes, found {}", n, bytes.len() - header)));
    }
    Ok((dims, bytes[header..].to_vec()))
}

/// Read a `.npy` array as a tensor of its own dtype.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    Tensor::read_npy(path).map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))
}
