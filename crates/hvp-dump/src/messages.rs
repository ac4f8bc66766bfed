//! `nets` errors worded for hvp-dump's users (nets_cli names the flags).

/// `e` as a message naming its flag; nets' batch size is the Hessian batch.
pub fn from_nets(e: nets::Error) -> cli::Error {
    nets_cli::from_nets(e, "--batch-size")
}
