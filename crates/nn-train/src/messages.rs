//! `nets` errors worded for nn-train's users (nets_cli names the flags).

/// `e` as a message naming its flag; nets' batch size (the size of a data set
/// it makes up) is the synthetic training set here.
pub fn from_nets(e: nets::Error) -> cli::Error {
    let out_of_memory = matches!(e, nets::Error::Libtorch { out_of_memory: true, .. });
    let error = nets_cli::from_nets(e, "--synthetic-examples");
    match out_of_memory {
        true => error.with_hint(
            "memory holds the model's weights, gradients and optimizer state, and one graph of --batch-size examples",
        ),
        false => error,
    }
}
