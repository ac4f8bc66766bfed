//! `nets` errors worded for nn-train's users (nets_cli names the flags).

/// `e` as a message naming its flag; nets' batch size (the size of a data set
/// it makes up) is the synthetic training set here.
pub fn from_nets(e: nets::Error) -> cli::Error {
    nets_cli::from_nets(e, "--synthetic-examples")
}
