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
    let (what, model, blocks) = if case == 1 {
        (
            "GPT2's blockwise Hessian spectra (embedding, 3rd query, 3rd value, 3rd MLP fc)",
            "gpt2",
            "--block wte --block 'h.2.attn.q' --block 'h.2.attn.v' --block 'h.2.mlp.c_fc'",
        )
    } else {
        ("ResNet18's blockwise Hessian spectra (1st-4th convolution layers)", "resnet18", "--block 'conv*' ...")
    };
    format!(
        "case {case} samples eigenvalues from {what}; its default spectra file (testdata/quad/) was not found next to the sources. \
         Make one with our own pipeline and pass it with --spectra, e.g.\n  \
         hvp-dump --model {model} {blocks} | slq-density > testdata/quad/{model}-blocks.density.jsonl\n  \
         quad-sim --case {case} --spectra testdata/quad/{model}-blocks.density.jsonl\n\
         (block names as hvp-dump prints them; --spectra-block NAME picks blocks from a larger file)"
    )
}
