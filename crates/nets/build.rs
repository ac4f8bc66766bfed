//! Embed libtorch's directory as an rpath so that tests and binaries run
//! without LD_LIBRARY_PATH, and keep `libtorch_cuda.so` in the needed list so
//! CUDA is found on a GPU machine (the linker drops it silently otherwise).
//! `DEP_TCH_LIBTORCH_LIB` is set by torch-sys (links = "tch") for crates that
//! depend on it directly. hvp-dump runs this same file (`build = "../nets/build.rs"`).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        let cuda = std::path::Path::new(&dir).join("libtorch_cuda.so");
        if cuda.exists() {
            println!("cargo:rustc-link-arg=-L{dir}");
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-ltorch_cuda");
            println!("cargo:rustc-link-arg=-ltorch");
            println!("cargo:rustc-link-arg=-Wl,--as-needed");
        }
    }
}
