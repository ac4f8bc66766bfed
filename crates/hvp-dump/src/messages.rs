//! `nets` errors worded for hvp-dump's users (nets_cli names the flags).

/// `e` as a message naming its flag; nets' batch size is the Hessian batch.
pub fn from_nets(e: nets::Error) -> cli::Error {
    let out_of_memory = matches!(e, nets::Error::Libtorch { out_of_memory: true, .. });
    let error = nets_cli::from_nets(e, "--batch-size");
    match out_of_memory {
        true => error
            .with_hint("memory holds the model's weights and one graph of --batch-size (or --micro-batch) examples"),
        false => error,
    }
}
