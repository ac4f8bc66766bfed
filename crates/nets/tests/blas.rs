//! MKL's reproducible mode: set before libtorch's first MKL call, it is
//! what MKL reports afterwards, and it holds once MKL has run. Its own test
//! binary, so that no other test has called MKL first.

use nets::device::{blas_reproducibility_setting, reproducible_blas, BlasReproducibility};
use tch::{Device, Kind, Tensor};

#[test]
fn mkl_reports_the_reproducible_mode_once_set() {
    let mode = reproducible_blas();
    match &mode {
        BlasReproducibility::NoMkl => {
            assert_eq!(blas_reproducibility_setting(), None);
            eprintln!("libtorch without MKL: nothing to check");
            return;
        }
        BlasReproducibility::FromEnvironment(v) => {
            eprintln!("MKL_CBWR={v} in the environment: left to it");
            return;
        }
        BlasReproducibility::Refused(why) => panic!("MKL refused its reproducible mode before any call: {why}"),
        BlasReproducibility::On => {}
    }
    // 2: MKL_CBWR_AUTO, not strict.
    assert_eq!(blas_reproducibility_setting(), Some(2));
    let a = Tensor::randn([64, 48], (Kind::Double, Device::Cpu));
    let b = Tensor::randn([48, 32], (Kind::Double, Device::Cpu));
    let c = a.matmul(&b);
    assert!(c.isfinite().all().int64_value(&[]) != 0);
    assert_eq!(blas_reproducibility_setting(), Some(2), "the mode holds after MKL ran");
    // Asked again once MKL has run: MKL keeps the mode it has and says no
    // to a change, or takes the same mode; either way nothing panics.
    let again = reproducible_blas();
    assert!(matches!(again, BlasReproducibility::On | BlasReproducibility::Refused(_)), "{again:?}");
    assert_eq!(blas_reproducibility_setting(), Some(2));
}
