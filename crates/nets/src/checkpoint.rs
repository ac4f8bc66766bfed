//! Weights in and out as safetensors, by parameter name (nanoGPT's names
//! for the GPT-2 family).

use std::path::Path;

use tch::nn::VarStore;
use tch::Tensor;

use crate::error::{Error, Result};
use crate::params::named_variables;

/// Write every parameter and buffer (BatchNorm running statistics), on the
/// CPU in its own dtype, to a safetensors file.
pub fn save(vs: &VarStore, path: &Path) -> Result<()> {
    save_named(&named_variables(vs), path)
}

/// Write named tensors (a loaded module's, say), on the CPU in their own
/// dtypes, to a safetensors file.
pub fn save_named(tensors: &[(String, Tensor)], path: &Path) -> Result<()> {
    let named: Vec<(String, Tensor)> =
        tensors.iter().map(|(n, t)| (n.clone(), t.detach().to_device(tch::Device::Cpu).contiguous())).collect();
    write_whole(path, |tmp| Tensor::write_safetensors(&named, tmp))
        .map_err(|e| Error::invalid(format!("cannot write weights to {}: {e}", path.display())))
}

/// Write a file by `write` to a temporary name in `path`'s directory, then
/// rename it to `path`: a full disk or a kill never leaves a truncated file
/// under the final name (a killed writer's `.NAME.partial-PID` may remain).
/// A symbolic link is followed (its target is replaced, not the link); a
/// device or FIFO is written as it is.
pub fn write_whole<E: std::fmt::Display>(
    path: &Path,
    write: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), String> {
    let resolved;
    let path = match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => return write(path).map_err(|e| e.to_string()),
        Ok(_) if path.is_symlink() => {
            resolved = std::fs::canonicalize(path).map_err(|e| e.to_string())?;
            resolved.as_path()
        }
        _ => path,
    };
    let name = path.file_name().ok_or_else(|| "not a file name".to_string())?;
    let tmp = path.with_file_name(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
    let written = write(&tmp).map_err(|e| e.to_string()).and_then(|()| {
        // The data on disk before the name points at it.
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Load weights by name into `vs`, converting dtype and device. Fails, with
/// the full lists, when tensors are missing, unexpected or mis-shaped; then
/// nothing is changed. Accepted quietly: a `_orig_mod.` prefix
/// (torch.compile), and nanoGPT's `lm_head.weight` when it equals
/// `transformer.wte.weight` (tied weights), and torchvision's BatchNorm
/// counters `*.num_batches_tracked`.
pub fn load(vs: &VarStore, path: &Path) -> Result<()> {
    load_named(&named_variables(vs), path)
}

/// Load weights by name into `params` (tensors sharing storage with a
/// network's own), with [`load`]'s checks and leniencies.
pub fn load_named(params: &[(String, Tensor)], path: &Path) -> Result<()> {
    let file = Tensor::read_safetensors(path)
        .map_err(|e| Error::invalid(format!("cannot read checkpoint {}: {e}", path.display())))?;
    let mut file: Vec<(String, Tensor)> =
        file.into_iter().map(|(n, t)| (n.strip_prefix("_orig_mod.").map(str::to_string).unwrap_or(n), t)).collect();
    file.sort_by(|a, b| a.0.cmp(&b.0));
    let mut missing = Vec::new();
    let mut misshaped = Vec::new();
    for (name, t) in params {
        match file.iter().find(|(n, _)| n == name) {
            None => missing.push(name.clone()),
            Some((_, f)) if f.size() != t.size() => {
                misshaped.push(format!("{name} (file {:?}, model {:?})", f.size(), t.size()))
            }
            Some(_) => {}
        }
    }
    let tied_ok = |n: &str, f: &Tensor| {
        n == "lm_head.weight"
            && file.iter().any(|(m, w)| m == "transformer.wte.weight" && w.size() == f.size() && w.equal(f))
            && params.iter().any(|(m, _)| m == "transformer.wte.weight")
    };
    let unexpected: Vec<String> = file
        .iter()
        .filter(|(n, f)| !params.iter().any(|(m, _)| m == n) && !tied_ok(n, f) && !n.ends_with(".num_batches_tracked"))
        .map(|(n, f)| format!("{n} {:?}", f.size()))
        .collect();
    if !(missing.is_empty() && misshaped.is_empty() && unexpected.is_empty()) {
        let mut msg = format!("checkpoint {} does not fit the model:", path.display());
        for (what, list) in [("missing", &missing), ("mis-shaped", &misshaped), ("unexpected", &unexpected)] {
            if !list.is_empty() {
                msg.push_str(&format!("\n  {what} ({}): {}", list.len(), list.join(", ")));
            }
        }
        return Err(Error::invalid(msg));
    }
    let _guard = tch::no_grad_guard();
    for (name, t) in params {
        // Every name was found above.
        let Some((_, f)) = file.iter().find(|(n, _)| n == name) else { continue };
        let mut t = t.shallow_clone();
        t.f_copy_(&f.to_kind(t.kind()).to_device(t.device()))
            .map_err(|e| Error::invalid(format!("checkpoint {}: tensor {name}: {e}", path.display())))?;
    }
    Ok(())
}
