//! Devices and dtypes by name, and tensors out to plain vectors.

use std::ffi::{c_char, c_int, c_void};

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

/// What [`reproducible_blas`] could arrange with libtorch's BLAS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlasReproducibility {
    /// MKL in its conditional numerical reproducibility mode (the code
    /// branch it picks for this CPU, `MKL_CBWR=AUTO`), dynamic thread count
    /// off: the same inputs and thread count give the same bits.
    On,
    /// `MKL_CBWR` is set in the environment (this value): MKL follows the
    /// user's choice; dynamic thread count off.
    FromEnvironment(String),
    /// MKL did not take the mode (why): results may vary in their last
    /// digits from run to run when the machine is loaded.
    Refused(String),
    /// The libtorch loaded has no MKL: nothing to set.
    NoMkl,
}

/// MKL's `MKL_CBWR_AUTO` (mkl_cbwr.h): reproducible on the branch MKL
/// would pick anyway, so the bits are those of the default mode when the
/// run is quiet.
const MKL_CBWR_AUTO: c_int = 2;
/// `MKL_CBWR_ALL`: ask `cbwr_get` for the whole setting.
const MKL_CBWR_ALL: c_int = !0;

/// A function of the libraries already loaded, by name (`RTLD_DEFAULT`).
fn loaded_symbol(name: &std::ffi::CStr) -> Option<*mut c_void> {
    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    // SAFETY: a null handle is glibc's RTLD_DEFAULT; the name is NUL-terminated.
    let f = unsafe { dlsym(std::ptr::null_mut(), name.as_ptr()) };
    (!f.is_null()).then_some(f)
}

/// Make libtorch's MKL give the same bits for the same inputs from run to
/// run: its conditional numerical reproducibility mode, and no dynamic
/// thread count (the two conditions Intel documents). Without them MKL's
/// threaded products may split their work differently when the machine is
/// loaded: hvp-dump's records then differed in the 12th digit in about one
/// run in 50 (docs/gpu.md). Must run before libtorch's first MKL call (MKL
/// fixes the mode there); an `MKL_CBWR` in the environment is left to
/// decide. The functions are looked up at run time, so a libtorch without
/// MKL (or with another MKL) loads all the same.
pub fn reproducible_blas() -> BlasReproducibility {
    let Some(set_dynamic) = loaded_symbol(c"MKL_Set_Dynamic") else {
        return BlasReproducibility::NoMkl;
    };
    let mode = match std::env::var("MKL_CBWR") {
        Ok(v) => BlasReproducibility::FromEnvironment(v),
        Err(_) => match loaded_symbol(c"mkl_serv_cbwr_set") {
            // SAFETY: MKL's service entry behind mkl_cbwr_set, `int (int)`.
            Some(f) => {
                match unsafe { std::mem::transmute::<*mut c_void, extern "C" fn(c_int) -> c_int>(f) }(MKL_CBWR_AUTO) {
                    0 => BlasReproducibility::On,
                    // -8: MKL had already run (the mode is fixed at its first call).
                    status => BlasReproducibility::Refused(format!("mkl_cbwr_set returned {status}")),
                }
            }
            None => BlasReproducibility::Refused("this MKL has no mkl_serv_cbwr_set".into()),
        },
    };
    // SAFETY: MKL's C entry `void MKL_Set_Dynamic(int)` (what mkl_service.h's
    // `mkl_set_dynamic` macro names; the lower-case symbols are the Fortran
    // entries, which take a pointer).
    let set_dynamic = unsafe { std::mem::transmute::<*mut c_void, extern "C" fn(c_int)>(set_dynamic) };
    set_dynamic(0);
    mode
}

/// MKL's reproducibility setting as it reports it (`mkl_cbwr_get` of
/// everything: 0 off, 1 off by branch, 2 auto, ...; 0x10000 added for
/// strict), or None without MKL.
pub fn blas_reproducibility_setting() -> Option<i32> {
    let f = loaded_symbol(c"mkl_serv_cbwr_get")?;
    // SAFETY: MKL's service entry behind mkl_cbwr_get, `int (int)`.
    let get = unsafe { std::mem::transmute::<*mut c_void, extern "C" fn(c_int) -> c_int>(f) };
    Some(get(MKL_CBWR_ALL))
}
