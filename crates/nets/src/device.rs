//! Devices and dtypes by name, and tensors out to plain vectors.

use crate::error::{Error, Result};

/// Parse `auto`, `cpu`, `cuda` or `cuda:N`. `auto` is CUDA device 0 when
/// libtorch sees a GPU, else the CPU.
pub fn parse_device(s: &str) -> Result<tch::Device> {
    match s {
        "auto" => Ok(tch::Device::cuda_if_available()),
        "cpu" => Ok(tch::Device::Cpu),
        "cuda" => cuda(0),
        _ => match s.strip_prefix("cuda:").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => cuda(n),
            None => Err(Error::UnknownDevice(s.to_string())),
        },
    }
}

fn cuda(n: usize) -> Result<tch::Device> {
    let count = tch::Cuda::device_count() as usize;
    if n >= count {
        return Err(Error::NoSuchCuda { index: n, count });
    }
    Ok(tch::Device::Cuda(n))
}

/// A device's name as written in `run` records: `cpu` or `cuda:N`.
pub fn device_name(d: tch::Device) -> String {
    match d {
        tch::Device::Cpu => "cpu".into(),
        tch::Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Parse `f32` or `f64` (also `float`/`double`).
pub fn parse_dtype(s: &str) -> Result<tch::Kind> {
    match s {
        "f32" | "float" | "float32" => Ok(tch::Kind::Float),
        "f64" | "double" | "float64" => Ok(tch::Kind::Double),
        _ => Err(Error::UnknownDtype(s.to_string())),
    }
}

pub fn dtype_name(k: tch::Kind) -> &'static str {
    match k {
        tch::Kind::Double => "f64",
        tch::Kind::Float => "f32",
        tch::Kind::Half => "f16",
        tch::Kind::BFloat16 => "bf16",
        _ => "other",
    }
}

/// Copy a tensor of any float kind and device into a Vec<f64> (flattened).
pub fn to_vec_f64(t: &tch::Tensor) -> Vec<f64> {
    let t = t.detach().to_kind(tch::Kind::Double).to_device(tch::Device::Cpu).contiguous().view(-1);
    let n = t.numel();
    let mut out = vec![0.0; n];
    t.copy_data(&mut out, n);
    out
}

/// Keep libtorch's MKL from choosing its own thread count call by call
/// (`MKL_DYNAMIC`, on by default): Intel documents a fixed thread count
/// with dynamic adjustment off as a condition for run-to-run identical
/// results. (The run-to-run variant docs/gpu.md records was not MKL's but
/// libtorch's, in a process's first double backward: see `nets::hvp`.)
/// Looked up at run time, so a libtorch built without MKL (or another
/// libtorch version) loads all the same.
pub fn fix_blas_thread_count() {
    use std::ffi::{c_char, c_int, c_void};
    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    // RTLD_DEFAULT (a null handle on glibc): every library already loaded.
    // SAFETY: dlsym with a NUL-terminated name; the symbol, when present, is
    // MKL's C entry `void MKL_Set_Dynamic(int)` (what mkl_service.h's
    // `mkl_set_dynamic` macro names; the lower-case symbols are the Fortran
    // entries, which take a pointer).
    unsafe {
        let f = dlsym(std::ptr::null_mut(), c"MKL_Set_Dynamic".as_ptr());
        if !f.is_null() {
            let set_dynamic: extern "C" fn(c_int) = std::mem::transmute(f);
            set_dynamic(0);
        }
    }
}
