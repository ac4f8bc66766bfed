//! The shipped spectra files of Cases 1 and 2, and what to do without them.

use std::path::PathBuf;

/// The spectra file a case uses when --spectra is not given: made by our own
/// pipeline and shipped in testdata/quad/ (its README has the command). Found
/// through the source tree the binary was built from.
pub fn path(case: u8) -> Option<PathBuf> {
    let name = match case {
        1 => "case1-gpt2-small.density.jsonl",
        2 => "case2-resnet18-narrow.density.jsonl",
        _ => return None,
    };
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/quad")).join(name);
    path.exists().then_some(path)
}

pub fn missing_message(case: u8) -> String {
    // The commands that made the shipped files (testdata/quad/README.md).
    let (what, model, blocks) = if case == 1 {
        (
            "GPT2's blockwise Hessian spectra (embedding, a late layer's query, value and MLP fc)",
            "gpt2-small",
            "--split-qkv --block wte --block h.1.attn.wq --block h.1.attn.wv --block h.1.mlp.c_fc.weight",
        )
    } else {
        (
            "ResNet18's blockwise Hessian spectra (1st-4th convolution layers)",
            "resnet18-narrow",
            "--block conv1.weight --block layer1.0.conv1.weight --block layer1.0.conv2.weight \
             --block layer1.1.conv1.weight",
        )
    };
    format!(
        "case {case} samples eigenvalues from {what}; its default spectra file (testdata/quad/) was not found next to the sources. \
         Make one with our own pipeline and pass it with --spectra, e.g.\n  \
         hvp-dump --model {model} {blocks} | slq-density --grid-size 2 > {model}.density.jsonl\n  \
         quad-sim --case {case} --spectra {model}.density.jsonl\n\
         (block names as `hvp-dump --model {model} --list-blocks` prints them; --spectra-block NAME picks blocks from a larger file)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hint's commands are the ones that made the shipped files
    /// (testdata/quad/README.md), with names hvp-dump accepts.
    #[test]
    fn the_missing_file_hint_names_blocks_that_exist() {
        let one = missing_message(1);
        assert!(one.contains("--model gpt2-small --split-qkv --block wte --block h.1.attn.wq --block h.1.attn.wv"));
        assert!(!one.contains("attn.q'"), "{one}");
        let two = missing_message(2);
        assert!(two.contains("--model resnet18-narrow --block conv1.weight --block layer1.0.conv1.weight"), "{two}");
        assert!(two.contains("--block layer1.0.conv2.weight --block layer1.1.conv1.weight"), "{two}");
    }
}
