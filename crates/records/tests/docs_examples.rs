//! Every example in docs/records.md must parse as the record type its
//! section documents, and survive a write/read round trip unchanged.

use records::Record;

fn examples() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/records.md");
    let text = std::fs::read_to_string(path).expect("docs/records.md is readable");
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut in_json = false;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            heading = h.trim().to_string();
        } else if line.trim() == "```json" {
            in_json = true;
        } else if line.trim() == "```" {
            in_json = false;
        } else if in_json && !line.trim().is_empty() {
            out.push((heading.clone(), line.to_string()));
        }
    }
    out
}

#[test]
fn every_documented_example_parses_as_its_section_type() {
    let ex = examples();
    assert!(ex.len() >= 5, "expected at least the five core examples, found {}", ex.len());
    for (heading, line) in ex {
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{heading}: bad JSON: {e}"));
        let kind = value["type"].as_str().unwrap_or_else(|| panic!("{heading}: no type"));
        assert_eq!(kind, heading, "example under `## {heading}` has type `{kind}`");
        let rec: Record = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{heading}: does not parse: {e}"));
        let back: serde_json::Value = serde_json::to_value(&rec).expect("serializes");
        assert_eq!(back, value, "{heading}: round trip changed the record");
    }
}
