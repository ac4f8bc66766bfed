//! A full f64 basis kept in a file instead of memory: the rung of the
//! memory ladder that stays exact when even an f32 basis does not fit.
//! Each sweep of modified Gram-Schmidt reads the rows back one at a time,
//! so memory holds one row; disk holds steps x dim x 8 bytes, and each step
//! reads the basis once (twice when the second sweep is needed).
//!
//! The arithmetic is the in-memory f64 basis's, chunk for chunk (the same
//! per-chunk dot products combined in the same order, the same updates), so
//! the tridiagonal is bit-identical to the one an in-memory basis gives.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::kernels::{dot_chunk, CHUNK};
use crate::reorth::twice_if_needed;

/// Entries moved between the file and memory at a time: memory holds one
/// row of f64 and at most this many entries' bytes (1 MiB; [`buffer_bytes`]).
#[cfg(not(test))]
const IO_ENTRIES: usize = 1 << 17;
/// Small in tests, so that rows of a few thousand entries take several reads.
#[cfg(test)]
const IO_ENTRIES: usize = 1000;

/// Bytes of the I/O buffer of a basis of dimension `dim`.
pub(crate) fn buffer_bytes(dim: usize) -> usize {
    dim.min(IO_ENTRIES) * 8
}

/// Distinguishes the files of the runs of one process.
static NEXT_FILE: AtomicU64 = AtomicU64::new(0);

/// The Lanczos vectors in a file of `rows` x `dim` little-endian f64s,
/// removed when the store is dropped.
#[derive(Debug)]
pub(crate) struct DiskBasis {
    file: File,
    path: PathBuf,
    dim: usize,
    rows: usize,
    /// One row, read back.
    row: Vec<f64>,
    /// Up to [`IO_ENTRIES`] entries' bytes on their way to or from the file.
    bytes: Vec<u8>,
}

impl DiskBasis {
    /// A new, empty basis file in `dir`.
    pub(crate) fn create(dir: &Path, dim: usize) -> io::Result<Self> {
        let name = format!("lanczos-basis-{}-{}.f64", std::process::id(), NEXT_FILE.fetch_add(1, Ordering::Relaxed));
        let path = dir.join(name);
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path).map_err(|e| at(&path, e))?;
        // Unlinked at once where the system allows (Unix: the open handle
        // keeps the data), so that even a killed run leaves no file behind;
        // elsewhere the file goes when the store is dropped.
        let _ = std::fs::remove_file(&path);
        let bytes = Vec::with_capacity(buffer_bytes(dim));
        Ok(DiskBasis { file, path, dim, rows: 0, row: vec![0.0; dim], bytes })
    }

    /// Appends `v`.
    pub(crate) fn push(&mut self, v: &[f64]) -> io::Result<()> {
        debug_assert_eq!(v.len(), self.dim);
        self.file.seek(SeekFrom::Start((self.rows * self.dim * 8) as u64)).map_err(|e| at(&self.path, e))?;
        for part in v.chunks(IO_ENTRIES) {
            self.bytes.clear();
            self.bytes.extend(part.iter().flat_map(|x| x.to_le_bytes()));
            self.file.write_all(&self.bytes).map_err(|e| at(&self.path, e))?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Orthogonalize `w` against every row, as [`crate::reorth`]'s in-memory
    /// basis does: one sweep, and a second when the first removed most of `w`.
    pub(crate) fn orthogonalize(&mut self, w: &mut [f64], partials: &mut Vec<f64>) -> io::Result<()> {
        debug_assert_eq!(w.len(), self.dim);
        if self.rows == 0 {
            return Ok(());
        }
        twice_if_needed(w, partials, |w, p| self.sweep(w, p))
    }

    /// One MGS sweep: for each row, its coefficient from per-chunk dot
    /// products summed in chunk order, then its multiple subtracted.
    fn sweep(&mut self, w: &mut [f64], partials: &mut [f64]) -> io::Result<()> {
        for k in 0..self.rows {
            self.read_row(k)?;
            for ((wc, qc), p) in w.chunks(CHUNK).zip(self.row.chunks(CHUNK)).zip(partials.iter_mut()) {
                *p = dot_chunk(qc, wc);
            }
            let c = partials.iter().fold(0.0, |s, p| s + p);
            for (wi, qi) in w.iter_mut().zip(&self.row) {
                *wi -= c * qi;
            }
        }
        Ok(())
    }

    fn read_row(&mut self, k: usize) -> io::Result<()> {
        self.file.seek(SeekFrom::Start((k * self.dim * 8) as u64)).map_err(|e| at(&self.path, e))?;
        for part in self.row.chunks_mut(IO_ENTRIES) {
            self.bytes.resize(part.len() * 8, 0);
            self.file.read_exact(&mut self.bytes).map_err(|e| at(&self.path, e))?;
            for (x, b) in part.iter_mut().zip(self.bytes.chunks_exact(8)) {
                *x = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            }
        }
        Ok(())
    }

    /// Bytes held in memory: the row and the I/O buffer.
    #[cfg(test)]
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.row.capacity() * 8 + self.bytes.capacity()
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    #[cfg(test)]
    pub(crate) fn file_len(&self) -> io::Result<u64> {
        self.file.metadata().map(|m| m.len())
    }
}

impl Drop for DiskBasis {
    fn drop(&mut self) {
        // Already gone on Unix; the file is scratch, so nothing to report either way.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `e` with the file it happened on.
fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("Lanczos basis file {}: {e}", path.display()))
}
